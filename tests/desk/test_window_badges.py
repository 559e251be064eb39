"""The desk's and the patient's pages under time-sliced booking: rows and slips name the
window, and a late booking or a late arrival wears a "Late" badge (text, not colour alone)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from unittest import mock

import pytest
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory
from clinic.tests.factories import make_resident_id
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.services import register_walk_in
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

EN = {"Accept-Language": "en"}
LATE = 'class="badge badge-late"'


@pytest.fixture(autouse=True)
def at_nine() -> Iterator[None]:
    """WORK_DAY, 09:00 at the clinic."""
    with mock.patch("django.utils.timezone.now", return_value=clinic_time(9, 0)):
        yield


@pytest.fixture
def schedule():
    return ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(8, 0),
        end_time=dt.time(10, 0),
        window_minutes=30,
        max_patients=8,
    )


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    return client


def row_of(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</tr>", 1)[0]


def test_the_day_list_marks_a_live_booking_whose_window_ended(desk_client, schedule):
    late = AppointmentFactory(schedule=schedule, expected_time=clinic_time(8, 0))
    on_time = AppointmentFactory(schedule=schedule, expected_time=clinic_time(9, 30))
    html = desk_client.get(
        reverse("appointments:desk"), {"date": WORK_DAY.isoformat()}, headers=EN
    ).content.decode()
    late_row = row_of(html, f'id="appointment-{late.pk}"')
    on_time_row = row_of(html, f'id="appointment-{on_time.pk}"')
    assert "08:00–08:30" in late_row and LATE in late_row and ">Late<" in late_row
    assert "09:30–10:00" in on_time_row and LATE not in on_time_row


def test_the_search_marks_late_bookings_and_late_arrivals(desk_client, schedule):
    booking = AppointmentFactory(schedule=schedule, expected_time=clinic_time(8, 0))
    html = desk_client.get(
        reverse("visits:search"), {"q": booking.phone}, headers=EN
    ).content.decode()
    assert "08:00–08:30" in html and LATE in html


def test_the_board_shows_each_visits_window_and_late_arrivals(desk_client, schedule):
    window = schedule.windows.get(start_time=dt.time(8, 30))
    late = VisitFactory(
        schedule=schedule,
        window=window,
        arrived_late=True,
        queued_from=dt.time(9, 30),
        patient__name="晚到",
    )
    VisitFactory(schedule=schedule, window=window, patient__name="准时")
    html = desk_client.get(reverse("visits:board"), headers=EN).content.decode()
    card = html.split(late.patient.name, 1)[1].split("</li>", 1)[0]
    assert "08:30–09:00" in card and LATE in card
    on_time = html.split("准时", 1)[1].split("</li>", 1)[0]
    assert "08:30–09:00" in on_time and LATE not in on_time
    # The one on time queues first in their doctor's column, whatever the numbers.
    assert html.index("准时") < html.index("晚到")


def test_the_walk_in_slip_names_the_window_it_took(desk_client, receptionist, schedule):
    visit = register_walk_in(
        by=receptionist,
        department=schedule.department,
        name="Walk-in",
        phone="13700009999",
        id_card=make_resident_id(seed=990_001),
        gender="female",
    )
    html = desk_client.get(reverse("visits:slip", args=[visit.pk]), headers=EN).content.decode()
    slip_window = html.split('class="slip-window"', 1)[1].split("</dd>", 1)[0]
    assert "09:00–09:30" in slip_window  # the running window with room
    assert LATE not in slip_window


def test_the_patient_sees_their_visits_window(client, patient_user, schedule):
    VisitFactory(
        schedule=schedule,
        patient=patient_user.patient,
        window=schedule.windows.get(start_time=dt.time(8, 0)),
        arrived_late=True,
    )
    client.force_login(patient_user)
    html = client.get(reverse("visits:my-visits"), headers=EN).content.decode()
    assert "08:00–08:30" in html and LATE in html


def test_checking_in_late_says_so_and_the_slip_marks_it(desk_client, schedule):
    booking = AppointmentFactory(schedule=schedule, expected_time=clinic_time(8, 0))
    schedule.windows.filter(start_time=dt.time(8, 0)).update(used=1)
    type(schedule).objects.filter(pk=schedule.pk).update(current_patients=1)
    response = desk_client.post(
        reverse("visits:check-in", args=[booking.pk]),
        {"phone": booking.phone, "id_card": (booking.id_card or "")[-4:]},
        headers=EN,
        follow=True,
    )
    html = response.content.decode()
    assert "Checked in late" in html and "08:00–08:30" in html
    slip_window = html.split('class="slip-window"', 1)[1].split("</dd>", 1)[0]
    assert "08:00–08:30" in slip_window and LATE in slip_window
