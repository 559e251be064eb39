"""The outpatient record in parts, the diagnosis catalogue (suggestions, CSV import and
export), the patient's allergies, the diagnosis required to finish, and the print pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AuditEvent, Gender
from scheduling.tests.factories import ScheduleFactory
from visits.allergies import active_allergies, add_allergy, remove_allergy
from visits.diagnoses import import_catalogue, save_catalogue_entry, suggest_diagnoses
from visits.models import (
    DiagnosisCatalogue,
    MedicalRecord,
    NoKnownAllergies,
    PatientAllergy,
    Visit,
    VisitStatus,
)
from visits.services import save_medical_record
from visits.tests.factories import (
    DiagnosisCatalogueFactory,
    MedicalRecordFactory,
    PatientAllergyFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def schedule(doctor_user):
    return ScheduleFactory(doctor=doctor_user.employee, max_patients=60)


@pytest.fixture
def visit(schedule) -> Visit:
    return VisitFactory(
        schedule=schedule,
        status=VisitStatus.IN_CONSULTATION,
        called_at=timezone.now(),
        patient__name="Zhou Min",
        patient__gender=Gender.FEMALE,
        patient__birth_date=dt.date(1980, 5, 1),
    )


def consultation_url(visit: Visit) -> str:
    return reverse("visits:consultation", args=[visit.pk])


# --- The record's parts and the catalogue code ------------------------------------------------


class TestRecordParts:
    def test_every_part_is_saved_and_audited(self, doctor_user, visit):
        parts = {
            "chief_complaint": "Cough for 3 days",
            "present_illness": "Dry cough, no fever",
            "past_history": "Hypertension",
            "physical_exam": "T 36.8, lungs clear",
            "diagnosis": "Acute bronchitis",
            "plan": "Rest\nAmbroxol 30mg tid",
        }
        record = save_medical_record(visit=visit, by=doctor_user, **parts)
        record.refresh_from_db()
        assert {name: getattr(record, name) for name in parts} == parts
        event = AuditEvent.objects.get(action="medical_record.created")
        assert event.new_values == parts

    def test_a_catalogue_code_names_the_entry_and_fills_an_empty_diagnosis(
        self, doctor_user, visit
    ):
        entry = DiagnosisCatalogueFactory(code="J06.9", name="急性上呼吸道感染")
        record = save_medical_record(visit=visit, by=doctor_user, diagnosis_code="j06.9")
        record.refresh_from_db()
        assert record.diagnosis_code == entry
        assert record.diagnosis == "急性上呼吸道感染"
        event = AuditEvent.objects.get(action="medical_record.created")
        assert event.new_values["diagnosis_code"] == "J06.9"

    def test_an_unknown_or_retired_code_is_a_field_error_and_writes_nothing(
        self, doctor_user, visit
    ):
        DiagnosisCatalogueFactory(code="R05", active=False)
        for code in ("NOPE", "R05"):
            with pytest.raises(InvalidInput) as excinfo:
                save_medical_record(
                    visit=visit, by=doctor_user, diagnosis="Cough", diagnosis_code=code
                )
            assert "diagnosis_code" in excinfo.value.details
        assert not MedicalRecord.objects.exists()

    def test_a_code_retired_since_stays_on_its_record(self, doctor_user, visit):
        """Retiring a code stops new uses; the record that has it is still saved."""
        entry = DiagnosisCatalogueFactory(code="J06.9", name="急性上呼吸道感染")
        save_medical_record(visit=visit, by=doctor_user, diagnosis_code="J06.9")
        entry.active = False
        entry.save(update_fields=["active"])
        record = save_medical_record(
            visit=visit, by=doctor_user, diagnosis_code="J06.9", plan="Rest"
        )
        record.refresh_from_db()
        assert (record.diagnosis_code, record.plan) == (entry, "Rest")

    def test_the_page_shows_the_code_error_on_its_field(self, doctor_client, visit):
        response = doctor_client.post(
            consultation_url(visit), {"diagnosis": "Cough", "diagnosis_code": "NOPE"}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["diagnosis_code"]
        assert not MedicalRecord.objects.exists()

    def test_suggestions_are_active_entries_by_code_or_name_prefix(self, doctor_client):
        DiagnosisCatalogueFactory(code="J06.9", name="急性上呼吸道感染")
        DiagnosisCatalogueFactory(code="J20.9", name="急性支气管炎")
        DiagnosisCatalogueFactory(code="I10", name="高血压")
        DiagnosisCatalogueFactory(code="J00", name="感冒", active=False)
        assert [e.code for e in suggest_diagnoses("j")] == ["J06.9", "J20.9"]
        assert [e.code for e in suggest_diagnoses("急性")] == ["J06.9", "J20.9"]
        assert [e.code for e in suggest_diagnoses("性")] == []  # a prefix, not a contains
        assert list(suggest_diagnoses("  ")) == []
        url = reverse("visits:diagnosis-suggestions")
        html = doctor_client.get(url, {"diagnosis_code": "高"}, **HTMX).content.decode()
        assert '<option value="I10">Diagnosis' in html  # the English name, in English
        assert "J06.9" not in html
        doctor_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
        html = doctor_client.get(url, {"diagnosis_code": "高"}, **HTMX).content.decode()
        assert '<option value="I10">高血压</option>' in html

    def test_the_code_field_asks_for_suggestions(self, doctor_client, visit):
        html = doctor_client.get(consultation_url(visit)).content.decode()
        assert 'list="diagnosis-codes"' in html
        assert f'hx-get="{reverse("visits:diagnosis-suggestions")}"' in html
        assert '<datalist id="diagnosis-codes">' in html


class TestFocus:
    def test_a_new_record_starts_at_the_chief_complaint(self, doctor_client, visit):
        form = doctor_client.get(consultation_url(visit)).context["form"]
        focused = [name for name, f in form.fields.items() if f.widget.attrs.get("autofocus")]
        assert focused == ["chief_complaint"]

    def test_once_the_history_is_written_the_diagnosis_has_the_focus(self, doctor_client, visit):
        MedicalRecordFactory(
            visit=visit,
            diagnosis="",
            chief_complaint="Cough",
            present_illness="3 days",
            past_history="None",
            physical_exam="Clear",
        )
        response = doctor_client.get(consultation_url(visit))
        form = response.context["form"]
        focused = [name for name, f in form.fields.items() if f.widget.attrs.get("autofocus")]
        assert focused == ["diagnosis"]
        html = response.content.decode()
        assert html.count(" autofocus") == 1
        assert html.index(" autofocus") > html.index('name="diagnosis"')


# --- A visit goes to payment only with a diagnosis ---------------------------------------------


class TestDiagnosisRequired:
    def test_the_page_sends_the_patient_to_pay_with_a_diagnosis(self, doctor_client, visit):
        response = doctor_client.post(
            consultation_url(visit),
            {"chief_complaint": "Cough", "diagnosis": "Bronchitis", "finish": "1"},
        )
        assert response.status_code == 302
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT
        assert visit.medical_record.diagnosis == "Bronchitis"

    def test_the_api_refuses_with_a_field_error_and_changes_nothing(self, doctor_user, visit):
        from rest_framework.test import APIClient
        from rest_framework_simplejwt.tokens import RefreshToken

        api = APIClient()
        token = RefreshToken.for_user(doctor_user).access_token
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        MedicalRecordFactory(visit=visit, diagnosis="", chief_complaint="Cough")
        response = api.post(f"/api/doctor/visits/{visit.pk}/finish")
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "diagnosis_required"
        assert error["details"]["diagnosis"]
        visit.refresh_from_db()
        assert visit.status == VisitStatus.IN_CONSULTATION

    def test_the_desk_board_cannot_move_an_undiagnosed_visit_to_payment(
        self, client, receptionist, visit
    ):
        client.force_login(receptionist)
        response = client.post(
            reverse("visits:advance"),
            {"visit": visit.pk},
            follow=True,
            headers={"accept-language": "en"},
        )
        assert "Write the diagnosis before sending the patient to payment." in (
            response.content.decode()
        )
        visit.refresh_from_db()
        assert visit.status == VisitStatus.IN_CONSULTATION


# --- Allergies ----------------------------------------------------------------------------------


class TestAllergyService:
    def test_a_doctor_seeing_the_patient_adds_and_removes_an_allergy_audited(
        self, doctor_user, visit
    ):
        allergy = add_allergy(
            patient=visit.patient,
            by=doctor_user,
            substance=" Penicillin ",
            reaction="Rash",
            severity="severe",
        )
        assert list(active_allergies(visit.patient)) == [allergy]
        assert (allergy.substance, allergy.recorded_by) == ("Penicillin", doctor_user)
        added = AuditEvent.objects.get(action="allergy.added")
        assert added.patient == visit.patient
        assert added.new_values == {
            "substance": "Penicillin",
            "reaction": "Rash",
            "severity": "severe",
        }
        remove_allergy(allergy=allergy, by=doctor_user)
        allergy.refresh_from_db()
        assert allergy.removed_by == doctor_user and allergy.removed_at is not None
        assert not active_allergies(visit.patient).exists()
        assert PatientAllergy.objects.filter(pk=allergy.pk).exists()  # the row is kept
        assert AuditEvent.objects.filter(action="allergy.removed").count() == 1

    @pytest.mark.parametrize("who", ["receptionist", "other_doctor", "doctor_not_seeing"])
    def test_nobody_else_changes_them(self, who, receptionist, other_doctor_user, schedule):
        waiting = VisitFactory(schedule=schedule)  # not yet seen by the doctor
        user = {
            "receptionist": receptionist,
            "other_doctor": other_doctor_user,
            "doctor_not_seeing": schedule.doctor.user,
        }[who]
        with pytest.raises(PermissionDenied):
            add_allergy(patient=waiting.patient, by=user, substance="Aspirin")
        existing = PatientAllergyFactory(patient=waiting.patient)
        with pytest.raises(PermissionDenied):
            remove_allergy(allergy=existing, by=user)
        existing.refresh_from_db()
        assert existing.removed_at is None
        assert PatientAllergy.objects.count() == 1
        assert not AuditEvent.objects.filter(action__startswith="allergy.").exists()

    def test_bad_input_is_a_field_error(self, doctor_user, visit):
        with pytest.raises(InvalidInput) as excinfo:
            add_allergy(patient=visit.patient, by=doctor_user, substance=" ", severity="deadly")
        assert set(excinfo.value.details) == {"substance", "severity"}
        assert not PatientAllergy.objects.exists()


class TestAllergyPages:
    def test_the_consultation_shows_the_allergies_at_the_top(self, doctor_client, visit):
        PatientAllergyFactory(patient=visit.patient, substance="Penicillin", reaction="Hives")
        PatientAllergyFactory(patient=visit.patient, substance="Gone", removed_at=timezone.now())
        html = doctor_client.get(consultation_url(visit)).content.decode()
        assert html.index('id="allergies"') < html.index('id="record-title"')
        assert "Penicillin" in html and "Hives" in html and "Severe" in html
        assert "Gone" not in html

    def test_no_allergies_is_said(self, doctor_client, visit):
        html = doctor_client.get(consultation_url(visit)).content.decode()
        assert "No allergies recorded" in html

    def test_adding_with_htmx_returns_the_panel(self, doctor_client, doctor_user, visit):
        url = reverse("visits:allergy-add", args=[visit.pk])
        response = doctor_client.post(
            url, {"substance": "Sulfa drugs", "reaction": "", "severity": "moderate"}, **HTMX
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert html.lstrip().startswith("<section") and "Sulfa drugs" in html
        allergy = PatientAllergy.objects.get()
        assert (allergy.patient, allergy.recorded_by) == (visit.patient, doctor_user)

    def test_adding_without_htmx_goes_back_to_the_consultation(self, doctor_client, visit):
        url = reverse("visits:allergy-add", args=[visit.pk])
        response = doctor_client.post(url, {"substance": "Latex", "severity": "mild"})
        assert response.status_code == 302
        assert response["Location"] == consultation_url(visit) + "#allergies"
        assert PatientAllergy.objects.get().substance == "Latex"

    def test_a_bad_allergy_is_a_400_with_the_field_error(self, doctor_client, visit):
        url = reverse("visits:allergy-add", args=[visit.pk])
        response = doctor_client.post(url, {"substance": "", "severity": "mild"}, **HTMX)
        assert response.status_code == 400
        assert response.context["allergy_form"].errors["substance"]
        assert not PatientAllergy.objects.exists()

    def test_removing(self, doctor_client, visit):
        allergy = PatientAllergyFactory(patient=visit.patient)
        url = reverse("visits:allergy-remove", args=[visit.pk, allergy.pk])
        response = doctor_client.post(url, **HTMX)
        assert response.status_code == 200
        allergy.refresh_from_db()
        assert allergy.removed_at is not None

    def test_another_patients_allergy_is_a_404(self, doctor_client, visit):
        theirs = PatientAllergyFactory()
        url = reverse("visits:allergy-remove", args=[visit.pk, theirs.pk])
        assert doctor_client.post(url).status_code == 404
        theirs.refresh_from_db()
        assert theirs.removed_at is None

    def test_another_doctors_visit_is_a_404(self, client, other_doctor_user, visit):
        client.force_login(other_doctor_user)
        url = reverse("visits:allergy-add", args=[visit.pk])
        assert client.post(url, {"substance": "X", "severity": "mild"}).status_code == 404
        assert not PatientAllergy.objects.exists()

    def test_the_queue_card_has_an_allergy_badge(self, doctor_client, schedule):
        waiting = VisitFactory(schedule=schedule, queue_number=1)
        PatientAllergyFactory(patient=waiting.patient, substance="Penicillin")
        html = doctor_client.get(reverse("visits:doctor-queue")).content.decode()
        assert 'class="badge badge-allergy"' in html
        assert "Allergy: Penicillin" in html

    def test_the_api_lists_adds_and_removes_allergies(self, doctor_user, visit):
        from rest_framework.test import APIClient
        from rest_framework_simplejwt.tokens import RefreshToken

        api = APIClient()
        token = RefreshToken.for_user(doctor_user).access_token
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        url = f"/api/doctor/visits/{visit.pk}/allergies"
        created = api.post(url, {"substance": "Aspirin", "severity": "mild"}, format="json")
        assert created.status_code == 201
        assert created.json()["substance"] == "Aspirin"
        listed = api.get(url).json()["results"]
        assert [row["substance"] for row in listed] == ["Aspirin"]
        bad = api.post(url, {"substance": "", "severity": "deadly"}, format="json")
        assert bad.status_code == 400
        assert set(bad.json()["error"]["details"]) >= {"substance", "severity"}
        removed = api.delete(f"{url}/{created.json()['id']}")
        assert removed.status_code == 204
        assert not active_allergies(visit.patient).exists()
        # The record read carries the patient's allergies too.
        MedicalRecordFactory(visit=visit)
        PatientAllergyFactory(patient=visit.patient, substance="Latex")
        record = api.get(f"/api/doctor/visits/{visit.pk}/medical-record").json()
        assert [row["substance"] for row in record["allergies"]] == ["Latex"]
        assert "chief_complaint" in record and "plan" in record and "treatment" not in record

    def test_administrators_read_allergies_in_admin_but_do_not_write(self, client, admin_user):
        allergy = PatientAllergyFactory()
        client.force_login(admin_user)
        assert client.get(reverse("admin:visits_patientallergy_changelist")).status_code == 200
        change = reverse("admin:visits_patientallergy_change", args=[allergy.pk])
        assert client.get(change).status_code == 200
        assert client.get(reverse("admin:visits_patientallergy_add")).status_code == 403


# --- The catalogue in Django Admin ------------------------------------------------------------


def upload(client, text: str, encoding: str = "utf-8"):
    file = SimpleUploadedFile("catalogue.csv", text.encode(encoding), content_type="text/csv")
    return client.post(
        reverse("admin:visits_diagnosiscatalogue_import"),
        {"file": file},
        headers={"accept-language": "en"},
    )


class TestCatalogueAdmin:
    def test_a_good_file_imports_every_line_audited(self, client, admin_user):
        DiagnosisCatalogueFactory(code="I10", name="Old name", active=False)
        client.force_login(admin_user)
        response = upload(
            client,
            "code,name,name_en\nJ06.9,急性上呼吸道感染,Acute URI\ni10,原发性高血压\n",
        )
        assert response.status_code == 302
        entries = {e.code: (e.name, e.name_en, e.active) for e in DiagnosisCatalogue.objects.all()}
        assert entries == {
            "J06.9": ("急性上呼吸道感染", "Acute URI", True),
            "I10": ("原发性高血压", "", True),
        }
        event = AuditEvent.objects.get(action="diagnosis_catalogue.imported")
        assert event.actor == admin_user
        assert event.new_values == {"added": ["J06.9"], "changed": ["I10"]}

    def test_a_bad_file_reports_each_line_and_imports_nothing(self, client, admin_user):
        client.force_login(admin_user)
        response = upload(
            client,
            "J06.9,急性上呼吸道感染\n,No code\nJ20.9,\nJ06.9,Twice\nA,B,C,D\n" + "K" * 21 + ",x\n",
        )
        assert response.status_code == 400
        errors = response.context["errors"]
        assert [line for line, _ in errors] == [2, 3, 4, 5, 6]
        html = response.content.decode()
        assert "Line 2" in html and "Nothing was imported" in html
        assert not DiagnosisCatalogue.objects.exists()
        assert not AuditEvent.objects.filter(action__startswith="diagnosis_catalogue").exists()

    def test_a_file_that_is_not_text_is_refused(self, client, admin_user):
        client.force_login(admin_user)
        file = SimpleUploadedFile("x.csv", b"\xff\xfe\x00\x81\x00", content_type="text/csv")
        response = client.post(reverse("admin:visits_diagnosiscatalogue_import"), {"file": file})
        assert response.status_code == 400
        assert not DiagnosisCatalogue.objects.exists()

    def test_gb18030_files_are_read(self, admin_user):
        result = import_catalogue(data="R05,咳嗽\n".encode("gb18030"), by=admin_user)
        assert not result.errors
        assert DiagnosisCatalogue.objects.get().name == "咳嗽"

    def test_only_administrators_import(self, client, doctor_user):
        client.force_login(doctor_user)
        response = upload(client, "R05,咳嗽\n")
        assert response.status_code in (302, 403)
        assert not DiagnosisCatalogue.objects.exists()

    def test_the_export_uses_the_safe_writer_and_reads_back(self, client, admin_user):
        DiagnosisCatalogueFactory(code="Z00", name="=HYPERLINK(1)", name_en="Check-up")
        client.force_login(admin_user)
        response = client.post(
            reverse("admin:visits_diagnosiscatalogue_changelist"),
            {
                "action": "export_csv",
                "_selected_action": list(DiagnosisCatalogue.objects.values_list("pk", flat=True)),
            },
        )
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        text = response.content.decode("utf-8-sig")
        assert text.splitlines() == ["code,name,name_en", "Z00,'=HYPERLINK(1),Check-up"]

    def test_an_exported_file_imports_back_unchanged(self, admin_user):
        """The export's leading apostrophe (against spreadsheet formulas) is not a name's."""
        text = "code,name,name_en\nZ00,'=HYPERLINK(1),'-Check-up\n"
        assert not import_catalogue(data=text.encode(), by=admin_user).errors
        entry = DiagnosisCatalogue.objects.get()
        assert (entry.name, entry.name_en) == ("=HYPERLINK(1)", "-Check-up")

    def test_a_quote_left_open_is_a_line_error_not_a_crash(self, client, admin_user):
        """An open quote runs to the end of the file: past csv's field limit, csv.Error."""
        client.force_login(admin_user)
        response = upload(client, 'R05,咳嗽\nJ45,"Asthma\n' + "x," * 70_000 + "\n")
        assert response.status_code == 400
        assert "cannot be read as CSV" in response.content.decode()
        assert not DiagnosisCatalogue.objects.exists()

    @pytest.mark.parametrize("name", ["Two\nlines", "Nul\x00", "Bell\x07"])
    def test_control_characters_in_a_cell_are_refused(self, admin_user, name):
        text = f'R05,"{name}"\n'
        result = import_catalogue(data=text.encode(), by=admin_user)
        assert [message for _line, message in result.errors] == [
            "A cell holds a line break or another control character."
        ]
        assert not DiagnosisCatalogue.objects.exists()

    def test_a_code_added_by_another_import_meanwhile_is_a_clear_error(
        self, client, admin_user, monkeypatch
    ):
        """Two uploads adding one new code at once meet at the unique index: the second is
        told to upload again, with nothing written, not a 500."""
        client.force_login(admin_user)

        def meanwhile(*args, **kwargs):
            raise IntegrityError("Duplicate entry 'R05' for key 'code'")

        monkeypatch.setattr(DiagnosisCatalogue.objects, "bulk_create", meanwhile)
        response = upload(client, "R05,咳嗽\n")
        assert response.status_code == 400
        assert "Another import added some of these codes meanwhile" in response.content.decode()
        assert not AuditEvent.objects.filter(action__startswith="diagnosis_catalogue").exists()

    def test_an_entrys_code_is_fixed_once_made(self, admin_user):
        entry = DiagnosisCatalogueFactory(code="R05", name="咳嗽")
        entry.code = "R06"
        with pytest.raises(InvalidInput) as refused:
            save_catalogue_entry(entry=entry, by=admin_user)
        assert "code" in refused.value.details
        assert DiagnosisCatalogue.objects.get().code == "R05"

    def test_entries_added_in_admin_are_audited_and_never_deleted(self, client, admin_user):
        client.force_login(admin_user)
        response = client.post(
            reverse("admin:visits_diagnosiscatalogue_add"),
            {"code": "r05", "name": "咳嗽", "name_en": "Cough", "active": "on"},
        )
        assert response.status_code == 302
        entry = DiagnosisCatalogue.objects.get()
        assert entry.code == "R05"
        assert AuditEvent.objects.get(action="diagnosis_catalogue.added").new_values["code"] == (
            "R05"
        )
        twin = client.post(
            reverse("admin:visits_diagnosiscatalogue_add"), {"code": "R05 ", "name": "Twin"}
        )
        assert twin.status_code == 200  # the form's error
        assert DiagnosisCatalogue.objects.count() == 1
        delete = reverse("admin:visits_diagnosiscatalogue_delete", args=[entry.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        # Records point to the entry: its code is no longer editable, its name is.
        change = reverse("admin:visits_diagnosiscatalogue_change", args=[entry.pk])
        edited = client.post(change, {"code": "R06", "name": "咳嗽（新）", "active": "on"})
        assert edited.status_code == 302
        entry.refresh_from_db()
        assert (entry.code, entry.name) == ("R05", "咳嗽（新）")


# --- Print pages --------------------------------------------------------------------------------


class TestPrintPages:
    @pytest.fixture
    def record(self, visit, doctor_user):
        PatientAllergyFactory(patient=visit.patient, substance="Penicillin")
        return MedicalRecordFactory(
            visit=visit,
            chief_complaint="Cough for 3 days",
            present_illness="Dry cough",
            past_history="None",
            physical_exam="Lungs clear",
            diagnosis="Acute bronchitis",
            diagnosis_code=DiagnosisCatalogueFactory(code="J20.9"),
            plan="Ambroxol 30mg tid",
            updated_by=doctor_user,
        )

    @pytest.mark.parametrize("name", ["visits:record-print", "visits:prescription-print"])
    def test_a5_pages_carry_the_clinic_the_patient_the_doctor_and_the_date(
        self, doctor_client, record, settings, name
    ):
        settings.CLINIC_NAME = "Riverside Community Health Centre"
        response = doctor_client.get(reverse(name, args=[record.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        visit = record.visit
        for text in (
            "Riverside Community Health Centre",
            "Zhou Min",
            "Female",
            str(visit.patient.age),
            visit.visit_date.strftime("%Y-%m-%d"),
            visit.schedule.doctor.name,
            visit.department.name,
            "Penicillin",
            "Acute bronchitis",
            "Ambroxol 30mg tid",
        ):
            assert text in html, text
        assert "css/print-record.css" in html
        assert AuditEvent.objects.filter(action="medical_record.viewed").count() == 1

    def test_the_record_prints_every_part_and_the_prescription_only_the_plan(
        self, doctor_client, record
    ):
        full = doctor_client.get(reverse("visits:record-print", args=[record.pk]))
        assert all(
            part in full.content.decode()
            for part in ("Cough for 3 days", "Dry cough", "Lungs clear", "J20.9")
        )
        rx = doctor_client.get(reverse("visits:prescription-print", args=[record.pk]))
        assert "Cough for 3 days" not in rx.content.decode()

    def test_the_css_prints_on_a5(self):
        from django.contrib.staticfiles import finders

        with open(finders.find("css/print-record.css"), encoding="utf-8") as css:
            assert "size: A5" in css.read()

    def test_reached_from_the_consultation_and_the_record_page(self, doctor_client, record):
        print_url = reverse("visits:record-print", args=[record.pk])
        rx_url = reverse("visits:prescription-print", args=[record.pk])
        consultation = doctor_client.get(consultation_url(record.visit)).content.decode()
        detail = doctor_client.get(
            reverse("visits:record-detail", args=[record.pk])
        ).content.decode()
        for html in (consultation, detail):
            assert print_url in html and rx_url in html

    def test_by_the_records_rule(self, client, other_doctor_user, receptionist, record):
        url = reverse("visits:record-print", args=[record.pk])
        client.force_login(other_doctor_user)
        assert client.get(url).status_code == 404
        client.force_login(receptionist)
        assert client.get(url).status_code == 403
        assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()

    def test_an_administrator_prints_any(self, client, admin_user, record):
        client.force_login(admin_user)
        response = client.get(reverse("visits:prescription-print", args=[record.pk]))
        assert response.status_code == 200


def test_a_clinic_manager_reads_no_allergies_but_the_catalogue():
    from clinic.tests.factories import AdminUserFactory, ManagerUserFactory

    manager = ManagerUserFactory()
    assert not manager.has_perm("visits.view_patientallergy")
    assert manager.has_perm("visits.change_diagnosiscatalogue")
    assert AdminUserFactory().has_perm("visits.view_patientallergy")


class TestNoKnownAllergies:
    def test_the_doctor_says_so_explicitly_and_an_allergy_ends_it(
        self, doctor_client, doctor_user, visit
    ):
        url = reverse("visits:allergy-none-known", args=[visit.pk])
        html = doctor_client.get(consultation_url(visit)).content.decode()
        assert "No allergies recorded" in html and url in html
        response = doctor_client.post(url, **HTMX)
        assert response.status_code == 200
        assert "No known allergies" in response.content.decode()
        confirmed = NoKnownAllergies.objects.get(patient=visit.patient)
        assert confirmed.confirmed_by == doctor_user
        assert AuditEvent.objects.filter(action="allergy.none_known").count() == 1
        record = MedicalRecordFactory(visit=visit)
        printed = doctor_client.get(reverse("visits:record-print", args=[record.pk]))
        assert "No known allergies" in printed.content.decode()

        add_allergy(patient=visit.patient, by=doctor_user, substance="Latex")
        assert not NoKnownAllergies.objects.exists()
        event = AuditEvent.objects.get(action="allergy.added")
        assert event.old_values == {"no_known_allergies": True}

    def test_refused_while_allergies_are_on_file(self, doctor_client, visit):
        PatientAllergyFactory(patient=visit.patient)
        url = reverse("visits:allergy-none-known", args=[visit.pk])
        response = doctor_client.post(url, **HTMX)
        assert response.status_code == 400
        assert "remove them first" in response.content.decode()
        assert not NoKnownAllergies.objects.exists()


def test_removing_an_allergy_already_removed_elsewhere_is_harmless(doctor_client, visit):
    allergy = PatientAllergyFactory(patient=visit.patient, removed_at=timezone.now())
    url = reverse("visits:allergy-remove", args=[visit.pk, allergy.pk])
    assert doctor_client.post(url, **HTMX).status_code == 200


def test_without_htmx_a_refusal_comes_back_as_a_message(doctor_client, visit):
    url = reverse("visits:allergy-add", args=[visit.pk])
    response = doctor_client.post(url, {"substance": "", "severity": "mild"}, follow=True)
    assert response.redirect_chain[-1][0].endswith("#allergies")
    assert "This field is required." in response.content.decode()
    assert not PatientAllergy.objects.exists()


@pytest.mark.parametrize(
    ("written", "focused"),
    [
        ({}, "chief_complaint"),
        ({"chief_complaint": "Cough"}, "present_illness"),
        (
            {"chief_complaint": "Cough", "present_illness": "3 days", "physical_exam": "Clear"},
            "diagnosis",
        ),
        ({"chief_complaint": "Cough", "plan": "Rest"}, "diagnosis"),
        ({"chief_complaint": "Cough", "diagnosis": "Cold", "plan": "Rest"}, None),
    ],
)
def test_the_focus_goes_where_the_doctor_left_off(doctor_client, visit, written, focused):
    if written:
        MedicalRecordFactory(visit=visit, **{"diagnosis": "", **written})
    form = doctor_client.get(consultation_url(visit)).context["form"]
    autofocus = [name for name, f in form.fields.items() if f.widget.attrs.get("autofocus")]
    assert autofocus == ([focused] if focused else [])


def _api(user):
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import RefreshToken

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return api


def test_the_api_writes_the_parts_and_a_catalogue_code(doctor_user, visit):
    DiagnosisCatalogueFactory(code="J20.9", name="急性支气管炎")
    api = _api(doctor_user)
    url = f"/api/doctor/visits/{visit.pk}/medical-record"
    bad = api.put(url, {"diagnosis_code": "NOPE"}, format="json")
    assert bad.status_code == 400
    assert "diagnosis_code" in bad.json()["error"]["details"]
    assert not MedicalRecord.objects.exists()
    written = api.put(
        url, {"chief_complaint": "Cough", "diagnosis_code": "J20.9"}, format="json"
    ).json()
    assert (written["chief_complaint"], written["diagnosis"], written["diagnosis_code"]) == (
        "Cough",
        "急性支气管炎",
        "J20.9",
    )


def test_the_parts_of_before_are_refused_not_dropped(doctor_user, visit):
    """A client still sending treatment / prescription / note learns nothing was saved."""
    api = _api(doctor_user)
    url = f"/api/doctor/visits/{visit.pk}/medical-record"
    response = api.put(url, {"diagnosis": "Cough", "treatment": "Rest"}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["details"]) == ["treatment"]
    assert not MedicalRecord.objects.exists()


def test_a_page_posting_only_some_parts_keeps_the_others(doctor_client, visit):
    """A consultation page opened before the record changed posts the parts it knows: the
    others keep what they hold."""
    MedicalRecordFactory(visit=visit, diagnosis="Cough", plan="Rest", present_illness="Dry")
    url = reverse("visits:consultation", args=[visit.pk])
    response = doctor_client.post(url, {"diagnosis": "Acute bronchitis"})
    assert response.status_code in (200, 302)
    record = MedicalRecord.objects.get()
    assert (record.diagnosis, record.plan, record.present_illness) == (
        "Acute bronchitis",
        "Rest",
        "Dry",
    )


def test_the_doctors_queue_in_the_api_carries_each_patients_allergies(doctor_user, schedule):
    waiting = VisitFactory(schedule=schedule, queue_number=1)
    PatientAllergyFactory(patient=waiting.patient, substance="Penicillin")
    VisitFactory(schedule=schedule, queue_number=2)
    rows = _api(doctor_user).get("/api/doctor/queue").json()["results"]
    assert [[a["substance"] for a in row["allergies"]] for row in rows] == [["Penicillin"], []]


@pytest.mark.mariadb
# ANALYZE TABLE commits on MariaDB: the rows are flushed afterwards, not rolled back.
@pytest.mark.django_db(transaction=True)
def test_suggestions_read_a_range_of_the_code_and_the_name_index():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    DiagnosisCatalogue.objects.bulk_create(
        DiagnosisCatalogue(code=f"{chr(65 + n % 26)}{n:04d}", name=f"{'急慢高低左右'[n % 6]}{n}")
        for n in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE visits_diagnosiscatalogue")
        cursor.fetchall()
    with CaptureQueriesContext(connection) as captured:
        assert suggest_diagnoses("J00")
        assert suggest_diagnoses("急1")
    searches = [q["sql"] for q in captured if " LIKE " in q["sql"]]
    assert len(searches) == 4 and not [sql for sql in searches if "BINARY" in sql]
    with connection.cursor() as cursor:
        for sql in searches:
            cursor.execute("EXPLAIN " + sql)
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                plan = dict(zip(columns, row, strict=True))
                assert plan["type"] == "range", (sql, plan)
