from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from appointments.models import LIVE_STATUSES
from billing.cashier import close_shift, current_shift, shift_report
from billing.invariants import find_problems
from billing.models import Bill, CashierShift, Tender
from billing.services import settle_visit
from clinic.models import Role, User
from scheduling.models import Schedule
from visits.models import Visit, VisitStatus

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("clinic", "notifications", "scheduling", "appointments", "visits", "billing")


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
    }


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_leaves_the_same_rows():
    seed()
    first = row_counts()
    seed()
    assert row_counts() == first
    assert first["scheduling.Schedule"] == 9 * 2 * 7


def test_seed_demo_prints_the_accounts_that_log_in(client):
    output = seed()
    for username, password in [
        ("admin", "Admin-demo-2026"),
        ("reception", "Desk-demo-2026"),
        ("doctor", "Doctor-demo-2026"),
        ("patient", "Patient-demo-2026"),
    ]:
        assert f"{username} / {password}" in output
        response = client.post(reverse("login"), {"username": username, "password": password})
        assert response.status_code == 302, username
        client.logout()
    assert {user.role for user in User.objects.all()} == set(Role.values)


def test_seed_demo_covers_what_the_clinic_needs():
    seed()
    counts = row_counts()
    assert counts["clinic.Department"] >= 6
    assert User.objects.get(username="doctor").employee.position == "doctor"
    assert User.objects.get(username="patient").patient is not None
    statuses = set(apps.get_model("visits.Visit").objects.values_list("status", flat=True))
    assert {"waiting", "in_consultation", "awaiting_payment", "left"} <= statuses
    # English pages show English department names and doctor titles.
    departments = apps.get_model("clinic.Department").objects.all()
    assert all(department.name_en for department in departments)
    doctors = apps.get_model("clinic.Employee").objects.filter(position="doctor")
    assert all(doctor.title_en for doctor in doctors)


def test_seed_demo_counters_match_the_places_held():
    seed()
    schedules = Schedule.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
        seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
    )
    for schedule in schedules:
        assert schedule.current_patients == schedule.live + schedule.seen, schedule
    for bill in Bill.objects.all():
        assert bill.total_amount == bill.insurance_amount + bill.self_pay_amount


def test_seed_demo_on_a_later_day_tops_the_window_up(monkeypatch):
    seed()
    today = timezone.localdate()
    later = today + dt.timedelta(days=2)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: later)
    seed()
    last_day = later + dt.timedelta(days=6)
    assert Schedule.objects.filter(work_date=last_day).count() == 18
    assert Schedule.objects.count() == 9 * 2 * 9


def test_seed_demo_opens_the_desks_shift_and_pays_its_bills_by_tenders():
    seed()
    reception = User.objects.get(username="reception")
    shift = current_shift(reception)
    assert shift is not None and shift.opening_float == Decimal("200.00")
    bills = Bill.objects.all()
    assert bills.count() == 2
    for bill in bills:
        assert bill.shift == shift and bill.tendered_amount == bill.self_pay_amount
        assert sum(t.amount for t in bill.tenders.all()) == bill.self_pay_amount
        [income] = bill.income_records.all()
        assert (income.insurance_amount, income.self_pay_amount) == (
            bill.insurance_amount,
            bill.self_pay_amount,
        )
    cash = Tender.objects.get(method__code="cash")
    assert (cash.amount, cash.handed_over, cash.change_given) == (
        Decimal("36.50"),
        Decimal("50.00"),
        Decimal("13.50"),
    )
    assert Tender.objects.get(method__code="wechat").reference
    assert [p for p in find_problems() if not p.startswith("schedule")] == []
    call_command("rebuild_income_summary", "--check", stdout=StringIO())
    # The desk takes money at once: the visit awaiting payment settles in her shift.
    waiting = Visit.objects.get(status=VisitStatus.AWAITING_PAYMENT)
    bill = settle_visit(visit=waiting, total_amount="50.00", insurance_amount="20.00", by=reception)
    assert bill.shift == shift
    assert shift_report(shift).expected_cash == Decimal("266.50")


def test_seed_demo_leaves_a_shift_the_desk_closed_today_alone():
    seed()
    reception = User.objects.get(username="reception")
    close_shift(shift=current_shift(reception), counted_cash="236.50", by=reception)
    seed()
    assert current_shift(reception) is None
    assert CashierShift.objects.filter(cashier=reception).count() == 1


def test_seed_demo_writes_tomorrows_reminders_once():
    """The desk's message log has the evening's reminders to show: one per live booking of
    tomorrow, pending for the worker (a second seed writes none)."""
    from appointments.models import Appointment, reminder_key
    from notifications.models import Notification, NotificationStatus

    seed()
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    live = Appointment.objects.filter(schedule__work_date=tomorrow, status__in=LIVE_STATUSES)
    assert live.exists()
    reminders = Notification.objects.filter(key__in=[reminder_key(a.pk) for a in live])
    assert reminders.count() == live.count()
    assert set(reminders.values_list("status", flat=True)) == {NotificationStatus.PENDING}
