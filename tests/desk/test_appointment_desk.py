"""The appointment desk and phone booking: row actions in place, only legal moves offered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from scheduling.tests.factories import ScheduleFactory
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

DESK = reverse("appointments:desk")
HTMX = {"HX-Request": "true"}
# Session, user, the user's staff record (the page header), the filter's departments, then the
# day's bookings with their visits, their schedules (with doctor and room), departments and
# windows.
DESK_QUERIES = 8


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    return client


@pytest.fixture
def booking(settings):
    """A booking of today's running slot whatever the hour the suite runs at: the day is one
    slot from 00:00 to 23:59, so check-in is open and a no-show is not yet allowed."""
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    settings.CLINIC_CHECK_IN_EARLY_MINUTES = 60
    schedule = ScheduleFactory(
        work_date=timezone.localdate(), time_slot="full_day", current_patients=1
    )
    return AppointmentFactory(schedule=schedule)


def test_desk_lists_todays_appointments_with_legal_actions(desk_client, booking):
    response = desk_client.get(DESK)
    html = response.content.decode()
    assert booking.reference in html
    assert moves_offered(html, booking) == {"confirm", "cancel", "check_in"}


def test_a_cancelled_appointment_offers_no_action(desk_client, booking):
    Appointment.objects.filter(pk=booking.pk).update(status=AppointmentStatus.CANCELLED)
    html = desk_client.get(DESK).content.decode()
    assert moves_offered(html, booking) == set()


def test_a_checked_in_appointment_shows_its_queue_number(desk_client, booking):
    Appointment.objects.filter(pk=booking.pk).update(status=AppointmentStatus.COMPLETED)
    VisitFactory(appointment=booking, schedule=booking.schedule, queue_number=42)
    html = desk_client.get(DESK).content.decode()
    row = html.split(f'id="appointment-{booking.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "#42" in row
    assert "cancel" not in moves_offered(row, booking)
    with CaptureQueriesContext(connection) as one:
        desk_client.get(DESK)
    for number in (43, 44, 45):
        done = AppointmentFactory(schedule=booking.schedule, status=AppointmentStatus.COMPLETED)
        VisitFactory(appointment=done, schedule=booking.schedule, queue_number=number)
    with CaptureQueriesContext(connection) as four:
        assert "#45" in desk_client.get(DESK).content.decode()
    assert len(four) == len(one)


def row_of(html: str, appointment: Appointment) -> str:
    return html.split(f'id="appointment-{appointment.pk}"', 1)[1].split("</tr>", 1)[0]


def test_forms_of_every_row_carry_the_token_and_the_way_back(desk_client, booking):
    desk_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    html = desk_client.get(DESK, {"status": "pending"}).content.decode()
    row = row_of(html, booking)
    assert row.count('name="csrfmiddlewaretoken"') == row.count("<form") == 2
    assert row.count('name="next" value="/appointments/desk/?status=pending"') == 2
    assert ">Confirm</button>" in row and "Cancel appointment" in row


def test_the_row_answered_after_a_move_carries_the_token_in_each_form(desk_client, booking):
    row = move(
        desk_client, "desk-confirm", booking, {"next": f"{DESK}?date=x"}, headers=HTMX
    ).content.decode()
    # Confirmed: only the cancel form is left, with its token and the way back.
    assert row.count("<form") == row.count('name="csrfmiddlewaretoken"') == 1
    assert f'name="next" value="{DESK}?date=x"' in row
    assert f'id="confirm-{booking.pk}"' not in row


def moves_offered(row: str, appointment: Appointment) -> set[str]:
    markers = {
        "check_in": f'"{reverse("visits:check-in", args=[appointment.pk])}"',
        "confirm": f'id="confirm-{appointment.pk}" name="appointment" value="{appointment.pk}"',
        "no_show": f'id="no-show-{appointment.pk}" name="appointment" value="{appointment.pk}"',
        "cancel": f'id="reason-{appointment.pk}"',
    }
    return {move for move, marker in markers.items() if marker in row}


def move(client, name: str, appointment: Appointment, data: dict | None = None, **kwargs):
    """A row's button: its move's address, with the appointment as the button's value."""
    return client.post(
        reverse(f"appointments:{name}"), {"appointment": appointment.pk, **(data or {})}, **kwargs
    )


