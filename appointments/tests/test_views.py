"""The patient booking site: booking with live availability, my appointments, cancelling."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

BOOK = reverse("appointments:book")
MINE = reverse("appointments:my-appointments")
TOMORROW = timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def schedule():
    return ScheduleFactory(work_date=TOMORROW, max_patients=3)


@pytest.fixture
def patient_client(client, patient_user):
    client.force_login(patient_user)
    return client


def booking_data(schedule, **overrides):
    data = {
        "department": schedule.department.pk,
        "date": schedule.work_date.isoformat(),
        "window": "08:00-12:00",
        "doctor": "",
    }
    data.update(overrides)
    return data


def fill(schedule) -> None:
    """Take every place of a schedule (and of its windows)."""
    schedule.windows.update(used=F("quota"))
    schedule.current_patients = schedule.max_patients
    schedule.save(update_fields=["current_patients"])


def held(schedule) -> int:
    schedule.refresh_from_db()
    return schedule.current_patients


class TestBookingPage:
    def test_full_page_and_htmx_partial_from_the_same_url(self, patient_client, schedule):
        params = {"department": schedule.department.pk, "date": TOMORROW.isoformat()}
        page = patient_client.get(BOOK, params)
        partial = patient_client.get(BOOK, params, headers={"HX-Request": "true"})
        assert page.status_code == partial.status_code == 200
        page_html, partial_html = page.content.decode(), partial.content.decode()
        assert "<html" in page_html and "<html" not in partial_html
        assert partial_html.strip().startswith('<div id="availability"')
        assert "3 places left" in partial_html or "3 个名额" in partial_html
        assert schedule.doctor.name in partial_html

    def test_full_windows_are_shown_as_full_not_hidden(self, patient_client, schedule):
        fill(schedule)
        params = {"department": schedule.department.pk, "date": TOMORROW.isoformat()}
        html = patient_client.get(BOOK, params, headers={"Accept-Language": "en"}).content.decode()
        assert "Full" in html
        assert 'value="08:00-12:00" disabled' in html

    def test_availability_changes_after_a_booking(self, patient_client, schedule):
        params = {"department": schedule.department.pk, "date": TOMORROW.isoformat()}
        patient_client.post(BOOK, booking_data(schedule))
        html = patient_client.get(
            BOOK, params, headers={"HX-Request": "true", "Accept-Language": "en"}
        ).content.decode()
        assert "2 places left" in html

    def test_booking_redirects_to_the_confirmation(self, patient_client, patient_user, schedule):
        response = patient_client.post(BOOK, booking_data(schedule))
        appointment = Appointment.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("appointments:detail", args=[appointment.pk])
        assert appointment.patient == patient_user.patient
        assert held(schedule) == 1
        page = patient_client.get(response["Location"]).content.decode()
        for expected in (appointment.reference, schedule.doctor.name, schedule.room.room_number):
            assert expected in page

    def test_choosing_a_doctor(self, patient_client, schedule):
        other = ScheduleFactory(
            doctor=DoctorFactory(department=schedule.department),
            department=schedule.department,
            room=RoomFactory(department=schedule.department),
            work_date=TOMORROW,
            max_patients=1,
        )
        patient_client.post(BOOK, booking_data(schedule, doctor=other.doctor.pk))
        assert Appointment.objects.get().schedule == other

    def test_no_capacity_offers_alternatives_as_one_click_choices(self, patient_client, schedule):
        fill(schedule)
        ScheduleFactory(
            doctor=schedule.doctor,
            department=schedule.department,
            room=schedule.room,
            work_date=TOMORROW,
            time_slot="afternoon",
        )
        response = patient_client.post(BOOK, booking_data(schedule))
        assert response.status_code == 409
        html = response.content.decode()
        assert 'name="window" value="13:30-17:30"' in html
        assert f'name="date" value="{TOMORROW.isoformat()}"' in html
        assert not Appointment.objects.exists()
        one_click = booking_data(schedule, window="13:30-17:30")
        assert patient_client.post(BOOK, one_click).status_code == 302

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"date": (timezone.localdate() - dt.timedelta(days=1)).isoformat()}, "date"),
            ({"date": (timezone.localdate() + dt.timedelta(days=31)).isoformat()}, "date"),
            ({"date": "not-a-date"}, "date"),
            ({"window": "night"}, "window"),
            ({"window": "10:00-09:00"}, "window"),
            ({"window": ""}, "window"),
            ({"window": "21:00-21:30"}, "window"),
            ({"department": "999999"}, "department"),
            ({"department": "abc"}, "department"),
            ({"doctor": "999999"}, "doctor"),
        ],
    )
    def test_bad_input_gives_a_field_error_and_changes_nothing(
        self, patient_client, schedule, overrides, field
    ):
        response = patient_client.post(BOOK, booking_data(schedule, **overrides))
        assert response.status_code == 400
        assert field in response.context["form"].errors
        assert not Appointment.objects.exists()
        assert held(schedule) == 0

    def test_a_doctor_of_another_department_is_refused(self, patient_client, schedule):
        response = patient_client.post(BOOK, booking_data(schedule, doctor=DoctorFactory().pk))
        assert response.status_code == 400
        assert "doctor" in response.context["form"].errors
        assert not Appointment.objects.exists()

    def test_a_department_without_schedules_that_day(self, patient_client, schedule):
        data = booking_data(schedule, date=(TOMORROW + dt.timedelta(days=1)).isoformat())
        response = patient_client.post(BOOK, data)
        assert response.status_code == 409
        assert response.context["form"].non_field_errors()
        assert not Appointment.objects.exists()

    def test_an_ended_slot_is_refused(self, patient_client, settings):
        today = ScheduleFactory(work_date=timezone.localdate(), time_slot="morning")
        settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(0, 1))
        response = patient_client.post(BOOK, booking_data(today))
        assert response.status_code == 400
        assert "window" in response.context["form"].errors
        assert held(today) == 0

    def test_a_duplicate_live_booking_is_refused(self, patient_client, schedule):
        patient_client.post(BOOK, booking_data(schedule))
        response = patient_client.post(BOOK, booking_data(schedule))
        assert response.status_code == 409
        assert Appointment.objects.count() == 1
        assert held(schedule) == 1

    def test_csrf_is_enforced(self, patient_user, schedule):
        client = Client(enforce_csrf_checks=True)
        client.force_login(patient_user)
        assert client.post(BOOK, booking_data(schedule)).status_code == 403
        assert not Appointment.objects.exists()


class TestMyAppointments:
    def test_upcoming_and_past_are_listed_apart(self, patient_client, patient_user, schedule):
        upcoming = AppointmentFactory(schedule=schedule, patient=patient_user.patient)
        past = AppointmentFactory(
            schedule=schedule, patient=patient_user.patient, status=AppointmentStatus.CANCELLED
        )
        response = patient_client.get(MINE)
        assert [a.pk for a in response.context["upcoming"]] == [upcoming.pk]
        assert [a.pk for a in response.context["past"]] == [past.pk]

    def test_only_own_appointments_are_listed(self, patient_client, other_patient_user, schedule):
        theirs = AppointmentFactory(schedule=schedule, patient=other_patient_user.patient)
        assert theirs.reference not in patient_client.get(MINE).content.decode()

    def test_query_count_does_not_grow_with_appointments(self, patient_client, patient_user):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert patient_client.get(MINE).status_code == 200
            return len(queries)

        AppointmentFactory.create_batch(3, patient=patient_user.patient)
        with_3 = count()
        AppointmentFactory.create_batch(27, patient=patient_user.patient)
        assert count() == with_3

    @pytest.mark.parametrize("persona", ["receptionist", "doctor", "admin"])
    def test_staff_are_not_shown_patient_pages(self, client, personas, persona, patient_user):
        AppointmentFactory(patient=patient_user.patient)
        client.force_login(personas[persona])
        for url in (MINE, BOOK, reverse("visits:my-visits")):
            assert client.get(url).status_code == 403


class TestDetailAndCancel:
    def test_another_patients_appointment_is_404_everywhere(
        self, patient_client, other_patient_user, schedule
    ):
        theirs = AppointmentFactory(schedule=schedule, patient=other_patient_user.patient)
        schedule.current_patients = 1
        schedule.save(update_fields=["current_patients"])
        for url in (
            reverse("appointments:detail", args=[theirs.pk]),
            reverse("appointments:cancel", args=[theirs.pk]),
        ):
            assert patient_client.get(url).status_code == 404
            assert patient_client.post(url).status_code == 404
        theirs.refresh_from_db()
        assert theirs.status == AppointmentStatus.PENDING
        assert held(schedule) == 1

    def test_an_unknown_id_is_404_too(self, patient_client):
        assert patient_client.get(reverse("appointments:detail", args=[987654])).status_code == 404

    def test_cancel_asks_then_releases_the_place(self, patient_client, schedule):
        patient_client.post(BOOK, booking_data(schedule))
        appointment = Appointment.objects.get()
        url = reverse("appointments:cancel", args=[appointment.pk])
        confirm_page = patient_client.get(url)
        assert confirm_page.status_code == 200
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.PENDING  # a GET changes nothing
        response = patient_client.post(url, {"reason": "Feeling better"})
        assert response.status_code == 302
        appointment.refresh_from_db()
        assert (appointment.status, appointment.cancel_reason) == (
            AppointmentStatus.CANCELLED,
            "Feeling better",
        )
        assert held(schedule) == 0

    def test_cancelling_twice_is_a_clear_error(self, patient_client, patient_user, schedule):
        appointment = AppointmentFactory(
            schedule=schedule, patient=patient_user.patient, status=AppointmentStatus.CANCELLED
        )
        response = patient_client.post(reverse("appointments:cancel", args=[appointment.pk]))
        assert response.status_code == 409
        assert response.context["form"].non_field_errors()

    def test_desk_may_read_any_appointment(self, client, receptionist):
        appointment = AppointmentFactory()
        client.force_login(receptionist)
        assert client.get(reverse("appointments:detail", args=[appointment.pk])).status_code == 200


@pytest.fixture
def windowed():
    """Tomorrow 09:00–10:30 in 30-minute windows, 2 places each; the last kept for the desk."""
    schedule = ScheduleFactory(
        work_date=TOMORROW,
        start_time=dt.time(9, 0),
        end_time=dt.time(10, 30),
        window_minutes=30,
        max_patients=6,
    )
    schedule.windows.filter(start_time=dt.time(10, 0)).update(desk_only=True)
    return schedule


def window_data(schedule, window, **overrides):
    return booking_data(schedule, window=window, **overrides)


class TestBookingByWindow:
    PARAMS = {"headers": {"HX-Request": "true", "Accept-Language": "en"}}

    def availability(self, client, schedule, url=BOOK) -> str:
        params = {"department": schedule.department.pk, "date": TOMORROW.isoformat()}
        return client.get(url, params, **self.PARAMS).content.decode()

    def test_each_window_with_its_free_places_overall_and_per_doctor(
        self, patient_client, windowed
    ):
        other = ScheduleFactory(
            department=windowed.department,
            doctor=DoctorFactory(department=windowed.department),
            room=RoomFactory(department=windowed.department),
            work_date=TOMORROW,
            start_time=dt.time(9, 30),
            end_time=dt.time(10, 0),
            window_minutes=30,
            max_patients=3,
        )
        html = self.availability(patient_client, windowed)
        for label in ("09:00–09:30", "09:30–10:00", "10:00–10:30"):
            assert label in html
        assert 'value="09:30-10:00"' in html
        row = html.split('data-window="09:30-10:00"')[1].split("</label>")[0]
        assert "5 places left" in row
        assert f"{windowed.doctor.name}: 2" in row and f"{other.doctor.name}: 3" in row

    def test_patients_see_a_desk_only_window_as_full(self, patient_client, windowed):
        html = self.availability(patient_client, windowed)
        row = html.split('data-window="10:00-10:30"')[1].split("</label>")[0]
        assert 'value="10:00-10:30" disabled' in row
        assert "Full" in row
        assert "desk only" not in html

    def test_the_desk_sees_and_books_a_desk_only_window(self, client, receptionist, windowed):
        client.force_login(receptionist)
        url = reverse("appointments:phone-booking")
        html = self.availability(client, windowed, url=url)
        row = html.split('data-window="10:00-10:30"')[1].split("</label>")[0]
        assert "disabled" not in row and "2 places left" in row and "desk only" in row
        data = {
            **window_data(windowed, "10:00-10:30"),
            "patient_name": "王五",
            "phone": "13900001111",
            "id_card": "",
        }
        assert client.post(url, data).status_code == 302
        assert Appointment.objects.get().window.start_time == dt.time(10, 0)

    def test_a_patient_cannot_book_a_desk_only_window(self, patient_client, windowed):
        response = patient_client.post(BOOK, window_data(windowed, "10:00-10:30"))
        assert response.status_code == 409
        assert not Appointment.objects.exists()
        assert held(windowed) == 0

    def test_choosing_a_window_books_at_its_start_without_javascript(
        self, patient_client, windowed
    ):
        response = patient_client.post(BOOK, window_data(windowed, "09:30-10:00"))
        assert response.status_code == 302
        appointment = Appointment.objects.get()
        assert timezone.localtime(appointment.expected_time).time() == dt.time(9, 30)
        assert appointment.window.label == "09:30–10:00"
        window = windowed.windows.get(start_time=dt.time(9, 30))
        assert (window.used, held(windowed)) == (1, 1)
        page = patient_client.get(response["Location"]).content.decode()
        assert "09:30–10:00" in page
        assert "09:30–10:00" in patient_client.get(MINE).content.decode()
        html = self.availability(patient_client, windowed)
        assert "1 place left" in html.split('data-window="09:30-10:00"')[1].split("</label>")[0]

    def test_a_full_window_offers_the_next_windows(self, patient_client, windowed):
        windowed.windows.filter(start_time=dt.time(9, 0)).update(used=2)
        windowed.current_patients = 2
        windowed.save(update_fields=["current_patients"])
        response = patient_client.post(BOOK, window_data(windowed, "09:00-09:30"))
        assert response.status_code == 409
        assert 'value="09:30-10:00"' in response.content.decode()

    def test_an_ended_window_is_refused_on_the_form(self, patient_client, schedule):
        today = ScheduleFactory(
            department=schedule.department,
            doctor=schedule.doctor,
            room=schedule.room,
            work_date=timezone.localdate(),
            start_time=dt.time(0, 0),
            end_time=dt.time(0, 5),
            window_minutes=5,
        )
        response = patient_client.post(BOOK, window_data(today, "00:00-00:05"))
        assert response.status_code == 400
        assert "window" in response.context["form"].errors
        assert held(today) == 0

    def test_the_show_button_keeps_the_chosen_window(self, patient_client, windowed):
        data = {**window_data(windowed, "09:30-10:00"), "show": "1"}
        html = patient_client.post(BOOK, data).content.decode()
        assert 'value="09:30-10:00" checked' in html
        assert not Appointment.objects.exists()

    @pytest.mark.parametrize("schedules", [1, 4])
    def test_the_availability_partial_has_a_fixed_number_of_queries(
        self, patient_client, windowed, schedules, django_assert_max_num_queries
    ):
        for _ in range(schedules):
            ScheduleFactory(
                department=windowed.department,
                doctor=DoctorFactory(department=windowed.department),
                room=RoomFactory(department=windowed.department),
                work_date=TOMORROW,
                window_minutes=30,
            )
        # Session and user, the form's department and doctor lookups, then the windows.
        with django_assert_max_num_queries(6):
            self.availability(patient_client, windowed)
