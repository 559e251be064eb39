from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from appointments.models import LIVE_STATUSES
from billing.models import Bill
from clinic.models import Role, User
from scheduling.models import Schedule
from visits.models import VisitStatus

pytestmark = pytest.mark.django_db

PROJECT_APPS = ("clinic", "scheduling", "appointments", "visits", "billing")


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
