"""The week planner beside the week it plans: the week's existing schedules as a grid (doctor
× day, each slot with its room and places booked / capacity), the week proposed by default
(the first one without schedules), and rooms narrowed to the chosen doctor's department."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.models import RoomStatus
from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
from scheduling.models import Schedule, TimeSlot, monday_of
from scheduling.selectors import PROPOSAL_HORIZON_WEEKS, first_unscheduled_week, week_grid
from scheduling.tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

PLANNER = reverse("scheduling:planner")
COPY_WEEK = reverse("scheduling:copy-week")
ROOMS = reverse("scheduling:planner-rooms")
MONDAY = dt.date(2030, 3, 4)
WEDNESDAY = MONDAY + dt.timedelta(days=2)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def week(monday: dt.date, weeks: int) -> dt.date:
    return monday + dt.timedelta(weeks=weeks)


class TestProposedWeek:
    """The proposal is the first week, from the current one on, with no schedule on any of
    its seven days in any department; weeks before the current one do not count."""

    def test_an_empty_clinic_is_proposed_the_current_week(self):
        assert first_unscheduled_week(today=WEDNESDAY) == MONDAY

    def test_scheduled_weeks_are_skipped_to_the_first_gap(self):
        ScheduleFactory(work_date=WEDNESDAY)
        ScheduleFactory(work_date=week(MONDAY, 1) + dt.timedelta(days=6))  # its Sunday
        ScheduleFactory(work_date=week(MONDAY, 3))
        assert first_unscheduled_week(today=WEDNESDAY) == week(MONDAY, 2)

    def test_one_schedule_in_any_department_makes_the_week_scheduled(self):
        ScheduleFactory(work_date=MONDAY, doctor=DoctorFactory(department=DepartmentFactory()))
        assert first_unscheduled_week(today=MONDAY) == week(MONDAY, 1)

    def test_past_weeks_do_not_count(self):
        ScheduleFactory(work_date=MONDAY - dt.timedelta(days=1))
        assert first_unscheduled_week(today=MONDAY) == MONDAY

    def test_a_fully_planned_horizon_proposes_the_week_after_it(self):
        doctor = DoctorFactory()
        for weeks in range(PROPOSAL_HORIZON_WEEKS):
            ScheduleFactory(doctor=doctor, work_date=week(MONDAY, weeks))
        assert first_unscheduled_week(today=MONDAY) == week(MONDAY, PROPOSAL_HORIZON_WEEKS)

    def test_the_proposal_is_one_query(self, django_assert_num_queries):
        ScheduleFactory(work_date=MONDAY)
        with django_assert_num_queries(1):
            first_unscheduled_week(today=MONDAY)

    @pytest.mark.parametrize("url", [PLANNER, COPY_WEEK])
    def test_the_pages_open_on_the_proposed_week(self, admin_client, url):
        today = timezone.localdate()
        ScheduleFactory(work_date=today)
        proposal = monday_of(today) + dt.timedelta(weeks=1)
        response = admin_client.get(url)
        form = response.context["week_form" if url == PLANNER else "form"]
        assert form["week"].value() == proposal
        if url == PLANNER:
            assert response.context["grid"].monday == proposal
            assert 'id="week-proposed"' in response.content.decode()


def grid_cells(html: str) -> dict[str, list[str]]:
    """The grid's rows as text: the doctor's cell, then one cell per day."""
    table = html[html.index('id="week-grid-table"') :]
    table = table[: table.index("</table>")]
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]:
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, flags=re.S)
        ]
        rows[cells[0]] = cells[1:]
    return rows


class TestWeekGrid:
    def test_the_chosen_weeks_schedules_show_doctor_by_day(self, admin_client):
        surgery = DepartmentFactory(name="Surgery")
        medicine = DepartmentFactory(name="Medicine")
        wang = DoctorFactory(department=medicine, name="Wang", emp_id="D001")
        li = DoctorFactory(department=surgery, name="Li", emp_id="D002")
        room = RoomFactory(department=medicine, room_number="101")
        ScheduleFactory(
            doctor=wang,
            room=room,
            work_date=MONDAY,
            time_slot=TimeSlot.AFTERNOON,
            max_patients=20,
            current_patients=3,
        )
        ScheduleFactory(
            doctor=wang, room=room, work_date=MONDAY, time_slot=TimeSlot.MORNING, max_patients=12
        )
        ScheduleFactory(
            doctor=li,
            room=RoomFactory(department=surgery, room_number="205"),
            work_date=MONDAY + dt.timedelta(days=6),
            time_slot=TimeSlot.FULL_DAY,
            max_patients=8,
        )
        ScheduleFactory(doctor=li, work_date=MONDAY + dt.timedelta(days=7))  # the next week

        response = admin_client.get(PLANNER, {"week": WEDNESDAY.isoformat()})

        assert response.status_code == 200
        assert response.context["week_form"]["week"].value() == WEDNESDAY.isoformat()
        rows = grid_cells(response.content.decode())
        # By department name, then staff number; slots in the day's order.
        assert list(rows) == ["Wang (D001) Medicine", "Li (D002) Surgery"]
        # Each schedule by its hours, with a link to its windows' quotas.
        assert (
            rows["Wang (D001) Medicine"][0] == "08:00–12:00 · room 101 · 0/12 · one window "
            "13:30–17:30 · room 101 · 3/20 · one window"
        )
        assert rows["Wang (D001) Medicine"][1:] == ["–"] * 6
        assert rows["Li (D002) Surgery"][6] == "08:00–17:30 · room 205 · 0/8 · one window"
        assert 'id="week-proposed"' not in response.content.decode()

    def test_without_javascript_the_grid_links_to_the_weeks_around(self, admin_client):
        html = admin_client.get(PLANNER, {"week": WEDNESDAY.isoformat()}).content.decode()
        assert f'href="{PLANNER}?week={week(MONDAY, -1).isoformat()}" rel="prev"' in html
        assert f'href="{PLANNER}?week={week(MONDAY, 1).isoformat()}" rel="next"' in html
        # The week field asks for the grid alone when it changes (HTMX).
        assert f'hx-get="{PLANNER}"' in html and 'hx-target="#week-grid"' in html

    def test_an_empty_week_says_so(self, admin_client):
        response = admin_client.get(PLANNER, {"week": MONDAY.isoformat()})
        assert response.context["grid"].rows == []
        assert 'id="week-grid-empty"' in response.content.decode()

    def test_htmx_asks_for_the_grid_alone(self, admin_client):
        ScheduleFactory(work_date=MONDAY)
        response = admin_client.get(PLANNER, {"week": MONDAY.isoformat()}, HTTP_HX_REQUEST="true")
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith('<section class="card week-grid" id="week-grid"')
        assert "<form" not in html

    def test_a_bad_week_is_a_field_error_and_the_proposal_is_shown(self, admin_client):
        response = admin_client.get(PLANNER, {"week": "2030-02-31"})
        assert response.status_code == 400
        assert response.context["week_form"].errors["week"]
        assert response.context["grid"].monday == first_unscheduled_week()

    @pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_a_week_at_the_end_of_the_calendar_is_a_field_error_not_a_crash(
        self, admin_client, day, method
    ):
        """Its Monday's week (or the week before, for the previous-week link) would leave the
        calendar: the dates a form takes are the API's range, 2000–2099."""
        response = getattr(admin_client, method)(PLANNER, {"week": day, "mode": "check"})
        assert response.status_code == 400
        assert (
            "Enter a date from 2000-01-01 to 2099-12-31."
            in response.context["week_form"].errors["week"]
        )

    def test_after_creating_the_grid_shows_the_new_schedules(self, admin_client):
        doctor = DoctorFactory()
        room = RoomFactory(department=doctor.department)
        data = {
            "week": MONDAY.isoformat(),
            "mode": "create",
            "pattern-TOTAL_FORMS": "1",
            "pattern-INITIAL_FORMS": "0",
            "pattern-MIN_NUM_FORMS": "0",
            "pattern-MAX_NUM_FORMS": "40",
            "pattern-0-doctor": str(doctor.pk),
            "pattern-0-room": str(room.pk),
            "pattern-0-weekdays": ["0", "2"],
            "pattern-0-time_slots": ["morning"],
            "pattern-0-max_patients": "9",
        }
        response = admin_client.post(PLANNER, data)
        assert response.status_code == 200
        assert Schedule.objects.count() == 2
        assert response.context["grid"].schedule_count == 2

    def test_the_grid_is_one_query_however_many_schedules(self, django_assert_num_queries):
        with django_assert_num_queries(1):
            week_grid(week=MONDAY)
        for _ in range(4):
            doctor = DoctorFactory()
            for day in range(5):
                for slot in (TimeSlot.MORNING, TimeSlot.AFTERNOON):
                    ScheduleFactory(
                        doctor=doctor, work_date=MONDAY + dt.timedelta(days=day), time_slot=slot
                    )
        with django_assert_num_queries(1):
            grid = week_grid(week=MONDAY)
        assert grid.schedule_count == 40

    def test_the_page_has_a_fixed_number_of_queries(self, admin_client):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(PLANNER, {"week": MONDAY.isoformat()}).status_code == 200
            return len(queries)

        empty = count()
        for _ in range(3):
            doctor = DoctorFactory()
            for day in range(7):
                ScheduleFactory(doctor=doctor, work_date=MONDAY + dt.timedelta(days=day))
        # Session, user, doctors, rooms, the week's schedules, the header's user name.
        assert empty == count() == 6


