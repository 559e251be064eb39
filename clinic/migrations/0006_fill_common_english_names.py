"""Give the departments and doctor titles a clinic usually has their English names, where
none is set yet, so that English pages show English from the first day. Other names stay
blank (the Chinese name is shown) until an administrator fills them in."""

from django.db import migrations

DEPARTMENTS = {
    "内科": "Internal Medicine",
    "外科": "Surgery",
    "儿科": "Paediatrics",
    "妇科": "Gynaecology",
    "妇产科": "Obstetrics and Gynaecology",
    "耳鼻喉科": "ENT",
    "口腔科": "Dentistry",
    "眼科": "Ophthalmology",
    "皮肤科": "Dermatology",
    "中医科": "Traditional Chinese Medicine",
    "骨科": "Orthopaedics",
    "急诊科": "Emergency",
    "全科": "General Practice",
}

TITLES = {
    "主任医师": "Chief Physician",
    "副主任医师": "Associate Chief Physician",
    "主治医师": "Attending Physician",
    "住院医师": "Resident Physician",
    "医师": "Physician",
}


def fill_english_names(apps, schema_editor):
    Department = apps.get_model("clinic", "Department")
    Employee = apps.get_model("clinic", "Employee")
    for name, english in DEPARTMENTS.items():
        Department.objects.filter(name=name, name_en="").update(name_en=english)
    for title, english in TITLES.items():
        Employee.objects.filter(title=title, title_en="").update(title_en=english)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0005_department_employee_english_names")]

    # Backwards: the English names are simply dropped with their fields (0005).
    operations = [migrations.RunPython(fill_english_names, migrations.RunPython.noop)]
