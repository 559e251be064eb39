"""One queue order (Visit.objects.in_queue_order()): call-next, the doctor's page, the API's
doctor queue and the waiting-room display all list a doctor's day in the same order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clinic.models import User
from clinic.tests.factories import (
    DepartmentFactory,
    DoctorUserFactory,
    PatientFactory,
    ReceptionistFactory,
    RoomFactory,
)
from scheduling.models import Schedule, TimeSlot
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import ConsultationInProgress, QueueEmpty
from visits.models import Visit, VisitStatus, schedule_call_order
from visits.selectors import doctor_day, waiting_room_board
from visits.services import call_next
from visits.tests.factories import VisitFactory, diagnosed

pytestmark = pytest.mark.django_db

NOW = clinic_time(9, 30)

# (room, queue number) in the order the doctor works through the day: the morning schedule,
# then the full day, then the afternoon; within each, by queue number.
EXPECTED = [("M1", 1), ("M1", 2), ("M1", 4), ("F1", 1), ("F1", 3), ("A1", 2), ("A1", 5)]


@pytest.fixture(autouse=True)
def clinic_clock() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


@pytest.fixture
def doctor() -> User:
    department = DepartmentFactory(code="IM")
    return DoctorUserFactory(employee__department=department)


def schedule(doctor: User, slot: str, room_number: str) -> Schedule:
    # A morning and a full day overlap, which the planner refuses; the factory does not, and
    # this is the case where the order matters most.
    department = doctor.employee.department
    return ScheduleFactory(
        doctor=doctor.employee,
        department=department,
        room=RoomFactory(department=department, room_number=room_number),
        work_date=WORK_DAY,
        time_slot=slot,
        max_patients=20,
    )


@pytest.fixture
def day(doctor: User) -> dict[str, Schedule]:
    """The afternoon created first and the morning last, so that ids do not decide; the
    visits in a scrambled order, so that insertion does not decide either."""
    schedules = {
        "A1": schedule(doctor, TimeSlot.AFTERNOON, "A1"),
        "F1": schedule(doctor, TimeSlot.FULL_DAY, "F1"),
        "M1": schedule(doctor, TimeSlot.MORNING, "M1"),
    }
    for room, number in [*EXPECTED[::2], *EXPECTED[1::2]][::-1]:
        VisitFactory(
            schedule=schedules[room],
            queue_number=number,
            patient=PatientFactory(name=f"Patient {room}-{number}"),
            check_in_time=clinic_time(8, number),
        )
    # Not in the waiting room: on none of the lists of waiting patients.
    VisitFactory(schedule=schedules["M1"], queue_number=3, status=VisitStatus.CANCELLED)
    VisitFactory(
        schedule=schedules["F1"],
        queue_number=2,
        status=VisitStatus.AWAITING_PAYMENT,
        called_at=clinic_time(8, 40),
    )
    for found in schedules.values():
        set_places_taken(found, 5)
    return schedules


def page_order(client, doctor: User) -> list[tuple[str, int]]:
    """The waiting patients as the doctor's queue page lists them, top to bottom."""
    client.force_login(doctor)
    html = client.get(reverse("visits:doctor-queue")).content.decode()
    order = []
    for section in html.split('<section class="card">')[1:]:
        waiting = re.search(r'<ol class="queue queue-waiting">(.*?)</ol>', section, re.S)
        for name in re.findall(
            r"</strong> Patient (\w+)-(\d+)", waiting.group(1) if waiting else ""
        ):
            order.append((name[0], int(name[1])))
    return order


def api_order(doctor: User) -> list[tuple[str, int]]:
    client = APIClient()
    client.force_authenticate(doctor)
    response = client.get("/api/doctor/queue", {"status": VisitStatus.WAITING})
    assert response.status_code == 200
    return [(row["room_number"], row["queue_number"]) for row in response.json()["results"]]


def display_order(client) -> list[tuple[str, int]]:
    """The waiting-room screen, room by room as it shows them, each room's next numbers."""
    from clinic.models import Department
    from clinic.tests.factories import AdminUserFactory
    from visits.displays import create_display_token

    _token, key = create_display_token(
        name="Hall", department=Department.objects.get(code="IM"), by=AdminUserFactory()
    )
    url = reverse("display:department", args=["IM"])
    html = client.get(f"{url}?key={key}", follow=True).content.decode()
    order = []
    for room in html.split('<section class="display-room">')[1:]:
        number = re.search(r"<h2>[^<]* (\w+) <span class=\"display-doctor\">", room).group(1)
        order += [(number, int(n)) for n in re.findall(r'display-next-number">(\d+)<', room)]
    return order


