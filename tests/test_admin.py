"""Django Admin: who reaches it, and every list page runs a fixed number of queries."""

from __future__ import annotations

import uuid

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory, WaitlistEntryFactory
from billing.tests.factories import (
    BillFactory,
    CashierShiftFactory,
    IncomeRecordFactory,
    PaymentMethodFactory,
    RefundFactory,
)
from clinic.models import AuditEvent, DoctorRank, FeeCategory, RegistrationFee, Role
from clinic.tests.factories import (
    AllergyClassFactory,
    DepartmentFactory,
    DoctorUserFactory,
    EmployeeFactory,
    FeeItemFactory,
    InsurancePlanFactory,
    PatientFactory,
    RoomFactory,
)
from notifications.tests.factories import NotificationFactory, PeriodicRunFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import DisplayToken
from visits.tests.factories import (
    ChargeFactory,
    DiagnosisCatalogueFactory,
    MedicalRecordFactory,
    PatientAllergyFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db


def make_audit_event() -> AuditEvent:
    return AuditEvent.objects.create(action="test.event", patient=PatientFactory())


def make_display_token() -> DisplayToken:
    return DisplayToken.objects.create(
        name="Hall", department=DepartmentFactory(), token_hash=uuid.uuid4().hex * 2
    )


def make_registration_fee() -> RegistrationFee:
    """The next rank's registration fee: one row per rank, so at most four rows."""
    taken = set(RegistrationFee.objects.values_list("rank", flat=True))
    free = [rank for rank in DoctorRank.values if rank not in taken]
    if not free:
        return RegistrationFee.objects.first()
    item = FeeItemFactory(category=FeeCategory.REGISTRATION)
    return RegistrationFee.objects.create(rank=free[0], fee_item=item)


# One row maker per admin list; a model registered without one fails the coverage test.
ROW_MAKERS = {
    "clinic.user": DoctorUserFactory,
    "clinic.department": DepartmentFactory,
    "clinic.room": RoomFactory,
    "clinic.employee": EmployeeFactory,
    "clinic.patient": PatientFactory,
    "clinic.auditevent": make_audit_event,
    "clinic.feeitem": FeeItemFactory,
    "clinic.insuranceplan": InsurancePlanFactory,
    "clinic.registrationfee": make_registration_fee,
    "clinic.allergyclass": AllergyClassFactory,
    "scheduling.schedule": ScheduleFactory,
    "appointments.appointment": AppointmentFactory,
    "appointments.waitlistentry": WaitlistEntryFactory,
    "visits.visit": VisitFactory,
    "visits.medicalrecord": MedicalRecordFactory,
    "visits.displaytoken": make_display_token,
    "visits.diagnosiscatalogue": DiagnosisCatalogueFactory,
    "visits.patientallergy": PatientAllergyFactory,
    "visits.charge": ChargeFactory,
    "billing.bill": BillFactory,
    "billing.incomerecord": IncomeRecordFactory,
    "billing.paymentmethod": PaymentMethodFactory,
    "billing.cashiershift": CashierShiftFactory,
    "billing.refund": RefundFactory,
    "notifications.notification": NotificationFactory,
    "notifications.periodicrun": PeriodicRunFactory,
}

READ_ONLY = {
    "clinic.auditevent",
    "appointments.appointment",
    "appointments.waitlistentry",
    "visits.visit",
    "visits.medicalrecord",
    "visits.patientallergy",
    "billing.bill",
    "billing.incomerecord",
    "billing.cashiershift",
    "billing.refund",
    "notifications.notification",
    "notifications.periodicrun",
}


def changelist_url(label: str) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_changelist")


PROJECT_APPS = {
    "clinic",
    "notifications",
    "scheduling",
    "appointments",
    "visits",
    "billing",
    "demo",
}
# Third-party admin pages kept on purpose: django-axes' lockouts (deleting an attempt
# unlocks the account), django-tasks-db's task results (read only, as it ships).
# simplejwt's token tables are unregistered: tokens are credentials.
THIRD_PARTY = {
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "django_tasks_database.dbtaskresult",
}


def test_every_registered_model_is_covered():
    registered = {model._meta.label_lower for model in admin.site._registry}
    ours = {label for label in registered if label.split(".")[0] in PROJECT_APPS}
    assert ours == set(ROW_MAKERS)
    assert registered - ours == THIRD_PARTY


@pytest.mark.parametrize("label", sorted(ROW_MAKERS))
def test_admin_list_answers_for_an_administrator(client, admin_user, label):
    ROW_MAKERS[label]()
    client.force_login(admin_user)
    response = client.get(changelist_url(label))
    assert response.status_code == 200


@pytest.mark.parametrize("label", sorted(ROW_MAKERS))
@pytest.mark.parametrize("persona", ["anonymous", "patient", "receptionist", "doctor"])
def test_admin_list_is_refused_to_everyone_else(client, personas, persona, label):
    user = personas[persona]
    if user is not None:
        client.force_login(user)
    response = client.get(changelist_url(label))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("label", sorted(ROW_MAKERS))
def test_admin_list_query_count_does_not_grow_with_rows(client, admin_user, label):
    client.force_login(admin_user)
    url = changelist_url(label)

    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for _ in range(5):
        ROW_MAKERS[label]()
    with_5 = count_queries()
    for _ in range(45):
        ROW_MAKERS[label]()
    assert count_queries() == with_5


@pytest.mark.parametrize("label", sorted(READ_ONLY))
def test_workflow_records_are_read_only_in_admin(client, admin_user, label):
    obj = ROW_MAKERS[label]()
    client.force_login(admin_user)
    app_label, model_name = label.split(".")
    change_url = reverse(f"admin:{app_label}_{model_name}_change", args=[obj.pk])
    add_url = reverse(f"admin:{app_label}_{model_name}_add")
    assert client.get(change_url).status_code == 200  # view only
    assert client.get(add_url).status_code == 403
    response = client.post(change_url, {"status": "cancelled"})
    assert response.status_code == 403


def test_schedule_holding_places_cannot_be_deleted_in_admin(client, admin_user):
    schedule = ScheduleFactory(current_patients=1)
    client.force_login(admin_user)
    url = reverse("admin:scheduling_schedule_delete", args=[schedule.pk])
    assert client.post(url, {"post": "yes"}).status_code == 403
    schedule.refresh_from_db()


def test_schedule_list_shows_places_left(client, admin_user):
    ScheduleFactory(max_patients=12, current_patients=5)
    client.force_login(admin_user)
    response = client.get(changelist_url("scheduling.schedule"))
    assert b'<td class="field-remaining">7</td>' in response.content


def test_admin_creates_a_schedule_and_refuses_an_overlap(client, admin_user):
    existing = ScheduleFactory(time_slot="full_day")
    client.force_login(admin_user)
    url = reverse("admin:scheduling_schedule_add")
    data = {
        "department": existing.department.pk,
        "room": existing.room.pk,
        "doctor": existing.doctor.pk,
        "work_date": existing.work_date.isoformat(),
        "time_slot": "morning",
        "max_patients": 10,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"doctor", "room"}
    data["work_date"] = "2031-05-05"
    response = client.post(url, data)
    assert response.status_code == 302
    assert existing.doctor.schedules.count() == 2


def test_admin_creates_a_staff_account_linked_to_an_employee(client, admin_user):
    employee = EmployeeFactory(position="receptionist")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:clinic_user_add"),
        {
            "username": "desk2",
            "role": Role.RECEPTIONIST,
            "employee": employee.pk,
            "password1": "a-long-desk-password",
            "password2": "a-long-desk-password",
            "usable_password": "true",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    employee.refresh_from_db()
    assert employee.user.username == "desk2"
    assert employee.user.role == Role.RECEPTIONIST
    assert employee.user.is_staff is False
