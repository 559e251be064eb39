"""The week planner: a week from a pattern, last week copied forward, the clinic's rules per
schedule, and nothing created when any schedule is invalid (unless asked)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from clinic.exceptions import PermissionDenied
from clinic.models import EmployeeStatus, Room
from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
from scheduling.models import Schedule, TimeSlot
from scheduling.services import BatchMode, monday_of, save_schedule_batch
from scheduling.tests.factories import ScheduleFactory
from tests.support import audit_trail

pytestmark = pytest.mark.django_db

PLANNER = reverse("scheduling:planner")
COPY_WEEK = reverse("scheduling:copy-week")
MONDAY = dt.date(2030, 3, 4)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def department():
    return DepartmentFactory()


@pytest.fixture
def doctor(department):
    return DoctorFactory(department=department)


@pytest.fixture
def room(department):
    return RoomFactory(department=department)


def pattern(*rows: dict, week: dt.date = MONDAY, mode: str = BatchMode.ALL_OR_NOTHING) -> dict:
    data = {
        "week": week.isoformat(),
        "mode": mode,
        "pattern-TOTAL_FORMS": str(len(rows)),
        "pattern-INITIAL_FORMS": "0",
        "pattern-MIN_NUM_FORMS": "0",
        "pattern-MAX_NUM_FORMS": "40",
    }
    for index, row in enumerate(rows):
        for name, value in row.items():
            data[f"pattern-{index}-{name}"] = value
    return data


def row(doctor, room, weekdays=(0, 2), slots=(TimeSlot.MORNING, TimeSlot.AFTERNOON), places=12):
    return {
        "doctor": str(doctor.pk),
        "room": str(room.pk),
        "weekdays": [str(day) for day in weekdays],
        "time_slots": list(slots),
        "max_patients": str(places),
    }


def planned() -> list[tuple]:
    return list(
        Schedule.objects.order_by("work_date", "time_slot").values_list(
            "work_date", "time_slot", "doctor_id", "room_id", "max_patients", "current_patients"
        )
    )


class TestAccess:
    @pytest.mark.parametrize("url", [PLANNER, COPY_WEEK])
    @pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
    def test_only_administrators_plan(self, client, personas, persona, url, doctor, room):
        client.force_login(personas[persona])
        assert client.get(url).status_code == 403
        assert client.post(url, pattern(row(doctor, room))).status_code == 403
        assert not Schedule.objects.exists()

    @pytest.mark.parametrize("url", [PLANNER, COPY_WEEK])
    def test_anonymous_visitors_log_in_first(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_the_pages_open_on_next_week(self, admin_client):
        for url in (PLANNER, COPY_WEEK):
            response = admin_client.get(url)
            assert response.status_code == 200
            week = response.context["week_form" if url == PLANNER else "form"]["week"].value()
            assert week.weekday() == 0


class TestPattern:
    def test_a_pattern_creates_its_week(self, admin_client, doctor, room):
        response = admin_client.post(PLANNER, pattern(row(doctor, room)))
        assert response.status_code == 200
        assert planned() == [
            (MONDAY, "afternoon", doctor.pk, room.pk, 12, 0),
            (MONDAY, "morning", doctor.pk, room.pk, 12, 0),
            (WEDNESDAY, "afternoon", doctor.pk, room.pk, 12, 0),
            (WEDNESDAY, "morning", doctor.pk, room.pk, 12, 0),
        ]
        result = response.context["result"]
        assert (result.created, result.invalid) == (4, 0)
        assert all(
            schedule.department_id == doctor.department_id for schedule in Schedule.objects.all()
        )

    def test_any_day_of_the_week_plans_from_its_monday(self, admin_client, doctor, room):
        admin_client.post(
            PLANNER,
            pattern(
                row(doctor, room, weekdays=(0,), slots=("morning",)),
                week=MONDAY + dt.timedelta(days=4),
            ),
        )
        assert planned() == [(MONDAY, "morning", doctor.pk, room.pk, 12, 0)]

    def test_checking_creates_nothing(self, admin_client, doctor, room):
        response = admin_client.post(PLANNER, pattern(row(doctor, room), mode=BatchMode.CHECK))
        assert response.status_code == 200
        assert not Schedule.objects.exists()
        result = response.context["result"]
        assert (len(result.rows), result.valid, result.created) == (4, 4, 0)

    def test_an_overlap_with_an_existing_schedule_creates_nothing(self, admin_client, doctor, room):
        existing = ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            work_date=WEDNESDAY,
            time_slot=TimeSlot.FULL_DAY,
        )
        response = admin_client.post(PLANNER, pattern(row(doctor, room)))
        assert response.status_code == 400
        assert list(Schedule.objects.all()) == [existing]
        result = response.context["result"]
        assert (result.valid, result.invalid, result.created) == (2, 2, 0)
        assert "Nothing was created: 2 of 4 schedules have problems." in response.content.decode()
        wednesday = [r for r in result.rows if r.schedule.work_date == WEDNESDAY]
        assert all(r.errors for r in wednesday)
        assert any(doctor.name in message for r in wednesday for message in r.errors)

    def test_creating_the_valid_ones_leaves_out_the_overlaps(self, admin_client, doctor, room):
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            work_date=WEDNESDAY,
            time_slot=TimeSlot.FULL_DAY,
        )
        response = admin_client.post(PLANNER, pattern(row(doctor, room), mode=BatchMode.VALID_ONLY))
        assert response.status_code == 200
        assert [(day, slot) for day, slot, *_ in planned()] == [
            (MONDAY, "afternoon"),
            (MONDAY, "morning"),
            (WEDNESDAY, "full_day"),
        ]
        assert response.context["result"].created == 2

    def test_lines_of_one_pattern_are_checked_against_each_other(
        self, admin_client, doctor, room, department
    ):
        other_room = RoomFactory(department=department)
        data = pattern(
            row(doctor, room, weekdays=(0,), slots=("morning",)),
            row(doctor, other_room, weekdays=(0,), slots=("full_day",)),
        )
        response = admin_client.post(PLANNER, data)
        assert response.status_code == 400
        assert not Schedule.objects.exists()
        [full_day] = [
            r for r in response.context["result"].rows if r.schedule.time_slot == "full_day"
        ]
        assert full_day.errors

    def test_a_room_of_another_department_is_a_field_error(self, admin_client, doctor):
        foreign_room = RoomFactory()
        response = admin_client.post(PLANNER, pattern(row(doctor, foreign_room, weekdays=(0,))))
        assert response.status_code == 400
        assert not Schedule.objects.exists()
        assert response.context["result"] is None
        line = response.context["formset"].forms[0]
        assert line.errors == {"room": ["The room belongs to another department."]}

    def test_a_room_of_another_department_is_still_refused_per_schedule(self, doctor, admin_user):
        # The rule itself is the schedule's, whatever the door (API, Django Admin, a batch).
        foreign = Schedule(
            department=doctor.department,
            doctor=doctor,
            room=RoomFactory(),
            work_date=MONDAY,
            time_slot=TimeSlot.MORNING,
            max_patients=5,
        )
        result = save_schedule_batch(schedules=[foreign], mode=BatchMode.VALID_ONLY, by=admin_user)
        assert result.rows[0].errors == ["The room belongs to another department."]
        assert not Schedule.objects.exists()

    def test_an_empty_pattern_is_a_form_error(self, admin_client):
        response = admin_client.post(PLANNER, pattern())
        assert response.status_code == 400
        assert response.context["formset"].non_form_errors()
        assert not Schedule.objects.exists()

    def test_a_line_without_a_room_is_a_form_error(self, admin_client, doctor, room):
        data = pattern(row(doctor, room))
        data["pattern-0-room"] = ""
        response = admin_client.post(PLANNER, data)
        assert response.status_code == 400
        assert not Schedule.objects.exists()

    def test_a_get_shows_choices_read_once(
        self, admin_client, doctor, room, django_assert_max_num_queries
    ):
        # Session, user, the doctors and the rooms once for all the lines, the proposed
        # week, the week's schedules (one query however many: see test_planner_grid.py) and
        # the header's name of the signed-in user.
        with django_assert_max_num_queries(7):
            assert admin_client.get(PLANNER).status_code == 200


class TestCopyWeek:
    def test_last_weeks_schedules_are_copied_one_week_on(self, admin_client, doctor, room):
        source = MONDAY - dt.timedelta(days=7)
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=source,
            max_patients=8,
            current_patients=3,
        )
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=source + dt.timedelta(days=6),
            time_slot=TimeSlot.FULL_DAY,
        )
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=MONDAY - dt.timedelta(days=8),
        )  # not last week
        response = admin_client.post(
            COPY_WEEK, {"week": WEDNESDAY.isoformat(), "mode": BatchMode.ALL_OR_NOTHING}
        )
        assert response.status_code == 200
        copies = Schedule.objects.filter(work_date__gte=MONDAY).order_by("work_date")
        assert [(s.work_date, s.time_slot, s.max_patients, s.current_patients) for s in copies] == [
            (MONDAY, "morning", 8, 0),
            (MONDAY + dt.timedelta(days=6), "full_day", 10, 0),
        ]

    def test_copying_twice_creates_nothing_the_second_time(self, admin_client, doctor, room):
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=MONDAY - dt.timedelta(days=7),
        )
        data = {"week": MONDAY.isoformat(), "mode": BatchMode.ALL_OR_NOTHING}
        assert admin_client.post(COPY_WEEK, data).status_code == 200
        response = admin_client.post(COPY_WEEK, data)
        assert response.status_code == 400
        assert Schedule.objects.count() == 2

    def test_a_doctor_on_leave_now_is_reported(self, admin_client, doctor, room):
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=MONDAY - dt.timedelta(days=7),
        )
        doctor.status = EmployeeStatus.ON_LEAVE
        doctor.save()
        response = admin_client.post(
            COPY_WEEK, {"week": MONDAY.isoformat(), "mode": BatchMode.VALID_ONLY}
        )
        assert response.context["result"].invalid == 1
        assert Schedule.objects.count() == 1

    def test_a_disabled_room_is_reported(self, admin_client, doctor, room):
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=MONDAY - dt.timedelta(days=7),
        )
        Room.objects.filter(pk=room.pk).update(status=Room.Status.DISABLED)
        response = admin_client.post(
            COPY_WEEK, {"week": MONDAY.isoformat(), "mode": BatchMode.CHECK}
        )
        assert response.context["result"].invalid == 1

    def test_an_empty_week_is_said_so(self, admin_client):
        response = admin_client.post(
            COPY_WEEK, {"week": MONDAY.isoformat(), "mode": BatchMode.ALL_OR_NOTHING}
        )
        assert response.status_code == 200
        assert response.context["result"].rows == []


def created_events(admin_user) -> list[tuple]:
    """What the audit trail says was created: (object id, new values), by id."""
    rows = audit_trail()
    assert {(actor, action, object_type) for actor, action, object_type, *_ in rows} <= {
        (admin_user.pk, "schedule.created", "scheduling.schedule")
    }
    assert all(old == {} for *_, old, _new in rows)
    return sorted((int(object_id), new) for _a, _b, _c, object_id, _old, new in rows)


def schedules_as_recorded() -> list[tuple]:
    return [
        (
            schedule.pk,
            {
                "department": schedule.department_id,
                "room": schedule.room_id,
                "doctor": schedule.doctor_id,
                "work_date": schedule.work_date.isoformat(),
                "time_slot": schedule.time_slot,
                "start_time": schedule.start_time.isoformat(),
                "end_time": schedule.end_time.isoformat(),
                "window_minutes": schedule.window_minutes,
                "max_patients": schedule.max_patients,
            },
        )
        for schedule in Schedule.objects.order_by("pk")
    ]


class TestAudit:
    """Each schedule the planner keeps is one `schedule.created` event by the administrator;
    nothing kept, nothing recorded."""

    def test_a_created_week_records_each_schedule(self, admin_client, admin_user, doctor, room):
        admin_client.post(PLANNER, pattern(row(doctor, room)))
        assert Schedule.objects.count() == 4
        assert created_events(admin_user) == schedules_as_recorded()

    @pytest.mark.parametrize("mode", [BatchMode.CHECK, BatchMode.ALL_OR_NOTHING])
    def test_nothing_created_nothing_recorded(self, admin_client, admin_user, doctor, room, mode):
        ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            work_date=WEDNESDAY,
            time_slot=TimeSlot.FULL_DAY,
        )
        admin_client.post(PLANNER, pattern(row(doctor, room), mode=mode))
        assert Schedule.objects.count() == 1
        assert audit_trail() == []

    def test_only_the_valid_ones_are_recorded(self, admin_client, admin_user, doctor, room):
        existing = ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            work_date=WEDNESDAY,
            time_slot=TimeSlot.FULL_DAY,
        )
        admin_client.post(PLANNER, pattern(row(doctor, room), mode=BatchMode.VALID_ONLY))
        assert Schedule.objects.count() == 3
        recorded = created_events(admin_user)
        assert recorded == [s for s in schedules_as_recorded() if s[0] != existing.pk]

    def test_a_copied_week_records_each_copy(self, admin_client, admin_user, doctor, room):
        original = ScheduleFactory(
            doctor=doctor,
            department=doctor.department,
            room=room,
            work_date=MONDAY - dt.timedelta(days=7),
        )
        data = {"week": MONDAY.isoformat(), "mode": BatchMode.ALL_OR_NOTHING}
        assert admin_client.post(COPY_WEEK, data).status_code == 200
        assert created_events(admin_user) == [
            s for s in schedules_as_recorded() if s[0] != original.pk
        ]
        # A second copy is refused as a whole: no new schedule, no new event.
        assert admin_client.post(COPY_WEEK, data).status_code == 400
        assert len(audit_trail()) == 1


class TestBatch:
    def schedules(self, doctor, room, *slots):
        return [
            Schedule(
                department=doctor.department,
                doctor=doctor,
                room=room,
                work_date=MONDAY,
                time_slot=slot,
                max_patients=5,
            )
            for slot in slots
        ]

    def test_all_or_nothing_keeps_nothing_when_one_fails(self, doctor, room, admin_user):
        result = save_schedule_batch(
            schedules=self.schedules(doctor, room, "morning", "full_day"),
            mode=BatchMode.ALL_OR_NOTHING,
            by=admin_user,
        )
        assert [r.valid for r in result.rows] == [True, False]
        assert result.created == 0
        assert not Schedule.objects.exists()
        assert all(r.schedule.pk is None for r in result.rows)

    def test_valid_only_keeps_the_valid(self, doctor, room, admin_user):
        result = save_schedule_batch(
            schedules=self.schedules(doctor, room, "morning", "full_day", "afternoon"),
            mode=BatchMode.VALID_ONLY,
            by=admin_user,
        )
        assert [r.created for r in result.rows] == [True, False, True]
        assert Schedule.objects.count() == 2

    def test_check_keeps_nothing_even_when_all_are_valid(self, doctor, room, admin_user):
        result = save_schedule_batch(
            schedules=self.schedules(doctor, room, "morning", "afternoon"),
            mode=BatchMode.CHECK,
            by=admin_user,
        )
        assert result.valid == 2
        assert not Schedule.objects.exists()

    def test_only_administrators_create_a_batch(self, doctor, room, receptionist):
        with pytest.raises(PermissionDenied):
            save_schedule_batch(
                schedules=self.schedules(doctor, room, "morning"),
                mode=BatchMode.VALID_ONLY,
                by=receptionist,
            )
        assert not Schedule.objects.exists()
        assert audit_trail() == []

    def test_monday_of(self):
        assert {monday_of(MONDAY + dt.timedelta(days=n)) for n in range(7)} == {MONDAY}
