"""Fill the daily income summary from the income already recorded (the detail rows)."""

from django.db import migrations
from django.db.models import Count, Sum


def build_summary(apps, schema_editor):
    IncomeRecord = apps.get_model("billing", "IncomeRecord")
    DailyIncomeSummary = apps.get_model("billing", "DailyIncomeSummary")
    db = schema_editor.connection.alias
    totals = (
        IncomeRecord.objects.using(db)
        .values("record_date", "department_id", "doctor_id")
        .annotate(
            payments=Count("id"),
            total=Sum("amount"),
            insurance=Sum("bill__insurance_amount"),
            self_pay=Sum("bill__self_pay_amount"),
        )
        .order_by()
    )
    DailyIncomeSummary.objects.using(db).bulk_create(
        (
            DailyIncomeSummary(
                record_date=row["record_date"],
                department_id=row["department_id"],
                doctor_id=row["doctor_id"],
                doctor_key=row["doctor_id"] or 0,
                payments=row["payments"],
                total_amount=row["total"],
                insurance_amount=row["insurance"],
                self_pay_amount=row["self_pay"],
            )
            for row in totals.iterator(chunk_size=2000)
        ),
        batch_size=2000,
    )


def drop_summary(apps, schema_editor):
    DailyIncomeSummary = apps.get_model("billing", "DailyIncomeSummary")
    DailyIncomeSummary.objects.using(schema_editor.connection.alias).all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ("billing", "0002_daily_income_summary"),
    ]

    operations = [
        migrations.RunPython(build_summary, drop_summary),
    ]
