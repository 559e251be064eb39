"""Taking over a new patient's record by registering first (security review, HIGH).

The attack: someone registers online with a victim's name and mobile number. When the victim
first comes to the desk (a walk-in, or the check-in of a phone booking), the desk's matching
used to find the attacker's record by name and phone, write the victim's ID number on it
and queue the visit there, so the attacker read the victim's visits and bills. A record
that an account holds is now never chosen, nor changed, on name and phone; an unverified ID
number on one stops the desk for a look; registering never tells whether someone is known.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from appointments.models import Appointment
from appointments.services import book_appointment
from clinic.models import AuditEvent, Patient, User
from clinic.tests.factories import TEST_PASSWORD, make_resident_id
from scheduling.tests.factories import ScheduleFactory
from visits.models import Visit

pytestmark = pytest.mark.django_db

VICTIM = {"name": "李四", "phone": "13911112222"}
VICTIM_ID = make_resident_id(seed=424_242)


@pytest.fixture
def running_schedule(settings):
    """A full-day schedule of today that takes walk-ins whatever the hour."""
    import datetime as dt

    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    return ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=20)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def register_online(client, username: str, **details) -> None:
    response = client.post(
        reverse("register"),
        {
            "username": username,
            "name": details.get("name", VICTIM["name"]),
            "phone": details.get("phone", VICTIM["phone"]),
            "gender": "male",
            "id_card": details.get("id_card", ""),
            "password1": "lantern-orchid-42",
            "password2": "lantern-orchid-42",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]


def walk_in(desk, schedule, **details):
    return desk.post(
        reverse("visits:walk-in"),
        {
            "name": details.get("name", VICTIM["name"]),
            "phone": details.get("phone", VICTIM["phone"]),
            "id_card": details.get("id_card", VICTIM_ID),
            "id_type": "resident_id",
            "gender": "male",
            "department": schedule.department.pk,
        },
    )


@pytest.fixture
def desk(client, receptionist):
    from django.test import Client

    desk = Client()
    desk.force_login(receptionist)
    return desk


class TestThroughThePages:
    def test_a_walk_in_never_lands_on_the_record_of_an_account_made_with_name_and_phone(
        self, client, desk, running_schedule
    ):
        register_online(client, "attacker")
        attacker_record = Patient.objects.get(user__username="attacker")
        response = walk_in(desk, running_schedule)
        assert response.status_code == 302
        visit = Visit.objects.get()
        assert visit.patient != attacker_record
        assert visit.patient.id_card == VICTIM_ID and visit.patient.id_verified
        attacker_record.refresh_from_db()
        assert attacker_record.id_card is None
        # The attacker's "my visits" shows nothing of the victim.
        assert VICTIM_ID[-4:] not in client.get(reverse("visits:my-visits")).content.decode()
        assert not Visit.objects.filter(patient__user__username="attacker").exists()

    def test_the_victim_then_registers_and_gets_their_own_record(
        self, client, desk, running_schedule
    ):
        register_online(client, "attacker")
        walk_in(desk, running_schedule)
        client.logout()
        register_online(client, "victim", id_card=VICTIM_ID)
        victim = Patient.objects.get(user__username="victim")
        assert victim.id_card == VICTIM_ID
        assert Visit.objects.get().patient == victim

    def test_an_unverified_number_on_an_account_stops_the_desk_and_writes_nothing(
        self, client, desk, running_schedule
    ):
        # The attacker knew the ID number as well.
        register_online(client, "attacker", id_card=VICTIM_ID)
        attacker_record = Patient.objects.get(user__username="attacker")
        response = walk_in(desk, running_schedule)
        assert response.status_code == 409
        assert reverse("visits:patient", args=[attacker_record.pk]) in response.content.decode()
        assert not Visit.objects.exists()
        running_schedule.refresh_from_db()
        assert running_schedule.current_patients == 0
        # With the document in hand, the desk takes the number off the account's record,
        # and the victim is registered on a record of their own.
        desk.post(reverse("visits:patient", args=[attacker_record.pk]), {"action": "withdraw"})
        attacker_record.refresh_from_db()
        assert attacker_record.id_card is None
        assert walk_in(desk, running_schedule).status_code == 302
        assert Visit.objects.get().patient.user is None
        assert AuditEvent.objects.filter(action="patient.id_card_withdrawn").count() == 1

    def test_check_in_of_a_phone_booking_never_lands_on_the_account(
        self, client, desk, receptionist, running_schedule
    ):
        register_online(client, "attacker")
        booking = book_appointment(
            by=receptionist,
            department=running_schedule.department,
            expected_time=timezone.now(),
            patient_name=VICTIM["name"],
            phone=VICTIM["phone"],
        )
        response = desk.post(
            reverse("visits:check-in", args=[booking.pk]),
            {"phone": VICTIM["phone"], "id_card": VICTIM_ID},
        )
        assert response.status_code == 302
        booking.refresh_from_db()
        assert booking.patient.user is None
        assert Visit.objects.get().patient == booking.patient

    def test_a_family_sharing_one_phone_still_works_at_the_desk(
        self, desk, receptionist, running_schedule
    ):
        walk_in(desk, running_schedule, name="王大", id_card="")
        walk_in(desk, running_schedule, name="王小", id_card="")
        assert Patient.objects.filter(phone=VICTIM["phone"]).count() == 2
        # The second visit of one of them comes back to their record (once the first is
        # over: a second walk-in while it is open is refused, AlreadyInQueue).
        Visit.objects.get(patient__name="王大").leave_unseen(by=receptionist)
        walk_in(desk, running_schedule, name="王大", id_card="")
        assert Patient.objects.filter(phone=VICTIM["phone"]).count() == 2
        assert Visit.objects.filter(patient__name="王大").count() == 2


class TestThroughTheAPI:
    def test_the_attack_through_the_api(self, receptionist, running_schedule):
        attacker = APIClient()
        registered = attacker.post(
            "/api/auth/register",
            {
                "username": "attacker",
                "password": "lantern-orchid-42",
                "name": VICTIM["name"],
                "phone": VICTIM["phone"],
                "gender": "male",
            },
            format="json",
        )
        assert registered.status_code == 201
        desk = APIClient()
        desk.force_authenticate(receptionist)
        response = desk.post(
            "/api/receptionist/register",
            {**VICTIM, "dept_id": running_schedule.department.pk, "id_card": VICTIM_ID},
            format="json",
        )
        assert response.status_code == 201
        attacker.credentials(HTTP_AUTHORIZATION=f"Bearer {registered.json()['access']}")
        assert attacker.get("/api/patient/visits").json()["results"] == []

    def test_registering_answers_alike_whether_or_not_the_number_is_known(self):
        PatientFactory_known = Patient.objects.create(
            name="张三", phone="13900001111", id_card=VICTIM_ID, id_verified=True
        )
        answers = []
        for username, id_card in (("first", VICTIM_ID), ("second", make_resident_id(seed=7))):
            response = APIClient().post(
                "/api/auth/register",
                {
                    "username": username,
                    "password": "lantern-orchid-42",
                    "name": "Someone",
                    "phone": "13800002222",
                    "gender": "female",
                    "id_card": id_card,
                },
                format="json",
            )
            assert response.status_code == 201
            answers.append(set(response.json()) | set(response.json()["user"]))
        assert answers[0] == answers[1]
        assert not Patient.objects.filter(user__username="first", id_card=VICTIM_ID).exists()
        assert PatientFactory_known.user is None


class TestDeskLink:
    @pytest.fixture
    def desk_record(self, desk, running_schedule):
        walk_in(desk, running_schedule)
        return Patient.objects.get(id_card=VICTIM_ID)

    def test_link_moves_the_account_and_its_bookings_and_undo_gives_them_back(
        self, client, desk, desk_record, running_schedule
    ):
        register_online(client, "victim")
        online = Patient.objects.get(user__username="victim")
        booking = book_appointment(
            by=User.objects.get(username="victim"),
            department=running_schedule.department,
            expected_time=timezone.now(),
        )
        url = reverse("visits:patient", args=[desk_record.pk])
        wrong = desk.post(
            url,
            {"action": "link", "username": "victim", "id_card": make_resident_id(seed=1),
             "phone": VICTIM["phone"]},
        )  # fmt: skip
        assert wrong.status_code == 400
        desk_record.refresh_from_db()
        assert desk_record.user is None
        done = desk.post(
            url,
            {"action": "link", "username": "victim", "id_card": VICTIM_ID,
             "phone": VICTIM["phone"]},
        )  # fmt: skip
        assert done.status_code == 302
        desk_record.refresh_from_db()
        online.refresh_from_db()
        assert desk_record.user.username == "victim" and online.user is None
        assert Appointment.objects.get(pk=booking.pk).patient == desk_record
        # The victim's account now shows the visit the desk registered.
        client.force_login(User.objects.get(username="victim"))
        assert desk_record.name in client.get(reverse("visits:my-visits")).content.decode()
        event = AuditEvent.objects.get(action="patient.account_linked", patient=desk_record)
        assert event.new_values["from_record"] == online.pk
        # The desk sees the link and undoes it.
        assert "victim" in desk.get(reverse("visits:patients")).content.decode()
        assert desk.post(url, {"action": "unlink"}).status_code == 302
        desk_record.refresh_from_db()
        online.refresh_from_db()
        assert desk_record.user is None and online.user.username == "victim"
        assert AuditEvent.objects.filter(action="patient.account_unlinked").count() == 1

    def test_only_the_desk_links(self, client, patient_user, desk_record):
        client.force_login(patient_user)
        url = reverse("visits:patient", args=[desk_record.pk])
        assert client.post(url, {"action": "unlink"}).status_code == 403


def test_the_registration_page_is_rate_limited_per_address(client, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/minute"})
    statuses = [
        client.post(reverse("register"), {"username": f"u{n}"}).status_code for n in range(4)
    ]
    assert statuses[:3] == [400, 400, 400]
    assert statuses[3] == 429
    assert not User.objects.exists()
    assert TEST_PASSWORD  # the factories' password is not what this test needs