@pytest.mark.parametrize(
    ("days_from_today", "status", "moves"),
    [
        (1, AppointmentStatus.PENDING, {"confirm", "cancel"}),
        (1, AppointmentStatus.CONFIRMED, {"cancel"}),
        (-1, AppointmentStatus.CONFIRMED, {"no_show", "cancel"}),
        (-1, AppointmentStatus.PENDING, {"confirm", "no_show", "cancel"}),
        (-1, AppointmentStatus.NO_SHOW, set()),
        (1, AppointmentStatus.CANCELLED, set()),
    ],
)
def test_each_row_offers_only_the_moves_legal_now(desk_client, days_from_today, status, moves):
    day = timezone.localdate() + dt.timedelta(days=days_from_today)
    appointment = AppointmentFactory(schedule=ScheduleFactory(work_date=day), status=status)
    html = desk_client.get(DESK, {"date": day.isoformat()}).content.decode()
    assert moves_offered(row_of(html, appointment), appointment) == moves
    assert moves == appointment.desk_actions()


def test_check_in_is_offered_while_it_is_open(desk_client, settings):
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    appointment = AppointmentFactory(schedule=ScheduleFactory(time_slot="full_day"))
    row = row_of(desk_client.get(DESK).content.decode(), appointment)
    assert moves_offered(row, appointment) == {"check_in", "confirm", "cancel"}


def test_filters_by_date_department_and_status(desk_client, booking):
    tomorrow = AppointmentFactory(
        schedule=ScheduleFactory(work_date=timezone.localdate() + dt.timedelta(days=1))
    )
    html = desk_client.get(DESK, {"date": tomorrow.schedule.work_date.isoformat()}).content.decode()
    assert tomorrow.reference in html and booking.reference not in html
    html = desk_client.get(DESK, {"status": "confirmed"}).content.decode()
    assert booking.reference not in html
    html = desk_client.get(DESK, {"department": booking.department.pk}).content.decode()
    assert booking.reference in html


