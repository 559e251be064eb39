"""Schedules by the hour and their windows' quotas, through every door that writes them: the
admin's form, Django Admin (the schedule and its windows page) and the API. Bad input is a
field error on the page and the API's unified error, never a 500."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from appointments.tests.factories import AppointmentFactory
from clinic.models import AuditEvent
from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.forms import ScheduleForm
from scheduling.models import Schedule, ScheduleWindow, TimeSlot
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from tests.support import audit_trail

pytestmark = pytest.mark.django_db

WORK_DATE = dt.date(2031, 5, 5)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def api(admin_user):
    client = bearer_client(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def doctor():
    return DoctorFactory()


@pytest.fixture
def room(doctor):
    return RoomFactory(department=doctor.department)


def form_data(doctor, room, **changes) -> dict[str, str]:
    data = {
        "department": str(doctor.department_id),
        "room": str(room.pk),
        "doctor": str(doctor.pk),
        "work_date": WORK_DATE.isoformat(),
        "time_slot": "morning",
        "start_time": "",
        "end_time": "",
        "window_minutes": "30",
        "max_patients": "12",
    }
    data.update(changes)
    return data


def windows_of(schedule: Schedule) -> list[tuple[str, int, bool]]:
    return [
        (window.label, window.quota, window.desk_only)
        for window in ScheduleWindow.objects.filter(schedule=schedule).order_by("start_time")
    ]


# --- The form (Django Admin's) --------------------------------------------------------------


class TestScheduleForm:
    def test_a_preset_alone_takes_its_hours(self, doctor, room):
        form = ScheduleForm(form_data(doctor, room))
        assert form.is_valid(), form.errors
        schedule = form.save()
        assert (schedule.hours_label, schedule.time_slot, schedule.window_minutes) == (
            "08:00–12:00",
            TimeSlot.MORNING,
            30,
        )
        assert len(windows_of(schedule)) == 8

    @pytest.mark.parametrize(
        "start,end,slot",
        [
            ("09:00", "11:00", TimeSlot.MORNING),
            ("14:00", "16:30", TimeSlot.AFTERNOON),
            ("10:00", "15:00", TimeSlot.FULL_DAY),
        ],
    )
    def test_times_give_the_slot_they_lie_in(self, doctor, room, start, end, slot):
        form = ScheduleForm(form_data(doctor, room, time_slot="", start_time=start, end_time=end))
        assert form.is_valid(), form.errors
        assert form.instance.time_slot == slot
        assert form.instance.hours_label == f"{start}–{end}"

    def test_an_empty_window_length_is_one_window(self, doctor, room):
        form = ScheduleForm(
            form_data(doctor, room, start_time="09:00", end_time="11:00", window_minutes="")
        )
        assert form.is_valid(), form.errors
        assert windows_of(form.save()) == [("09:00–11:00", 12, False)]

    @pytest.mark.parametrize(
        "changes,field",
        [
            ({"start_time": "11:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "10:00", "end_time": "10:00"}, "end_time"),
            ({"start_time": "07:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "16:00", "end_time": "19:00"}, "end_time"),
            ({"start_time": "09:00"}, "end_time"),
            ({"end_time": "09:00"}, "start_time"),
            ({"start_time": "nine"}, "start_time"),
            ({"time_slot": ""}, "time_slot"),
            ({"window_minutes": "3"}, "window_minutes"),
            ({"window_minutes": "1000"}, "window_minutes"),
            ({"window_minutes": "half"}, "window_minutes"),
            ({"window_minutes": "-30"}, "window_minutes"),
        ],
    )
    def test_nonsense_is_a_field_error(self, doctor, room, changes, field):
        form = ScheduleForm(form_data(doctor, room, **changes))
        assert not form.is_valid()
        assert field in form.errors

    @override_settings(CLINIC_WINDOW_MINUTES=20)
    def test_a_new_schedule_offers_the_clinics_window_length(self, doctor):
        assert ScheduleForm().initial["window_minutes"] == 20
        schedule = ScheduleFactory(window_minutes=None)
        assert ScheduleForm(instance=schedule).initial["window_minutes"] is None


# --- Django Admin ---------------------------------------------------------------------------


def admin_url(view: str, *args) -> str:
    return reverse(f"admin:scheduling_schedule_{view}", args=args)


class TestAdmin:
    def test_adding_a_schedule_by_the_hour(self, admin_client, admin_user, doctor, room):
        response = admin_client.post(
            admin_url("add"),
            form_data(doctor, room, start_time="09:00", end_time="10:30", window_minutes="30"),
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        schedule = Schedule.objects.get()
        assert (schedule.hours_label, schedule.time_slot) == ("09:00–10:30", TimeSlot.MORNING)
        assert windows_of(schedule) == [
            ("09:00–09:30", 4, False),
            ("09:30–10:00", 4, False),
            ("10:00–10:30", 4, False),
        ]
        assert [row[1] for row in audit_trail()] == ["schedule.created"]

    def test_bad_times_are_field_errors_and_save_nothing(self, admin_client, doctor, room):
        response = admin_client.post(
            admin_url("add"), form_data(doctor, room, start_time="11:00", end_time="09:00")
        )
        assert response.status_code == 200
        assert "end_time" in response.context["adminform"].form.errors
        assert not Schedule.objects.exists()

    def test_a_new_preset_moves_a_schedule_to_its_hours(self, admin_client, doctor, room):
        schedule = ScheduleFactory(doctor=doctor, room=room, work_date=WORK_DATE)
        data = form_data(doctor, room, time_slot="afternoon", start_time="08:00", end_time="12:00")
        data["window_minutes"] = ""
        response = admin_client.post(admin_url("change", schedule.pk), data)
        assert response.status_code == 302
        schedule.refresh_from_db()
        assert (schedule.time_slot, schedule.hours_label) == ("afternoon", "13:30–17:30")

    def test_the_change_page_links_to_the_windows(self, admin_client):
        schedule = ScheduleFactory(work_date=WORK_DATE, window_minutes=30)
        html = admin_client.get(admin_url("change", schedule.pk)).content.decode()
        assert f'href="{admin_url("windows", schedule.pk)}"' in html
        assert "8 windows" in html

    def test_the_list_shows_the_hours(self, admin_client):
        ScheduleFactory(work_date=WORK_DATE, start_time=dt.time(9), end_time=dt.time(11))
        assert "09:00–11:00" in admin_client.get(admin_url("changelist")).content.decode()


class TestAdminWindows:
    @pytest.fixture
    def schedule(self):
        # Four windows of 2, 2, 2, 2 places; the first holds one.
        return ScheduleFactory(
            work_date=WORK_DATE,
            start_time=dt.time(9),
            end_time=dt.time(11),
            window_minutes=30,
            max_patients=8,
            current_patients=1,
        )

    def post(self, client, schedule, quotas: list[int], desk: tuple[int, ...] = ()):
        data = {}
        for index, window in enumerate(schedule.windows.order_by("start_time")):
            data[f"window_{window.pk}_quota"] = str(quotas[index])
            if index in desk:
                data[f"window_{window.pk}_desk_only"] = "on"
        return client.post(admin_url("windows", schedule.pk), data)

    def test_the_page_lists_each_window(self, admin_client, schedule):
        response = admin_client.get(admin_url("windows", schedule.pk))
        assert response.status_code == 200
        html = response.content.decode()
        for label in ("09:00–09:30", "09:30–10:00", "10:00–10:30", "10:30–11:00"):
            assert label in html
        first = schedule.windows.order_by("start_time").first()
        assert f'name="window_{first.pk}_quota"' in html
        assert f'<label class="visually-hidden" for="id_window_{first.pk}_quota">' in html

    def test_saving_goes_through_the_service_and_is_audited(
        self, admin_client, admin_user, schedule
    ):
        response = self.post(admin_client, schedule, [4, 2, 0, 1], desk=(1,))
        assert response.status_code == 302
        assert windows_of(schedule) == [
            ("09:00–09:30", 4, False),
            ("09:30–10:00", 2, True),
            ("10:00–10:30", 0, False),
            ("10:30–11:00", 1, False),
        ]
        schedule.refresh_from_db()
        assert (schedule.max_patients, schedule.current_patients) == (7, 1)
        (event,) = AuditEvent.objects.filter(action="schedule.windows_changed")
        assert (event.actor_id, event.object_id) == (admin_user.pk, str(schedule.pk))
        assert event.new_values["max_patients"] == 7
        assert event.new_values["09:30–10:00"] == {"quota": 2, "desk_only": True}

    def test_the_page_never_writes_the_rows_itself(self, admin_client, schedule):
        with mock.patch("scheduling.admin.set_window_quotas") as service:
            service.return_value = schedule
            self.post(admin_client, schedule, [3, 2, 2, 2])
        assert service.call_count == 1
        assert [quota.quota for quota in service.call_args.kwargs["quotas"]] == [3, 2, 2, 2]
        assert windows_of(schedule)[0] == ("09:00–09:30", 2, False)

    def test_a_quota_below_the_places_held_is_a_field_error(self, admin_client, schedule):
        response = self.post(admin_client, schedule, [0, 2, 2, 2])
        assert response.status_code == 400
        first = schedule.windows.order_by("start_time").first()
        assert f"window_{first.pk}_quota" in response.context["form"].errors
        assert windows_of(schedule)[0] == ("09:00–09:30", 2, False)
        assert not AuditEvent.objects.filter(action="schedule.windows_changed").exists()

    @pytest.mark.parametrize("quota", ["-1", "many", "", "100000"])
    def test_nonsense_quotas_are_field_errors(self, admin_client, schedule, quota):
        window = schedule.windows.order_by("start_time").last()
        data = {f"window_{w.pk}_quota": "2" for w in schedule.windows.all()}
        data[f"window_{window.pk}_quota"] = quota
        response = admin_client.post(admin_url("windows", schedule.pk), data)
        assert response.status_code == 400
        assert f"window_{window.pk}_quota" in response.context["form"].errors
        assert schedule.windows.get(pk=window.pk).quota == 2

    def test_a_missing_schedule_is_404(self, admin_client):
        assert admin_client.get(admin_url("windows", 987654)).status_code == 404

    @pytest.mark.parametrize("persona", ["receptionist", "doctor", "patient"])
    def test_only_administrators_see_the_page(self, client, personas, persona, schedule):
        client.force_login(personas[persona])
        response = self.post(client, schedule, [3, 2, 2, 2])
        assert response.status_code in (302, 403)
        assert windows_of(schedule)[0] == ("09:00–09:30", 2, False)


# --- The API --------------------------------------------------------------------------------


def body(doctor, room, **changes) -> dict:
    data = {
        "room_id": room.pk,
        "doctor_id": doctor.emp_id,
        "work_date": WORK_DATE.isoformat(),
        "max_patients": 12,
    }
    data.update(changes)
    return data


def error_fields(response) -> set[str]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"]
    return set(error["details"])


class TestScheduleAPI:
    def test_times_give_the_slot_and_windows_by_default(self, api, doctor, room):
        response = api.post(
            "/api/admin/schedules",
            body(doctor, room, start_time="14:00", end_time="16:00"),
            format="json",
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert (data["time_slot"], data["start_time"], data["end_time"]) == (
            "afternoon",
            "14:00:00",
            "16:00:00",
        )
        assert data["window_minutes"] == 30
        assert Schedule.objects.get().windows.count() == 4

    def test_a_preset_alone_takes_its_hours(self, api, doctor, room):
        response = api.post(
            "/api/admin/schedules", body(doctor, room, time_slot="morning"), format="json"
        )
        assert response.status_code == 201
        assert (response.json()["start_time"], response.json()["end_time"]) == (
            "08:00:00",
            "12:00:00",
        )

    def test_a_null_window_length_is_one_window(self, api, doctor, room):
        response = api.post(
            "/api/admin/schedules",
            body(doctor, room, time_slot="morning", window_minutes=None),
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["window_minutes"] is None
        assert Schedule.objects.get().windows.count() == 1

    def test_a_patch_of_the_preset_alone_moves_to_its_hours(self, api):
        schedule = ScheduleFactory(work_date=WORK_DATE, window_minutes=30)
        response = api.patch(
            f"/api/admin/schedules/{schedule.pk}", {"time_slot": "afternoon"}, format="json"
        )
        assert response.status_code == 200
        assert (response.json()["start_time"], response.json()["end_time"]) == (
            "13:30:00",
            "17:30:00",
        )
        assert windows_of(schedule)[0][0] == "13:30–14:00"

    def test_a_patch_of_times_derives_the_slot(self, api):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        response = api.patch(
            f"/api/admin/schedules/{schedule.pk}",
            {"start_time": "10:00", "end_time": "15:00"},
            format="json",
        )
        assert response.status_code == 200
        assert response.json()["time_slot"] == "full_day"

    @pytest.mark.parametrize(
        "changes,field",
        [
            ({"start_time": "11:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "07:00", "end_time": "09:00"}, "end_time"),
            ({"start_time": "09:00"}, "end_time"),
            ({"end_time": "09:00"}, "start_time"),
            ({}, "time_slot"),
            ({"start_time": "nonsense", "end_time": "09:00"}, "start_time"),
            ({"start_time": 900, "end_time": "10:00"}, "start_time"),
            ({"time_slot": "morning", "window_minutes": 3}, "window_minutes"),
            ({"time_slot": "morning", "window_minutes": 1000}, "window_minutes"),
            ({"time_slot": "morning", "window_minutes": "thirty"}, "window_minutes"),
            ({"time_slot": "evening"}, "time_slot"),
        ],
    )
    def test_nonsense_is_the_unified_error(self, api, doctor, room, changes, field):
        response = api.post("/api/admin/schedules", body(doctor, room, **changes), format="json")
        assert field in error_fields(response)
        assert not Schedule.objects.exists()

    @pytest.mark.parametrize(
        "changes,field",
        [
            ({"end_time": "07:30"}, "end_time"),
            ({"start_time": "12:30", "end_time": "12:00"}, "end_time"),
            ({"window_minutes": 0}, "window_minutes"),
            ({"window_minutes": 241}, "window_minutes"),
        ],
    )
    def test_a_bad_change_is_the_unified_error(self, api, changes, field):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        response = api.patch(f"/api/admin/schedules/{schedule.pk}", changes, format="json")
        assert field in error_fields(response)
        schedule.refresh_from_db()
        assert schedule.hours_label == "08:00–12:00"

    def test_a_booked_schedule_keeps_its_windows(self, api):
        schedule = ScheduleFactory(work_date=WORK_DATE, window_minutes=30)
        AppointmentFactory(schedule=schedule, window=schedule.windows.first())
        response = api.patch(
            f"/api/admin/schedules/{schedule.pk}", {"window_minutes": 60}, format="json"
        )
        assert response.status_code == 400
        assert Schedule.objects.get(pk=schedule.pk).window_minutes == 30


class TestWindowsAPI:
    @pytest.fixture
    def schedule(self):
        return ScheduleFactory(
            work_date=WORK_DATE,
            start_time=dt.time(9),
            end_time=dt.time(10),
            window_minutes=30,
            max_patients=6,
            current_patients=2,
        )

    def url(self, schedule) -> str:
        return f"/api/admin/schedules/{schedule.pk}/windows"

    def test_the_windows_of_a_schedule(self, api, schedule):
        first, second = schedule.windows.order_by("start_time")
        response = api.get(self.url(schedule))
        assert response.status_code == 200
        assert response.json() == {
            "schedule_id": schedule.pk,
            "max_patients": 6,
            "current_patients": 2,
            "window_minutes": 30,
            "windows": [
                {
                    "id": first.pk,
                    "start_time": "09:00:00",
                    "end_time": "09:30:00",
                    "label": "09:00–09:30",
                    "quota": 3,
                    "used": 2,
                    "remaining": 1,
                    "desk_only": False,
                },
                {
                    "id": second.pk,
                    "start_time": "09:30:00",
                    "end_time": "10:00:00",
                    "label": "09:30–10:00",
                    "quota": 3,
                    "used": 0,
                    "remaining": 3,
                    "desk_only": False,
                },
            ],
        }

    @pytest.mark.parametrize("method", ["put", "patch"])
    def test_setting_quotas_is_audited(self, api, admin_user, schedule, method):
        _first, second = schedule.windows.order_by("start_time")
        response = getattr(api, method)(
            self.url(schedule),
            {"windows": [{"id": second.pk, "quota": 5, "desk_only": True}]},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json()["max_patients"] == 8
        assert windows_of(schedule) == [("09:00–09:30", 3, False), ("09:30–10:00", 5, True)]
        assert [row[1] for row in audit_trail()] == ["schedule.windows_changed"]

    def test_a_bare_list_and_a_kept_desk_setting(self, api, schedule):
        first = schedule.windows.order_by("start_time").first()
        ScheduleWindow.objects.filter(pk=first.pk).update(desk_only=True)
        response = api.put(self.url(schedule), [{"id": first.pk, "quota": 4}], format="json")
        assert response.status_code == 200
        assert windows_of(schedule)[0] == ("09:00–09:30", 4, True)

    def test_a_quota_below_the_places_held_is_refused(self, api, schedule):
        first = schedule.windows.order_by("start_time").first()
        response = api.put(
            self.url(schedule), {"windows": [{"id": first.pk, "quota": 1}]}, format="json"
        )
        assert f"window_{first.pk}" in error_fields(response)
        assert windows_of(schedule)[0] == ("09:00–09:30", 3, False)
        assert audit_trail() == []

    @pytest.mark.parametrize(
        "windows",
        [
            [],
            "nonsense",
            [{"id": "x", "quota": 1}],
            [{"quota": 1}],
            [{"id": 1}],
            [{"id": 1, "quota": -1}],
            [{"id": 1, "quota": "lots"}],
            [{"id": 1, "quota": 10**6}],
            [{"id": 1, "quota": 1, "desk_only": "perhaps"}],
        ],
    )
    def test_nonsense_is_the_unified_error(self, api, schedule, windows):
        response = api.put(self.url(schedule), {"windows": windows}, format="json")
        assert "windows" in error_fields(response)
        assert audit_trail() == []

    def test_a_window_listed_twice_is_refused(self, api, schedule):
        first = schedule.windows.order_by("start_time").first()
        windows = [{"id": first.pk, "quota": 4}, {"id": first.pk, "quota": 5}]
        response = api.put(self.url(schedule), {"windows": windows}, format="json")
        assert "windows" in error_fields(response)

    def test_another_schedules_window_is_refused(self, api, schedule):
        other = ScheduleFactory(work_date=WORK_DATE)
        window = other.windows.get()
        response = api.put(
            self.url(schedule), {"windows": [{"id": window.pk, "quota": 1}]}, format="json"
        )
        assert "non_field_errors" in error_fields(response)
        assert other.windows.get().quota == 10

    def test_a_missing_schedule_is_404(self, api):
        assert api.get("/api/admin/schedules/987654/windows").status_code == 404
        response = api.put(
            "/api/admin/schedules/987654/windows", {"windows": [{"id": 1, "quota": 1}]}
        )
        assert response.status_code == 404


class TestStatementCounts:
    def test_the_windows_are_read_in_a_fixed_number_of_statements(self, api, admin_client):
        def count(url_of) -> list[int]:
            counts = []
            for minutes in (240, 15):
                schedule = ScheduleFactory(
                    work_date=WORK_DATE + dt.timedelta(days=minutes), window_minutes=minutes
                )
                with CaptureQueriesContext(connection) as queries:
                    assert url_of(schedule).status_code == 200
                counts.append(len(queries))
            return counts

        api_counts = count(lambda s: api.get(f"/api/admin/schedules/{s.pk}/windows"))
        assert api_counts[0] == api_counts[1]
        page_counts = count(lambda s: admin_client.get(admin_url("windows", s.pk)))
        assert page_counts[0] == page_counts[1]
