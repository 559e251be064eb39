"""The waitlist's pages: join from a full booking, offers on my appointments, the desk's
list per slot; and the API mirrors."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, WaitlistEntry, WaitlistStatus
from clinic.tests.factories import PatientUserFactory
from scheduling.tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

BOOK = reverse("appointments:book")
MINE = reverse("appointments:my-appointments")
TOMORROW = timezone.localdate() + dt.timedelta(days=1)


@pytest.fixture
def schedule():
    schedule = ScheduleFactory(work_date=TOMORROW, max_patients=1)
    schedule.windows.update(used=F("quota"))
    schedule.current_patients = 1
    schedule.save(update_fields=["current_patients"])
    return schedule


@pytest.fixture
def booked(schedule):
    """The one place, held by a real booking that can be cancelled."""
    from appointments.tests.factories import AppointmentFactory

    return AppointmentFactory(schedule=schedule, patient=PatientUserFactory().patient)


def booking_data(schedule, **overrides):
    data = {
        "department": schedule.department.pk,
        "date": schedule.work_date.isoformat(),
        "window": "08:00-12:00",
        "doctor": "",
    }
    data.update(overrides)
    return data


def join(client, schedule):
    return client.post(reverse("appointments:waitlist-join"), booking_data(schedule))


class TestPatientPages:
    def test_a_full_window_offers_to_join_the_waitlist(self, client, patient_user, schedule):
        client.force_login(patient_user)
        response = client.post(BOOK, booking_data(schedule))
        assert response.status_code == 409
        assert b'id="join-waitlist"' in response.content
        assert schedule.work_date.isoformat().encode() + " 08:00–12:00".encode() in response.content
        assert reverse("appointments:waitlist-join").encode() in response.content

    def test_joining_puts_the_patient_on_the_list(self, client, patient_user, schedule):
        client.force_login(patient_user)
        response = join(client, schedule)
        assert response.status_code == 302
        entry = WaitlistEntry.objects.get()
        assert entry.patient == patient_user.patient
        assert entry.status == WaitlistStatus.WAITING
        page = client.get(MINE)
        assert f'id="waitlist-entry-{entry.pk}"'.encode() in page.content
        assert f'id="leave-waitlist-{entry.pk}"'.encode() in page.content

    def test_joining_with_places_free_goes_back_to_booking(self, client, patient_user, schedule):
        schedule.windows.update(used=0)
        client.force_login(patient_user)
        response = join(client, schedule)
        assert response.status_code == 302
        assert response["Location"].startswith(BOOK)
        assert not WaitlistEntry.objects.exists()

    def test_join_is_post_only(self, client, patient_user):
        client.force_login(patient_user)
        assert client.get(reverse("appointments:waitlist-join")).status_code == 405

    def test_the_desk_cannot_use_the_patients_join(self, client, receptionist, schedule):
        client.force_login(receptionist)
        assert join(client, schedule).status_code == 403

    def test_an_offer_is_shown_and_accepted(self, client, patient_user, schedule, booked):
        client.force_login(patient_user)
        join(client, schedule)
        booked.cancel(by=booked.patient.user)
        entry = WaitlistEntry.objects.get()
        assert entry.status == WaitlistStatus.OFFERED
        page = client.get(MINE)
        assert f'id="accept-offer-{entry.pk}"'.encode() in page.content
        response = client.post(reverse("appointments:waitlist-accept", args=[entry.pk]))
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.ACCEPTED
        assert response.status_code == 302
        assert response["Location"] == reverse("appointments:detail", args=[entry.appointment_id])
        assert entry.appointment.patient == patient_user.patient

    def test_declining_with_htmx_answers_the_section(self, client, patient_user, schedule, booked):
        client.force_login(patient_user)
        join(client, schedule)
        booked.cancel(by=booked.patient.user)
        entry = WaitlistEntry.objects.get()
        response = client.post(
            reverse("appointments:waitlist-decline", args=[entry.pk]), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert b'id="waitlist"' in response.content
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.DECLINED

    def test_an_expired_offer_cannot_be_accepted(self, client, patient_user, schedule, booked):
        client.force_login(patient_user)
        join(client, schedule)
        booked.cancel(by=booked.patient.user)
        entry = WaitlistEntry.objects.get()
        WaitlistEntry.objects.filter(pk=entry.pk).update(
            offer_expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        url = reverse("appointments:waitlist-accept", args=[entry.pk])
        response = client.post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 409
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.OFFERED

    def test_another_patients_entry_is_not_found(self, client, patient_user, schedule):
        client.force_login(patient_user)
        join(client, schedule)
        entry = WaitlistEntry.objects.get()
        client.force_login(PatientUserFactory())
        for name in ("waitlist-accept", "waitlist-decline", "waitlist-leave"):
            assert client.post(reverse(f"appointments:{name}", args=[entry.pk])).status_code == 404
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.WAITING

    def test_leaving(self, client, patient_user, schedule):
        client.force_login(patient_user)
        join(client, schedule)
        entry = WaitlistEntry.objects.get()
        response = client.post(reverse("appointments:waitlist-leave", args=[entry.pk]))
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.CANCELLED


class TestDeskPages:
    def caller(self, schedule):
        return booking_data(schedule, patient_name="Caller Wang", phone="13800001111", id_card="")

    def test_phone_booking_of_a_full_window_offers_the_waitlist(
        self, client, receptionist, schedule
    ):
        client.force_login(receptionist)
        response = client.post(reverse("appointments:phone-booking"), self.caller(schedule))
        assert response.status_code == 409
        assert reverse("appointments:desk-waitlist-join").encode() in response.content
        assert b'value="Caller Wang"' in response.content

    def test_the_desk_puts_a_caller_on_the_list_and_sees_it(self, client, receptionist, schedule):
        client.force_login(receptionist)
        response = client.post(reverse("appointments:desk-waitlist-join"), self.caller(schedule))
        entry = WaitlistEntry.objects.get()
        assert entry.patient is None and entry.patient_name == "Caller Wang"
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert f'id="waitlist-entry-{entry.pk}"'.encode() in page.content
        assert f'id="desk-cancel-{entry.pk}"'.encode() in page.content

    def test_the_desk_accepts_for_a_caller(self, client, receptionist, schedule, booked):
        client.force_login(receptionist)
        client.post(reverse("appointments:desk-waitlist-join"), self.caller(schedule))
        booked.cancel(by=receptionist)
        entry = WaitlistEntry.objects.get()
        response = client.post(reverse("appointments:desk-waitlist-accept", args=[entry.pk]))
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.ACCEPTED
        assert entry.appointment.patient_name == "Caller Wang"

    def test_the_desk_takes_someone_off(self, client, receptionist, schedule):
        client.force_login(receptionist)
        client.post(reverse("appointments:desk-waitlist-join"), self.caller(schedule))
        entry = WaitlistEntry.objects.get()
        client.post(reverse("appointments:desk-waitlist-cancel", args=[entry.pk]))
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.CANCELLED

    def test_the_desk_page_without_a_department(self, client, receptionist):
        client.force_login(receptionist)
        assert client.get(reverse("appointments:desk-waitlist")).status_code == 200

    def test_patients_cannot_see_the_desk_list(self, client, patient_user):
        client.force_login(patient_user)
        assert client.get(reverse("appointments:desk-waitlist")).status_code == 403


API = "/api/"


class TestApi:
    def body(self, schedule, **extra):
        return {
            "dept_id": schedule.department.pk,
            "expected_time": f"{schedule.work_date.isoformat()}T09:00:00",
            **extra,
        }

    def test_a_patient_joins_lists_and_leaves(self, client, patient_user, schedule):
        client.force_login(patient_user)
        response = client.post(
            f"{API}patient/waitlist", self.body(schedule), content_type="application/json"
        )
        assert response.status_code == 201, response.content
        entry_id = response.json()["id"]
        assert response.json()["status"] == "waiting"
        listed = client.get(f"{API}patient/waitlist").json()
        assert [row["id"] for row in listed["results"]] == [entry_id]
        gone = client.delete(f"{API}patient/waitlist/{entry_id}")
        assert gone.status_code == 200
        assert gone.json()["status"] == "cancelled"

    def test_join_with_places_free_is_a_409(self, client, patient_user, schedule):
        schedule.windows.update(used=0)
        client.force_login(patient_user)
        response = client.post(
            f"{API}patient/waitlist", self.body(schedule), content_type="application/json"
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "places_free"

    def test_accept_and_expired_offer(self, client, patient_user, schedule, booked):
        client.force_login(patient_user)
        entry_id = client.post(
            f"{API}patient/waitlist", self.body(schedule), content_type="application/json"
        ).json()["id"]
        booked.cancel(by=booked.patient.user)
        WaitlistEntry.objects.filter(pk=entry_id).update(
            offer_expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
        refused = client.post(f"{API}patient/waitlist/{entry_id}/accept")
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "offer_expired"
        WaitlistEntry.objects.filter(pk=entry_id).update(
            offer_expires_at=timezone.now() + dt.timedelta(minutes=5)
        )
        accepted = client.post(f"{API}patient/waitlist/{entry_id}/accept")
        assert accepted.status_code == 201, accepted.content
        appointment = Appointment.objects.get(pk=accepted.json()["id"])
        assert appointment.status == AppointmentStatus.PENDING
        assert appointment.patient == patient_user.patient

    def test_decline(self, client, patient_user, schedule, booked):
        client.force_login(patient_user)
        entry_id = client.post(
            f"{API}patient/waitlist", self.body(schedule), content_type="application/json"
        ).json()["id"]
        booked.cancel(by=booked.patient.user)
        declined = client.post(f"{API}patient/waitlist/{entry_id}/decline")
        assert declined.status_code == 200
        assert declined.json()["status"] == "declined"

    def test_the_desk_joins_a_caller_filters_accepts_and_cancels(
        self, client, receptionist, schedule, booked
    ):
        client.force_login(receptionist)
        made = client.post(
            f"{API}receptionist/waitlist",
            self.body(schedule, patient_name="Caller Li", phone="13800002222"),
            content_type="application/json",
        )
        assert made.status_code == 201, made.content
        entry_id = made.json()["id"]
        listed = client.get(
            f"{API}receptionist/waitlist",
            {"dept_id": schedule.department.pk, "date": schedule.work_date.isoformat()},
        )
        assert [row["id"] for row in listed.json()["results"]] == [entry_id]
        booked.cancel(by=receptionist)
        accepted = client.post(f"{API}receptionist/waitlist/{entry_id}/accept")
        assert accepted.status_code == 201, accepted.content
        assert accepted.json()["patient_name"] == "Caller Li"
        refused = client.post(f"{API}receptionist/waitlist/{entry_id}/cancel")
        assert refused.status_code == 409

    def test_a_patient_cannot_use_the_desk_routes(self, client, patient_user):
        client.force_login(patient_user)
        assert client.get(f"{API}receptionist/waitlist").status_code == 403


class TestAdmin:
    def test_the_list_and_the_take_off_action(self, client, admin_user, receptionist, schedule):
        client.force_login(receptionist)
        client.post(
            reverse("appointments:desk-waitlist-join"),
            booking_data(schedule, patient_name="Caller Zhao", phone="13800003333", id_card=""),
        )
        entry = WaitlistEntry.objects.get()
        client.force_login(admin_user)
        url = reverse("admin:appointments_waitlistentry_changelist")
        page = client.get(url)
        assert page.status_code == 200
        assert b"Caller Zhao" in page.content
        response = client.post(
            url,
            {"action": "take_off_the_waitlist", "_selected_action": [entry.pk]},
        )
        assert response.status_code == 302
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.CANCELLED
        assert (
            client.get(
                reverse("admin:appointments_waitlistentry_change", args=[entry.pk])
            ).status_code
            == 200
        )


def test_the_desk_list_reads_in_a_fixed_number_of_queries(client, receptionist, schedule):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(receptionist)
    url = (
        f"{reverse('appointments:desk-waitlist')}?department={schedule.department_id}"
        f"&date={schedule.work_date.isoformat()}&slot=morning"
    )

    def queries_with(callers: int) -> int:
        for n in range(WaitlistEntry.objects.count(), WaitlistEntry.objects.count() + callers):
            client.post(
                reverse("appointments:desk-waitlist-join"),
                booking_data(
                    schedule, patient_name=f"Caller {n}", phone=f"1380000{n:04d}", id_card=""
                ),
            )
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    one = queries_with(1)
    assert queries_with(3) == one
    assert WaitlistEntry.objects.count() == 4
