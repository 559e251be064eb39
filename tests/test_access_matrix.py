"""Every URL of the site against every persona (the API has its own matrix in tests/api).

The table declares, for each route name, what each persona gets on a GET: the page (200), a
redirect to the login page, a plain redirect (302), 403, 404 (another person's object) or
405 (a POST-only action). A route without a row fails the test, so no page can be added
without deciding who may open it.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from appointments.models import WaitlistEntry
from appointments.tests.factories import AppointmentFactory
from billing.refunds import refund_bill
from billing.services import settle_visit
from billing.tests.factories import BillFactory
from clinic.tests.factories import (
    AdminUserFactory,
    DoctorUserFactory,
    PatientUserFactory,
    ReceptionistFactory,
)
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.tests.factories import (
    ChargeFactory,
    MedicalRecordFactory,
    PatientAllergyFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "patient",
    "other_patient",
    "receptionist",
    "doctor",
    "other_doctor",
    "admin",
)
OK, LOGIN, MOVED, DENIED, MISSING, POST_ONLY = 200, "login", 302, 403, 404, 405


def only(*allowed: str, allowed_gets: object = OK, others: object = DENIED) -> dict:
    """Allowed personas get `allowed_gets`, other signed-in ones `others`, anonymous the login."""
    return {
        persona: LOGIN if persona == "anonymous" else allowed_gets if persona in allowed else others
        for persona in PERSONAS
    }


PATIENTS = ("patient", "other_patient")
DESK = ("receptionist", "admin")

POLICY: dict[str, dict[str, object]] = {
    "home": {**only(*PERSONAS, allowed_gets=MOVED)},
    "login": {**only(*PERSONAS, allowed_gets=MOVED), "anonymous": OK},
    "logout": {persona: POST_ONLY for persona in PERSONAS},
    "register": {**only(*PERSONAS, allowed_gets=MOVED), "anonymous": OK},
    "set_language": {persona: MOVED for persona in PERSONAS},
    "favicon": {persona: MOVED for persona in PERSONAS},
    # The load balancer's health check: no sign-in (clinic.views.healthz)
    "healthz": {persona: OK for persona in PERSONAS},
    # Patients
    "appointments:book": only(*PATIENTS),
    "appointments:my-appointments": only(*PATIENTS),
    "appointments:detail": {**only("patient", *DESK), "other_patient": MISSING},
    "appointments:cancel": {**only("patient"), "other_patient": MISSING},
    "visits:my-visits": only(*PATIENTS),
    "notifications:my-settings": only(*PATIENTS),
    # Front desk (administrators too)
    "appointments:desk": only(*DESK),
    "appointments:phone-booking": only(*DESK),
    "appointments:desk-confirm": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:desk-cancel": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:desk-no-show": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:lift-no-show-block": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:waitlist-join": only(*PATIENTS, allowed_gets=POST_ONLY),
    "appointments:waitlist-accept": only(*PATIENTS, allowed_gets=POST_ONLY),
    "appointments:waitlist-decline": only(*PATIENTS, allowed_gets=POST_ONLY),
    "appointments:waitlist-leave": only(*PATIENTS, allowed_gets=POST_ONLY),
    "appointments:desk-waitlist": only(*DESK),
    "appointments:desk-waitlist-join": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:desk-waitlist-accept": only(*DESK, allowed_gets=POST_ONLY),
    "appointments:desk-waitlist-cancel": only(*DESK, allowed_gets=POST_ONLY),
    "visits:search": only(*DESK),
    "visits:check-in": only(*DESK),
    "visits:walk-in": only(*DESK),
    "visits:board": only(*DESK),
    "visits:slip": only(*DESK),
    "visits:advance": only(*DESK, allowed_gets=POST_ONLY),
    "visits:leave-unseen": only(*DESK, allowed_gets=POST_ONLY),
    "visits:patients": only(*DESK),
    "visits:patient": only(*DESK),
    "notifications:log": only(*DESK),
    "notifications:resend": only(*DESK, allowed_gets=POST_ONLY),
    "notifications:patient-settings": only(*DESK),
    "billing:pay": only(*DESK),
    "billing:receipt": only(*DESK),
    "billing:reports": only(*DESK),
    "billing:reports-export": only(*DESK),
    # The cashier's shift: their own (a manager sees every shift's report).
    "billing:shift": only(*DESK),
    "billing:shift-open": only(*DESK, allowed_gets=POST_ONLY),
    "billing:shift-close": only(*DESK, allowed_gets=POST_ONLY),
    "billing:shift-report": only(*DESK),
    # A refund: the bill's cashier on the day, else a manager (the world's bill is no
    # receptionist's); any desk reads a refund's receipt.
    "billing:refund": only("admin"),
    "billing:refund-receipt": only(*DESK),
    # Doctors: their own visits only
    "visits:doctor-queue": only("doctor", "other_doctor"),
    "visits:call-next": only("doctor", "other_doctor", allowed_gets=POST_ONLY),
    "visits:consultation": {**only("doctor"), "other_doctor": MISSING},
    "visits:record-detail": {**only("doctor", "admin"), "other_doctor": MISSING},
    "visits:record-correct": only("admin"),
    "visits:record-print": {**only("doctor", "admin"), "other_doctor": MISSING},
    "visits:prescription-print": {**only("doctor", "admin"), "other_doctor": MISSING},
    "visits:allergy-add": only("doctor", "other_doctor", allowed_gets=POST_ONLY),
    "visits:allergy-remove": only("doctor", "other_doctor", allowed_gets=POST_ONLY),
    "visits:allergy-none-known": only("doctor", "other_doctor", allowed_gets=POST_ONLY),
    "visits:diagnosis-suggestions": only("doctor", "other_doctor", "admin"),
    # The doctor's orders: the visit's doctor only; the catalogue's suggestions for any doctor.
    # The panel is part of the consultation page: opened alone, it leads there.
    "visits:orders": {**only("doctor", allowed_gets=MOVED), "other_doctor": MISSING},
    "visits:order-add": {**only("doctor", allowed_gets=POST_ONLY), "other_doctor": POST_ONLY},
    "visits:order-quantity": {**only("doctor"), "other_doctor": MISSING},
    "visits:order-update": {**only("doctor", allowed_gets=POST_ONLY), "other_doctor": POST_ONLY},
    "visits:order-remove": {**only("doctor", allowed_gets=POST_ONLY), "other_doctor": POST_ONLY},
    "visits:order-suggestions": only("doctor", "other_doctor"),
    # Administrators
    "billing:statistics": only("admin"),
    "billing:statistics-export": only("admin"),
    "billing:day-end": only("admin"),
    "billing:shift-reopen": only("admin", allowed_gets=POST_ONLY),
    "scheduling:planner": only("admin"),
    "scheduling:copy-week": only("admin"),
    "scheduling:planner-rooms": only("admin"),
    # The waiting-room display: a screen's own key, never an account (visits.displays)
    "display:department": {persona: DENIED for persona in PERSONAS},
}


def site_routes() -> list[str]:
    """Every named route outside /admin/ (Django Admin) and /api/ (its own matrix)."""

    def walk(resolver: URLResolver, namespace: str | None, prefix: str):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                full = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                yield from walk(pattern, full, route)
            elif (
                isinstance(pattern, URLPattern)
                and pattern.name
                and not route.startswith(("admin/", "api/"))
            ):
                yield f"{namespace}:{pattern.name}" if namespace else pattern.name

    return sorted(set(walk(get_resolver(), None, "")))


def test_every_route_has_a_declared_policy():
    assert set(site_routes()) == set(POLICY)


def _a_refund(cashier, schedule):
    """A refund made as the desk makes one: a visit settled in the cashier's shift, its
    line given back in cash."""
    visit = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    bill = settle_visit(visit=visit, total_amount="10.00", insurance_amount="0", by=cashier)
    return refund_bill(
        bill=bill,
        lines=[{"line": bill.lines.get().pk, "quantity": None}],
        reason="Test refund",
        method="cash",
        by=cashier,
    )


@pytest.fixture
def world():
    users = {
        "patient": PatientUserFactory(),
        "other_patient": PatientUserFactory(),
        "receptionist": ReceptionistFactory(),
        "doctor": DoctorUserFactory(),
        "other_doctor": DoctorUserFactory(),
        "admin": AdminUserFactory(),
    }
    schedule = ScheduleFactory(
        doctor=users["doctor"].employee,
        department=users["doctor"].employee.department,
        work_date=timezone.localdate(),
        max_patients=10,
    )
    appointment = AppointmentFactory(schedule=schedule, patient=users["patient"].patient)
    visit = VisitFactory(
        schedule=schedule, patient=users["patient"].patient, status=VisitStatus.IN_CONSULTATION
    )
    record = MedicalRecordFactory(visit=visit)
    allergy = PatientAllergyFactory(patient=users["patient"].patient)
    order = ChargeFactory(visit=visit)
    paying = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    bill = BillFactory()
    refund = _a_refund(users["receptionist"], schedule)
    entry = WaitlistEntry.objects.create(
        patient=users["patient"].patient,
        patient_name=users["patient"].patient.name,
        phone=users["patient"].patient.phone,
        department=schedule.department,
        work_date=schedule.work_date,
        time_slot="morning",
    )
    args = {
        **{
            f"appointments:{name}": [entry.pk]
            for name in (
                "waitlist-accept",
                "waitlist-decline",
                "waitlist-leave",
                "desk-waitlist-accept",
                "desk-waitlist-cancel",
            )
        },
        "appointments:detail": [appointment.pk],
        "appointments:cancel": [appointment.pk],
        "visits:check-in": [appointment.pk],
        "visits:slip": [visit.pk],
        "visits:patient": [users["patient"].patient.pk],
        "appointments:lift-no-show-block": [users["patient"].patient.pk],
        "notifications:patient-settings": [users["patient"].patient.pk],
        "visits:consultation": [visit.pk],
        "visits:record-detail": [record.pk],
        "visits:record-correct": [record.pk],
        "visits:record-print": [record.pk],
        "visits:prescription-print": [record.pk],
        "visits:allergy-add": [visit.pk],
        "visits:allergy-none-known": [visit.pk],
        "visits:allergy-remove": [visit.pk, allergy.pk],
        "visits:orders": [visit.pk],
        "visits:order-add": [visit.pk],
        "visits:order-quantity": [visit.pk],
        "visits:order-update": [visit.pk, order.pk],
        "visits:order-remove": [visit.pk, order.pk],
        "billing:pay": [paying.pk],
        "billing:receipt": [bill.pk],
        "billing:shift-close": [users["receptionist"].cashier_shifts.get().pk],
        "billing:refund": [bill.pk],
        "billing:refund-receipt": [refund.pk],
        "billing:shift-report": [users["receptionist"].cashier_shifts.get().pk],
        "billing:shift-reopen": [users["receptionist"].cashier_shifts.get().pk],
        "display:department": [schedule.department.code],
    }
    return users, args


# Query strings a route needs to answer at all (the export names its table).
QUERY = {
    "billing:statistics-export": "?table=income",
    "scheduling:planner-rooms": "?field=pattern-0-doctor",
}


@pytest.mark.parametrize("persona", PERSONAS)
def test_each_persona_gets_what_the_policy_declares(client, world, persona):
    users, args = world
    if persona != "anonymous":
        client.force_login(users[persona])
    login_url = reverse("login")
    mismatches = []
    for name, expected_by_persona in sorted(POLICY.items()):
        response = client.get(reverse(name, args=args.get(name, [])) + QUERY.get(name, ""))
        expected = expected_by_persona[persona]
        if expected == LOGIN:
            ok = response.status_code == 302 and response["Location"].startswith(login_url)
        else:
            ok = response.status_code == expected
        if not ok:
            mismatches.append(f"{name}: expected {expected}, got {response.status_code}")
    assert not mismatches, "\n".join(mismatches)
