"""The waiting-room display: numbers and masked names only, on a screen set up with its own
key, polling."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.tests.factories import DepartmentFactory, DoctorFactory, PatientFactory, RoomFactory
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.selectors import waiting_room_board
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def display_url(department, **params) -> str:
    url = reverse("display:department", args=[department.code])
    if params:
        url += "?" + "&".join(f"{key}={value}" for key, value in params.items())
    return url


@pytest.fixture
def department():
    return DepartmentFactory(code="IM", name="Internal Medicine")


@pytest.fixture
def screen_key(department, admin_user):
    from visits.displays import create_display_token

    return create_display_token(name="Hall TV", department=department, by=admin_user)[1]


@pytest.fixture
def client(client, screen_key, department):
    """A screen of the department, set up: its key opened once, kept in a cookie."""
    opened = client.get(display_url(department, key=screen_key))
    assert opened.status_code == 302
    return client


@pytest.fixture
def schedule(department):
    """A schedule that runs all day today, so that it shows whatever the test's clock."""
    return ScheduleFactory(
        doctor=DoctorFactory(department=department, name="Dr Wang", title="Attending"),
        room=RoomFactory(department=department, room_number="A101"),
        time_slot=TimeSlot.FULL_DAY,
        max_patients=60,
    )


def visit(schedule, number, status=VisitStatus.WAITING, **patient):
    return VisitFactory(
        schedule=schedule,
        queue_number=number,
        status=status,
        patient=PatientFactory(**patient),
        called_at=timezone.now() if status != VisitStatus.WAITING else None,
    )


def board_numbers(html: str, css_class: str) -> list[str]:
    return re.findall(rf'class="{css_class}">(\d+)<', html)