def test_confirm_with_htmx_returns_the_updated_row(desk_client, booking):
    response = move(desk_client, "desk-confirm", booking, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="appointment-{booking.pk}"')
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.CONFIRMED


def test_confirm_without_javascript_redirects_back(desk_client, booking):
    response = move(desk_client, "desk-confirm", booking, {"next": f"{DESK}?status=pending"})
    assert response.status_code == 302
    assert response["Location"] == f"{DESK}?status=pending"


def test_an_offsite_next_is_ignored(desk_client, booking):
    response = move(desk_client, "desk-confirm", booking, {"next": "https://evil.example/"})
    assert response["Location"] == DESK


def test_cancel_with_reason_releases_the_place(desk_client, booking):
    move(desk_client, "desk-cancel", booking, {"reason": "Caller cancelled"}, headers=HTMX)
    booking.refresh_from_db()
    booking.schedule.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == (
        AppointmentStatus.CANCELLED,
        "Caller cancelled",
    )
    assert booking.schedule.current_patients == 0


def test_an_illegal_move_answers_the_row_with_the_error_and_a_4xx(desk_client, booking):
    # Its slot has not ended.
    response = move(desk_client, "desk-no-show", booking, headers=HTMX)
    assert response.status_code == 409
    assert 'role="alert"' in response.content.decode()
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.PENDING


@pytest.mark.parametrize("name", ["desk-confirm", "desk-cancel", "desk-no-show"])
def test_moves_are_post_only(desk_client, booking, name):
    assert desk_client.get(reverse(f"appointments:{name}")).status_code == 405


@pytest.mark.parametrize("value", ["", "x", "999999"])
def test_a_move_without_an_appointment_is_a_404(desk_client, value):
    response = desk_client.post(reverse("appointments:desk-confirm"), {"appointment": value})
    assert response.status_code == 404


@pytest.mark.parametrize("persona", ["patient", "doctor"])
@pytest.mark.parametrize("name", ["desk-confirm", "desk-cancel", "desk-no-show"])
def test_moves_are_refused_to_other_roles(client, personas, booking, persona, name):
    client.force_login(personas[persona])
    assert move(client, name, booking).status_code == 403
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.PENDING


def test_anonymous_htmx_requests_are_sent_to_login(client, booking):
    response = move(client, "desk-confirm", booking, headers=HTMX)
    assert response.headers["HX-Redirect"] == reverse("login")


@pytest.mark.parametrize("rows", [3, 30])
def test_the_desk_answers_with_a_fixed_number_of_queries(
    desk_client, django_assert_num_queries, rows
):
    schedule = ScheduleFactory(work_date=timezone.localdate(), max_patients=50)
    for done in AppointmentFactory.create_batch(
        rows, schedule=schedule, status=AppointmentStatus.COMPLETED
    )[::2]:
        VisitFactory(appointment=done, schedule=schedule)
    with django_assert_num_queries(DESK_QUERIES):
        html = desk_client.get(DESK).content.decode()
    assert html.count('<tr id="appointment-') == rows


def test_query_count_does_not_grow_with_rows(desk_client):
    schedule = ScheduleFactory(work_date=timezone.localdate(), max_patients=300)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert desk_client.get(DESK).status_code == 200
        return len(queries)

    AppointmentFactory.create_batch(10, schedule=schedule)
    with_10 = count()
    AppointmentFactory.create_batch(190, schedule=schedule)
    assert count() == with_10


class TestPhoneBooking:
    URL = reverse("appointments:phone-booking")

    def data(self, schedule, **overrides):
        data = {
            "patient_name": "王五",
            "phone": "139 0000 1111",
            "id_card": "",
            "department": schedule.department.pk,
            "date": schedule.work_date.isoformat(),
            "window": "08:00-12:00",
            "doctor": "",
        }
        data.update(overrides)
        return data

    def test_books_for_a_caller_without_account(self, desk_client):
        schedule = ScheduleFactory(work_date=timezone.localdate() + dt.timedelta(days=1))
        response = desk_client.post(self.URL, self.data(schedule))
        appointment = Appointment.objects.get()
        assert response.status_code == 302
        assert (appointment.patient, appointment.patient_name, appointment.phone) == (
            None,
            "王五",
            "13900001111",
        )
        schedule.refresh_from_db()
        assert schedule.current_patients == 1

    def test_availability_partial_from_the_same_url(self, desk_client):
        schedule = ScheduleFactory(work_date=timezone.localdate() + dt.timedelta(days=1))
        params = {"department": schedule.department.pk, "date": schedule.work_date.isoformat()}
        html = desk_client.get(self.URL, params, headers=HTMX).content.decode()
        assert html.strip().startswith('<div id="availability"')

    def test_bad_phone_is_a_field_error(self, desk_client):
        schedule = ScheduleFactory(work_date=timezone.localdate() + dt.timedelta(days=1))
        response = desk_client.post(self.URL, self.data(schedule, phone="123"))
        assert response.status_code == 400
        assert "phone" in response.context["form"].errors
        assert not Appointment.objects.exists()

    def test_no_capacity_alternatives_carry_the_caller(self, desk_client):
        schedule = ScheduleFactory(
            work_date=timezone.localdate() + dt.timedelta(days=1),
            max_patients=1,
            current_patients=1,
        )
        ScheduleFactory(
            doctor=schedule.doctor,
            department=schedule.department,
            room=schedule.room,
            work_date=schedule.work_date,
            time_slot="afternoon",
        )
        response = desk_client.post(self.URL, self.data(schedule))
        assert response.status_code == 409
        html = response.content.decode()
        assert 'name="patient_name" value="王五"' in html
        assert 'name="window" value="13:30-17:30"' in html

    def test_patients_cannot_use_it(self, client, patient_user):
        client.force_login(patient_user)
        assert client.get(self.URL).status_code == 403