def room_options(html: str) -> list[str]:
    return re.findall(r'<option value="(\d+)"', html)


class TestRoomsOfTheDoctorsDepartment:
    @pytest.fixture
    def clinic(self):
        medicine, surgery = DepartmentFactory(), DepartmentFactory()
        return {
            "doctor": DoctorFactory(department=medicine),
            "own": [RoomFactory(department=medicine), RoomFactory(department=medicine)],
            "other": RoomFactory(department=surgery),
            "disabled": RoomFactory(department=medicine, status=RoomStatus.DISABLED),
        }

    def test_choosing_a_doctor_offers_only_their_departments_rooms(self, admin_client, clinic):
        response = admin_client.get(
            ROOMS,
            {"pattern-2-doctor": clinic["doctor"].pk},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TRIGGER_NAME="pattern-2-doctor",
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert html.startswith('<select name="pattern-2-room"')
        assert 'id="id_pattern-2-room"' in html
        assert room_options(html) == [str(room.pk) for room in clinic["own"]]

    def test_without_htmx_the_field_is_named_in_the_query(self, admin_client, clinic):
        response = admin_client.get(
            ROOMS, {"field": "pattern-0-doctor", "pattern-0-doctor": clinic["doctor"].pk}
        )
        assert room_options(response.content.decode()) == [str(r.pk) for r in clinic["own"]]

    def test_no_doctor_yet_offers_every_room_grouped_by_department(self, admin_client, clinic):
        response = admin_client.get(ROOMS, {"field": "pattern-0-doctor", "pattern-0-doctor": ""})
        html = response.content.decode()
        assert html.count("<optgroup") == 2
        assert sorted(room_options(html)) == sorted(
            str(room.pk) for room in (*clinic["own"], clinic["other"])
        )

    @pytest.mark.parametrize("field", ["", "doctor", "pattern-x-doctor", "pattern-0-room"])
    def test_an_unknown_field_is_a_bad_request(self, admin_client, field):
        assert admin_client.get(ROOMS, {"field": field}).status_code == 400

    @pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
    def test_only_administrators_ask(self, client, personas, persona):
        client.force_login(personas[persona])
        assert client.get(ROOMS, {"field": "pattern-0-doctor"}).status_code == 403

    def test_a_posted_line_offers_only_its_doctors_rooms_again(self, admin_client, clinic):
        data = {
            "week": MONDAY.isoformat(),
            "mode": "create",
            "pattern-TOTAL_FORMS": "2",
            "pattern-INITIAL_FORMS": "0",
            "pattern-MIN_NUM_FORMS": "0",
            "pattern-MAX_NUM_FORMS": "40",
            "pattern-0-doctor": str(clinic["doctor"].pk),
            "pattern-0-room": str(clinic["other"].pk),
            "pattern-0-weekdays": ["0"],
            "pattern-0-time_slots": ["morning"],
            "pattern-0-max_patients": "9",
        }
        response = admin_client.post(PLANNER, data)
        assert response.status_code == 400
        assert not Schedule.objects.exists()
        first, second = response.context["formset"].forms
        assert first.errors == {"room": ["The room belongs to another department."]}
        assert room_options(str(first["room"])) == [str(room.pk) for room in clinic["own"]]
        # A line without a doctor still offers every room.
        assert len(room_options(str(second["room"]))) == 3
        # Each doctor's select asks for its own line's rooms.
        assert 'hx-target="#id_pattern-1-room"' in str(second["doctor"])
