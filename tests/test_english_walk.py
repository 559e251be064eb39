"""The English walk (issue 19): every page of every role, and Django Admin, in English, with
no Chinese on it that is not patient data.

The clinic's data here is English (or pinyin) — except the departments' and titles' Chinese
names, which must not show because they have English names — so any Chinese character on a
page is a stray label: a hard-coded string, a value without its English name, or a date or
number in Chinese format. The one Chinese text allowed is the language picker's own name for
Chinese (简体中文), which is the same in every language.

The pages are the access matrix's (tests/test_access_matrix.py): every route a role may open.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from appointments.tests.factories import AppointmentFactory
from billing.refunds import refund_bill
from billing.services import settle_visit
from clinic.audit import record_event
from clinic.models import Gender
from clinic.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    DoctorFactory,
    DoctorUserFactory,
    PatientUserFactory,
    ReceptionistFactory,
    RoomFactory,
)
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from tests.test_access_matrix import OK, POLICY, QUERY
from visits.displays import create_display_token
from visits.models import VisitStatus
from visits.tests.factories import MedicalRecordFactory, VisitFactory

pytestmark = pytest.mark.django_db

CJK = re.compile(
    r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
# The language picker names Chinese in Chinese, whatever the page's language.
OWN_NAME = re.compile(r'<option value="zh-hans" lang="zh-hans"[^>]*>简体中文</option>')
# Django Admin's department and staff lists show the Chinese name and title as the data they
# are, beside the English ones: that is where an administrator edits both.
CHINESE_NAME_CELLS = re.compile(r'<(td|th) class="field-(name|title)">.*?</\1>')
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


def stray_chinese(html: str) -> list[str]:
    """Each Chinese run of the page with some text around it, to say where it is."""
    html = OWN_NAME.sub("", html)
    found = []
    for match in CJK.finditer(html):
        start, end = max(match.start() - 60, 0), match.end() + 60
        found.append(html[start:end].replace("\n", " "))
        if len(found) == 5:
            break
    return found


@pytest.fixture
def clinic_day():
    """A day at an English-speaking clinic: every kind of record each page shows."""
    department = DepartmentFactory(code="IM", name="内科", name_en="Internal Medicine")
    doctor_user = DoctorUserFactory(
        username="doctor",
        employee=DoctorFactory(
            name="Wang Jianguo",
            department=department,
            title="主治医师",
            title_en="Attending Physician",
        ),
    )
    receptionist = ReceptionistFactory(username="reception", employee__name="Wu Fang")
    admin_user = AdminUserFactory(username="admin", employee__name="Zheng Hai")
    patient_user = PatientUserFactory(
        username="patient", patient__name="Zhang San", patient__gender=Gender.MALE
    )
    patient = patient_user.patient
    schedule = ScheduleFactory(
        doctor=doctor_user.employee,
        department=department,
        room=RoomFactory(department=department, room_number="101"),
        work_date=timezone.localdate(),
        time_slot=TimeSlot.FULL_DAY,
        max_patients=20,
    )
    appointment = AppointmentFactory(schedule=schedule, patient=patient)
    AppointmentFactory(
        schedule=ScheduleFactory(
            doctor=doctor_user.employee,
            department=department,
            work_date=timezone.localdate() + dt.timedelta(days=2),
        ),
        patient=patient,
    )
    waiting = VisitFactory(schedule=schedule, status=VisitStatus.WAITING)
    seen = VisitFactory(
        schedule=schedule,
        patient=patient,
        status=VisitStatus.IN_CONSULTATION,
        called_at=timezone.now() - dt.timedelta(minutes=7),
    )
    record = MedicalRecordFactory(visit=seen, updated_by=doctor_user)
    paying = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    settled = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    bill = settle_visit(
        visit=settled,
        total_amount=Decimal("1234.50"),
        insurance_amount=Decimal("200.00"),
        by=receptionist,
    )
    refunded = settle_visit(
        visit=VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT),
        total_amount=Decimal("20.00"),
        insurance_amount=Decimal("0.00"),
        by=receptionist,
    )
    refund = refund_bill(
        bill=refunded,
        lines=[{"line": refunded.lines.get().pk, "quantity": None}],
        reason="Charged twice",
        method="cash",
        by=receptionist,
    )
    record_event(actor=receptionist, action="visit.walked_in", obj=waiting, patient=patient)
    _token, key = create_display_token(name="Hall screen", department=department, by=admin_user)
    users = {
        "patient": patient_user,
        "receptionist": receptionist,
        "doctor": doctor_user,
        "admin": admin_user,
    }
    args = {
        "appointments:detail": [appointment.pk],
        "appointments:cancel": [appointment.pk],
        "visits:check-in": [appointment.pk],
        "visits:slip": [waiting.pk],
        "visits:patient": [patient.pk],
        "notifications:patient-settings": [patient.pk],
        "visits:consultation": [seen.pk],
        "visits:order-quantity": [seen.pk],
        "visits:record-detail": [record.pk],
        "visits:record-correct": [record.pk],
        "visits:record-print": [record.pk],
        "visits:prescription-print": [record.pk],
        "billing:pay": [paying.pk],
        "billing:receipt": [bill.pk],
        "billing:shift-report": [receptionist.cashier_shifts.get().pk],
        "billing:refund": [bill.pk],
        "billing:refund-receipt": [refund.pk],
        "display:department": [department.code],
    }
    return users, args, key


def pages_of(persona: str) -> list[str]:
    """The route names this persona may open with a GET (the access matrix's OK)."""
    return sorted(
        name
        for name, expected in POLICY.items()
        if expected.get(persona) == OK and not name.endswith("-export")
    )


@pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor", "admin"])
def test_every_page_of_each_role_is_english(client, clinic_day, persona):
    users, args, _key = clinic_day
    client.force_login(users[persona])
    pages = pages_of(persona)
    assert pages, persona
    problems = []
    for name in pages:
        url = reverse(name, args=args.get(name, [])) + QUERY.get(name, "")
        response = client.get(url, **ENGLISH)
        assert response.status_code == 200, f"{url}: {response.status_code}"
        problems += [f"{url}: …{text}…" for text in stray_chinese(response.content.decode())]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("group_by", ["department", "doctor"])
def test_statistics_by_department_and_doctor_are_english(client, clinic_day, group_by):
    users, _args, _key = clinic_day
    client.force_login(users["admin"])
    response = client.get(reverse("billing:statistics"), {"group_by": group_by}, **ENGLISH)
    html = response.content.decode()
    assert ("Internal Medicine" if group_by == "department" else "Wang Jianguo") in html
    assert not stray_chinese(html), stray_chinese(html)


def test_the_signed_out_pages_and_the_waiting_room_screen_are_english(client, clinic_day):
    _users, args, key = clinic_day
    problems = []
    for url in (reverse("login"), reverse("register")):
        problems += [f"{url}: {text}" for text in stray_chinese(client.get(url, **ENGLISH).text)]
    display = reverse("display:department", args=args["display:department"])
    assert client.get(f"{display}?key={key}", **ENGLISH).status_code == 302
    response = client.get(display, **ENGLISH)
    assert response.status_code == 200
    problems += [f"{display}: {text}" for text in stray_chinese(response.content.decode())]
    assert not problems, "\n".join(problems)


def test_django_admin_is_english(client, clinic_day):
    users, _args, _key = clinic_day
    client.force_login(users["admin"])
    urls = [reverse("admin:index")] + [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ]
    problems = []
    for url in urls:
        response = client.get(url, **ENGLISH)
        assert response.status_code == 200, url
        html = response.content.decode()
        if url.endswith(("/clinic/department/", "/clinic/employee/")):
            html = CHINESE_NAME_CELLS.sub("", html)
        problems += [f"{url}: …{text}…" for text in stray_chinese(html)]
    assert not problems, "\n".join(problems)
