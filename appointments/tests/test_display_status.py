"""A booking checked in is shown to its patient as "Checked in", with today's bookings, until
the visit is over; the stored status stays `completed` (issue 19)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import CHECKED_IN, AppointmentStatus
from appointments.services import book_appointment
from scheduling.tests.factories import ScheduleFactory
from visits.models import Visit, VisitStatus
from visits.services import check_in

pytestmark = pytest.mark.django_db

MINE = reverse("appointments:my-appointments")


@pytest.fixture
def all_day_schedule(settings):
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    return ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=9)


@pytest.fixture
def checked_in(all_day_schedule, patient_user, receptionist):
    booking = book_appointment(
        by=patient_user, department=all_day_schedule.department, expected_time=timezone.now()
    )
    visit = check_in(
        appointment_id=booking.pk, phone=booking.phone, id_card=booking.id_card, by=receptionist
    )
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.COMPLETED
    return booking, visit


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_checked_in_booking_is_listed_today_as_checked_in(patient_client, checked_in):
    booking, _visit = checked_in
    response = patient_client.get(MINE)
    assert [a.pk for a in response.context["today_appointments"]] == [booking.pk]
    assert response.context["past"] == []
    html = response.content.decode()
    today = html.split('id="today-appointments"', 1)[1].split("</ul>", 1)[0]
    assert booking.reference in today
    assert '<span class="badge badge-checked_in">Checked in</span>' in today
    assert "Completed" not in html


@pytest.mark.parametrize(
    "status", [VisitStatus.WAITING, VisitStatus.IN_CONSULTATION, VisitStatus.AWAITING_PAYMENT]
)
def test_it_stays_checked_in_until_the_visit_is_over(patient_client, checked_in, status):
    _booking, visit = checked_in
    Visit.objects.filter(pk=visit.pk).update(status=status)
    response = patient_client.get(MINE)
    assert [a.display_status for a in response.context["today_appointments"]] == [CHECKED_IN]


@pytest.mark.parametrize("status", [VisitStatus.LEFT, VisitStatus.CANCELLED])
def test_once_the_visit_is_over_it_is_past_and_completed(patient_client, checked_in, status):
    booking, visit = checked_in
    Visit.objects.filter(pk=visit.pk).update(status=status)
    response = patient_client.get(MINE)
    assert response.context["today_appointments"] == []
    assert [a.pk for a in response.context["past"]] == [booking.pk]
    past = response.content.decode().split('id="past-appointments"', 1)[1]
    assert '<span class="badge badge-completed">Completed</span>' in past


def test_a_booking_for_today_not_yet_checked_in_is_listed_today(
    patient_client, patient_user, all_day_schedule
):
    booking = book_appointment(
        by=patient_user, department=all_day_schedule.department, expected_time=timezone.now()
    )
    response = patient_client.get(MINE)
    assert [a.pk for a in response.context["today_appointments"]] == [booking.pk]
    assert response.context["today_appointments"][0].display_status == AppointmentStatus.PENDING


def test_the_stored_status_is_unchanged(checked_in):
    booking, _visit = checked_in
    booking.refresh_from_db()
    assert booking.status == AppointmentStatus.COMPLETED
    assert booking.display_status == CHECKED_IN  # read through the visit when not annotated


def test_the_page_reads_the_visits_in_its_own_query(
    patient_client, checked_in, patient_user, all_day_schedule, receptionist
):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert patient_client.get(MINE).status_code == 200
        return len(queries)

    one = count()
    for _ in range(3):
        booking = book_appointment(
            by=patient_user,
            department=ScheduleFactory(
                work_date=all_day_schedule.work_date, time_slot="full_day"
            ).department,
            expected_time=timezone.now(),
        )
        check_in(
            appointment_id=booking.pk, phone=booking.phone, id_card=booking.id_card, by=receptionist
        )
    assert count() == one


def test_the_detail_page_says_checked_in(patient_client, checked_in):
    booking, _visit = checked_in
    html = patient_client.get(reverse("appointments:detail", args=[booking.pk])).content.decode()
    assert '<span class="badge badge-checked_in">Checked in</span>' in html
