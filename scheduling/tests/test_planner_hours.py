"""The week planner by the hour: a pattern line's start and end times (the preset slots stay as
a shortcut) and window length; the week grid shows each schedule's hours and links to its
windows' quotas."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.urls import reverse

from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
from scheduling.forms import PatternRowForm, pattern_choices
from scheduling.models import Schedule, ScheduleWindow, TimeSlot
from scheduling.services import BatchMode, WeekLine, copy_week_forward, week_schedules
from scheduling.tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

PLANNER = reverse("scheduling:planner")
MONDAY = dt.date(2030, 3, 4)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def doctor():
    return DoctorFactory(department=DepartmentFactory())


@pytest.fixture
def room(doctor):
    return RoomFactory(department=doctor.department)


def pattern(doctor, room, **line) -> dict:
    data = {
        "week": MONDAY.isoformat(),
        "mode": BatchMode.ALL_OR_NOTHING,
        "pattern-TOTAL_FORMS": "1",
        "pattern-INITIAL_FORMS": "0",
        "pattern-MIN_NUM_FORMS": "0",
        "pattern-MAX_NUM_FORMS": "40",
        "pattern-0-doctor": str(doctor.pk),
        "pattern-0-room": str(room.pk),
        "pattern-0-weekdays": ["0", "1"],
        "pattern-0-time_slots": [],
        "pattern-0-start_time": "09:00",
        "pattern-0-end_time": "11:00",
        "pattern-0-window_minutes": "20",
        "pattern-0-max_patients": "12",
    }
    data.update({f"pattern-0-{name}": value for name, value in line.items()})
    return data


def planned() -> list[tuple]:
    return [
        (s.work_date, s.hours_label, s.time_slot, s.window_minutes, s.windows.count())
        for s in Schedule.objects.order_by("work_date", "start_time")
    ]


class TestPatternHours:
    def test_a_line_with_times_makes_schedules_by_the_hour(self, admin_client, doctor, room):
        response = admin_client.post(PLANNER, pattern(doctor, room))
        assert response.status_code == 200
        tuesday = MONDAY + dt.timedelta(days=1)
        assert planned() == [
            (MONDAY, "09:00–11:00", TimeSlot.MORNING, 20, 6),
            (tuesday, "09:00–11:00", TimeSlot.MORNING, 20, 6),
        ]
        # The places spread over the windows.
        schedule = Schedule.objects.order_by("work_date").first()
        assert (
            list(
                ScheduleWindow.objects.filter(schedule=schedule)
                .order_by("start_time")
                .values_list("quota", flat=True)
            )
            == [2] * 6
        )
        assert "09:00–11:00" in response.content.decode()

    def test_times_replace_the_preset_slots(self, admin_client, doctor, room):
        admin_client.post(
            PLANNER, pattern(doctor, room, time_slots=["morning", "afternoon"], weekdays=["0"])
        )
        assert planned() == [(MONDAY, "09:00–11:00", TimeSlot.MORNING, 20, 6)]

    def test_the_slots_stay_a_preset_shortcut(self, admin_client, doctor, room):
        admin_client.post(
            PLANNER,
            pattern(
                doctor,
                room,
                weekdays=["0"],
                time_slots=["morning", "afternoon"],
                start_time="",
                end_time="",
                window_minutes="",
            ),
        )
        assert planned() == [
            (MONDAY, "08:00–12:00", TimeSlot.MORNING, None, 1),
            (MONDAY, "13:30–17:30", TimeSlot.AFTERNOON, None, 1),
        ]

    def test_one_doctor_can_work_back_to_back(self, admin_client, doctor, room):
        admin_client.post(PLANNER, pattern(doctor, room, weekdays=["0"]))
        other_room = RoomFactory(department=doctor.department)
        response = admin_client.post(
            PLANNER,
            pattern(doctor, other_room, weekdays=["0"], start_time="11:00", end_time="12:00"),
        )
        assert response.context["result"].created == 1
        assert [row[1] for row in planned()] == ["09:00–11:00", "11:00–12:00"]

    @pytest.mark.parametrize(
        "line,field",
        [
            ({"start_time": "11:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "07:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "09:00", "end_time": ""}, "end_time"),
            ({"start_time": "", "end_time": "11:00"}, "start_time"),
            ({"start_time": "", "end_time": ""}, "time_slots"),
            ({"start_time": "noon"}, "start_time"),
            ({"window_minutes": "3"}, "window_minutes"),
            ({"window_minutes": "1000"}, "window_minutes"),
            ({"window_minutes": "x"}, "window_minutes"),
        ],
    )
    def test_nonsense_is_a_field_error(self, admin_client, doctor, room, line, field):
        response = admin_client.post(PLANNER, pattern(doctor, room, **line))
        assert response.status_code == 400
        assert field in response.context["formset"].forms[0].errors
        assert not Schedule.objects.exists()

    @override_settings(CLINIC_WINDOW_MINUTES=15)
    def test_a_line_offers_the_clinics_window_length(self, admin_client):
        response = admin_client.get(PLANNER)
        form = response.context["formset"].forms[0]
        assert form["window_minutes"].value() == 15
        # A line left as offered is not filled in (the pattern ignores it).
        untouched = PatternRowForm(
            {
                "weekdays": ["0", "1", "2", "3", "4"],
                "time_slots": ["morning"],
                "window_minutes": "15",
                "max_patients": "20",
            },
            **pattern_choices(),
        )
        assert not untouched.has_changed()


class TestWeekLines:
    def test_week_schedules_by_date_and_start(self, doctor, room):
        lines = [
            WeekLine(
                doctor=doctor,
                room=room,
                weekdays=[1, 0],
                time_slots=[],
                max_patients=4,
                start_time=dt.time(14),
                end_time=dt.time(15),
                window_minutes=30,
            ),
            WeekLine(
                doctor=doctor,
                room=room,
                weekdays=[0],
                time_slots=[TimeSlot.MORNING],
                max_patients=4,
            ),
        ]
        schedules = week_schedules(week=MONDAY, lines=lines)
        assert [(s.work_date.weekday(), s.hours_label, s.time_slot) for s in schedules] == [
            (0, "08:00–12:00", TimeSlot.MORNING),
            (0, "14:00–15:00", TimeSlot.AFTERNOON),
            (1, "14:00–15:00", TimeSlot.AFTERNOON),
        ]

    def test_copying_a_week_keeps_hours_windows_and_quotas(self, admin_user, doctor, room):
        original = ScheduleFactory(
            doctor=doctor,
            room=room,
            work_date=MONDAY - dt.timedelta(days=7),
            start_time=dt.time(9),
            end_time=dt.time(10),
            window_minutes=30,
            max_patients=6,
        )
        first, second = original.windows.order_by("start_time")
        ScheduleWindow.objects.filter(pk=first.pk).update(quota=5, desk_only=True)
        ScheduleWindow.objects.filter(pk=second.pk).update(quota=1)
        result = copy_week_forward(week=MONDAY, mode=BatchMode.ALL_OR_NOTHING, by=admin_user)
        assert result.created == 1
        copy = Schedule.objects.get(work_date=MONDAY)
        assert (copy.hours_label, copy.window_minutes, copy.max_patients) == (
            "09:00–10:00",
            30,
            6,
        )
        assert list(
            copy.windows.order_by("start_time").values_list("start_time", "quota", "desk_only")
        ) == [(dt.time(9), 5, True), (dt.time(9, 30), 1, False)]


class TestGridLinks:
    def test_each_schedule_links_to_its_windows(self, admin_client, doctor, room):
        schedule = ScheduleFactory(
            doctor=doctor,
            room=room,
            work_date=MONDAY,
            start_time=dt.time(9),
            end_time=dt.time(10, 30),
            window_minutes=30,
        )
        html = admin_client.get(PLANNER, {"week": MONDAY.isoformat()}).content.decode()
        link = reverse("admin:scheduling_schedule_windows", args=[schedule.pk])
        assert f'href="{link}"' in html
        assert "09:00–10:30" in html
        assert "30-min windows" in html