def test_shows_the_number_being_seen_per_room_and_the_next_ones_waiting(
    client, department, schedule
):
    visit(schedule, 3, VisitStatus.IN_CONSULTATION, name="王小明")
    for number in (9, 4, 5, 6, 7, 8, 10):
        visit(schedule, number)
    visit(schedule, 1, VisitStatus.AWAITING_PAYMENT)
    visit(schedule, 2, VisitStatus.CANCELLED)

    response = client.get(display_url(department), HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 200
    html = response.content.decode()
    assert "A101" in html
    assert "Dr Wang" in html
    assert board_numbers(html, "display-number") == ["3"]
    assert "王**" in html
    # The next five in queue order; those gone to pay or left unseen are not on the board.
    assert board_numbers(html, "display-next-number") == ["4", "5", "6", "7", "8"]
    assert "7 waiting in all" in html


def test_exposes_no_phone_id_number_or_full_name(client, department, schedule):
    people = [
        visit(schedule, 1, VisitStatus.IN_CONSULTATION, name="Zhang Sanfeng"),
        visit(schedule, 2, name="Li Sisi"),
        visit(schedule, 3, name="欧阳娜娜"),
    ]
    for headers in ({}, HTMX):
        html = client.get(display_url(department), **headers).content.decode()
        for person in people:
            patient = person.patient
            assert patient.name not in html
            assert patient.phone not in html
            assert patient.phone[-4:] not in html
            assert patient.id_card not in html
            assert patient.id_card[-4:] not in html
        # A masked name is as long whatever the name: its length says nothing.
        assert "Z**" in html
        assert "Z***" not in html
        assert "欧**" in html
        assert "欧***" not in html


def test_the_board_reads_no_personal_field_but_the_name():
    schedule = ScheduleFactory(time_slot=TimeSlot.FULL_DAY)
    visit(schedule, 1)
    with CaptureQueriesContext(connection) as queries:
        waiting_room_board(department=schedule.department, now=timezone.now())
    visit_query = next(q["sql"] for q in queries if "visits_visit" in q["sql"].split("FROM")[1])
    selected = visit_query.split("FROM")[0]
    assert "phone" not in selected
    assert "id_card" not in selected
    assert "birth_date" not in selected


def test_needs_no_login(client, department, schedule):
    visit(schedule, 1)
    assert client.get(display_url(department)).status_code == 200


def test_other_departments_are_not_shown(client, department, schedule):
    other = ScheduleFactory(time_slot=TimeSlot.FULL_DAY)
    VisitFactory(schedule=other, queue_number=42, status=VisitStatus.IN_CONSULTATION)
    html = client.get(display_url(department)).content.decode()
    assert other.room.room_number not in html
    assert "42" not in board_numbers(html, "display-number")


def test_an_unknown_or_inactive_department_shows_the_not_set_up_page(client, department):
    assert client.get("/display/NOPE/").status_code == 403
    department.is_active = False
    department.save()
    assert client.get(display_url(department)).status_code == 403


class TestScreenKeys:
    def test_without_any_screen_set_up_the_page_says_so_and_shows_no_patient(
        self, department, schedule
    ):
        from django.test import Client

        visit(schedule, 1, VisitStatus.IN_CONSULTATION, name="Zhang Sanfeng")
        response = Client().get(display_url(department), HTTP_ACCEPT_LANGUAGE="en")
        html = response.content.decode()
        assert response.status_code == 403
        assert "not set up" in html
        assert "Z**" not in html and "Internal Medicine" not in html

    def test_the_key_is_opened_once_and_then_kept_out_of_the_address(
        self, department, screen_key, schedule
    ):
        from django.test import Client

        screen = Client()
        opened = screen.get(display_url(department, key=screen_key))
        assert opened.status_code == 302 and opened["Location"] == display_url(department)
        cookie = opened.cookies["clinic_display_key"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        html = screen.get(display_url(department)).content.decode()
        assert "key=" not in html and screen_key not in html
        assert screen.get(display_url(department), **HTMX).status_code == 200

    def test_a_wrong_revoked_or_other_departments_key_is_refused(
        self, department, screen_key, admin_user
    ):
        from django.test import Client

        from visits.displays import create_display_token, revoke_display_token
        from visits.models import DisplayToken

        other = DepartmentFactory(code="SUR")
        other_key = create_display_token(name="Surgery", department=other, by=admin_user)[1]
        assert Client().get(display_url(department, key="wrong")).status_code == 403
        assert Client().get(display_url(department, key=other_key)).status_code == 403
        screen = Client()
        screen.get(display_url(department, key=screen_key))
        assert screen.get(display_url(department)).status_code == 200
        token = DisplayToken.objects.get(department=department)
        revoke_display_token(token=token, by=admin_user)
        assert screen.get(display_url(department)).status_code == 403

    def test_keys_are_stored_hashed_and_made_and_revoked_with_an_audit_event(
        self, department, screen_key, admin_user
    ):
        from clinic.models import AuditEvent
        from visits.displays import revoke_display_token
        from visits.models import DisplayToken

        token = DisplayToken.objects.get()
        assert screen_key not in token.token_hash and len(token.token_hash) == 64
        revoke_display_token(token=token, by=admin_user)
        actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("id"))
        assert actions == ["display_token.created", "display_token.revoked"]

    def test_an_administrator_makes_a_screen_in_django_admin_and_sees_its_address_once(
        self, admin_client, department
    ):
        from visits.models import DisplayToken

        response = admin_client.post(
            reverse("admin:visits_displaytoken_add"),
            {"name": "Hall TV", "department": department.pk},
            follow=True,
        )
        assert response.status_code == 200
        token = DisplayToken.objects.get()
        assert f"/display/{department.code}/?key=" in response.content.decode()
        assert token.created_by is not None


class TestLiveUpdates:
    def test_the_page_polls_every_5_seconds_and_loads_its_script_from_a_static_file(
        self, client, department
    ):
        html = client.get(display_url(department)).content.decode()
        assert 'hx-trigger="every 5s"' in html
        assert "js/display.js" in html
        assert "js/htmx-2.0.11.min.js" in html
        # No inline script: a Content-Security-Policy will forbid it.
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert (
            "Reconnecting"
            in client.get(display_url(department), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        )

    def test_a_poll_gets_the_board_alone(self, client, department, schedule):
        visit(schedule, 5, VisitStatus.IN_CONSULTATION)
        response = client.get(display_url(department), **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert board_numbers(html, "display-number") == ["5"]
        assert "<html" not in html
        assert "<head" not in html
        assert "hx-trigger" not in html  # the polling element stays; only its content changes

    def test_a_new_number_appears_on_the_next_poll(
        self, client, department, schedule, receptionist
    ):
        waiting = visit(schedule, 1)
        html = client.get(display_url(department), **HTMX).content.decode()
        assert board_numbers(html, "display-number") == []
        waiting.start_consultation(by=receptionist)
        html = client.get(display_url(department), **HTMX).content.decode()
        assert board_numbers(html, "display-number") == ["1"]

    def test_answers_are_never_cached(self, client, department):
        response = client.get(display_url(department))
        assert "no-cache" in response["Cache-Control"]

    def test_is_get_only(self, client, department):
        assert client.post(display_url(department)).status_code == 405


class TestWhichRoomsShow:
    def test_a_slot_that_ended_with_nobody_left_is_hidden_and_a_running_one_shows(self, department):
        doctor = DoctorFactory(department=department)
        today = timezone.localdate()
        morning = ScheduleFactory(
            doctor=doctor,
            room=RoomFactory(department=department, room_number="M1"),
            time_slot=TimeSlot.MORNING,
            work_date=today,
        )
        afternoon = ScheduleFactory(
            doctor=doctor,
            room=RoomFactory(department=department, room_number="P1"),
            time_slot=TimeSlot.AFTERNOON,
            work_date=today,
        )
        at_three = timezone.make_aware(dt.datetime.combine(today, dt.time(15, 0)))
        rooms = waiting_room_board(department=department, now=at_three)
        assert [room.room_number for room in rooms] == [afternoon.room.room_number]

        # A morning patient still waiting keeps the morning room on the board.
        visit(morning, 1)
        rooms = waiting_room_board(department=department, now=at_three)
        assert [room.room_number for room in rooms] == ["M1", "P1"]

    def test_nothing_today_says_so(self, client, department):
        html = client.get(display_url(department), HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert "No consultations at the moment." in html


def test_query_count_is_the_same_for_5_and_50_patients(client, department, schedule):
    second = ScheduleFactory(
        doctor=DoctorFactory(department=department),
        room=RoomFactory(department=department),
        time_slot=TimeSlot.FULL_DAY,
        max_patients=60,
    )
    url = display_url(department)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    def add(start: int, n: int) -> None:
        for number in range(start, start + n):
            status = VisitStatus.IN_CONSULTATION if number in (1, 2) else VisitStatus.WAITING
            visit(schedule if number % 2 else second, number, status)

    add(1, 5)
    with_5 = count()
    add(6, 45)
    assert count() == with_5