def call_next_order(doctor: User) -> list[tuple[str, int]]:
    """Whom call_next() calls, one after the other, each sent to pay before the next call."""
    called = []
    while True:
        try:
            visit = call_next(by=doctor, now=NOW)
        except QueueEmpty:
            return called
        called.append((visit.schedule.room.room_number, visit.queue_number))
        diagnosed(visit).finish_consultation(by=doctor, now=NOW)


def test_call_next_the_page_the_api_and_the_display_list_the_same_order(client, doctor, day):
    page, api, display = page_order(client, doctor), api_order(doctor), display_order(client)
    called = call_next_order(doctor)

    assert page == EXPECTED
    assert api == EXPECTED
    assert display == EXPECTED
    assert called == EXPECTED


def test_the_page_marks_next_the_one_call_next_calls(doctor, day):
    next_up = doctor_day(doctor, day=WORK_DAY).next_up
    assert (next_up.schedule.room.room_number, next_up.queue_number) == EXPECTED[0]
    assert call_next(by=doctor, now=NOW) == next_up


def test_those_in_consultation_are_listed_by_when_they_were_called(client, doctor, day):
    desk = ReceptionistFactory()
    # Called in the opposite of the waiting order: the afternoon's patient first.
    later, earlier = (
        Visit.objects.get(schedule=day["M1"], queue_number=1),
        Visit.objects.get(schedule=day["A1"], queue_number=2),
    )
    earlier.start_consultation(by=desk, now=clinic_time(9, 0))
    later.start_consultation(by=desk, now=clinic_time(9, 10))

    assert doctor_day(doctor, day=WORK_DAY).in_consultation == [earlier, later]
    client.force_login(doctor)
    html = client.get(reverse("visits:doctor-queue")).content.decode()
    assert html.index("Patient A1-2") < html.index("Patient M1-1")
    api = APIClient()
    api.force_authenticate(doctor)
    rows = api.get("/api/doctor/queue", {"status": VisitStatus.IN_CONSULTATION}).json()
    assert [row["id"] for row in rows["results"]] == [earlier.pk, later.pk]
    # Without a filter the queue reads top to bottom: those called, by when, then the
    # waiting room in call order.
    everyone = api.get("/api/doctor/queue").json()["results"]
    called = [(row["room_number"], row["queue_number"]) for row in everyone if row["called_at"]]
    assert called == [("F1", 2), ("A1", 2), ("M1", 1)]
    boards = {
        room.room_number: [entry.queue_number for entry in room.now_seeing]
        for room in waiting_room_board(department=day["M1"].department, now=NOW)
    }
    assert boards == {"M1": [1], "F1": [], "A1": [2]}
    with pytest.raises(ConsultationInProgress) as refused:
        call_next(by=doctor, now=NOW)
    assert refused.value.details["visit"] == earlier.pk


def test_schedules_of_one_slot_go_by_id(client, doctor, day):
    """A department's rooms on the display: by slot start, then the older schedule first."""
    other = DoctorUserFactory(employee__department=doctor.employee.department)
    later = schedule(other, TimeSlot.MORNING, "B0")  # a lower room number, a higher id
    VisitFactory(schedule=later, queue_number=1)
    ordered = Schedule.objects.filter(work_date=WORK_DAY).order_by(*schedule_call_order())
    assert [found.room.room_number for found in ordered] == ["M1", "B0", "F1", "A1"]
    assert display_order(client)[:4] == [("M1", 1), ("M1", 2), ("M1", 4), ("B0", 1)]


def test_the_page_and_the_display_read_the_day_in_a_fixed_number_of_queries(
    doctor, day, django_assert_num_queries
):
    # The doctor's day: schedules, visits with their patients, the patients' allergies.
    with django_assert_num_queries(3):
        queues = doctor_day(doctor, day=WORK_DAY)
        assert queues.waiting_count == len(EXPECTED)
    # The display: schedules, their visits; then the rooms' next expected waits (the queues,
    # the doctors' last consultations, the department's when a doctor has too few).
    with django_assert_num_queries(5):
        boards = waiting_room_board(department=day["M1"].department, now=NOW)
        assert sum(board.waiting_count for board in boards) == len(EXPECTED)
