"""Search, check-in with its slip, walk-in, the live board and the patients list."""

from __future__ import annotations

import datetime as dt
import re

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from billing.tests.factories import BillFactory
from clinic.tests.factories import PatientFactory
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from visits.desk_views import BOARD_LEFT_SHOWN
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    return client


@pytest.fixture
def english_desk_client(desk_client):
    """For the tests that compare text."""
    desk_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return desk_client


@pytest.fixture
def all_day_schedule(settings):
    """A schedule running now, whatever the time of day the suite runs."""
    settings.CLINIC_MORNING_HOURS = (
        timezone.datetime.min.time(),
        timezone.datetime.strptime("11:59", "%H:%M").time(),
    )
    settings.CLINIC_AFTERNOON_HOURS = (
        timezone.datetime.strptime("12:00", "%H:%M").time(),
        timezone.datetime.strptime("23:59", "%H:%M").time(),
    )
    return ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=50)


class TestSearch:
    URL = reverse("visits:search")

    def test_finds_patients_by_phone_prefix_id_and_name_prefix(self, desk_client):
        patient = PatientFactory(name="张三丰", phone="13912345678")
        for query in ("139123", patient.id_card, "张三"):
            html = desk_client.get(self.URL, {"q": query}, headers=HTMX).content.decode()
            assert "张三丰" in html, query

    def test_finds_a_booking_by_reference(self, desk_client):
        appointment = AppointmentFactory()
        html = desk_client.get(self.URL, {"q": appointment.reference.lower()}, headers=HTMX)
        assert appointment.reference in html.content.decode()

    def test_results_link_to_check_in_when_it_is_open(self, desk_client, all_day_schedule):
        appointment = AppointmentFactory(schedule=all_day_schedule)
        html = desk_client.get(self.URL, {"q": appointment.phone}, headers=HTMX).content.decode()
        assert reverse("visits:check-in", args=[appointment.pk]) in html

    def test_finds_a_booking_by_the_patients_id_number(self, desk_client, all_day_schedule):
        patient = PatientFactory()
        appointment = AppointmentFactory(schedule=all_day_schedule, patient=patient, id_card="")
        html = desk_client.get(self.URL, {"q": patient.id_card}, headers=HTMX).content.decode()
        assert appointment.reference in html

    def test_past_bookings_are_not_offered(self, desk_client):
        past = ScheduleFactory(work_date=timezone.localdate() - dt.timedelta(days=1))
        appointment = AppointmentFactory(schedule=past, phone="13911112222")
        html = desk_client.get(self.URL, {"q": "13911112222"}, headers=HTMX).content.decode()
        assert appointment.reference not in html

    def test_prefixes_ignore_case(self, desk_client):
        PatientFactory(name="Wang Fang")
        html = desk_client.get(self.URL, {"q": "wang"}, headers=HTMX).content.decode()
        assert "Wang Fang" in html

    @pytest.mark.parametrize("query", ["13912", "张三"])
    def test_prefix_searches_read_ranges_of_their_own_columns(self, desk_client, query):
        """`LIKE 'x%'`, never `LIKE BINARY` (MariaDB reads all the index for that), and bookings
        from today on by their own expected time, not through the schedule join."""
        patient_sql, appointment_sql = self._search_sql(desk_client, query)
        for sql in (patient_sql, appointment_sql):
            assert " LIKE " in sql and "BINARY" not in sql
        assert "expected_time" in self._where(appointment_sql)
        assert "work_date" not in self._where(appointment_sql)
        # One table: the server can only choose among the bookings' own indexes.
        assert " JOIN " not in appointment_sql

    def test_id_number_search_reads_bookings_by_the_patient_found(self, desk_client):
        """`id_card = … OR patient_id IN (…)`: two indexes, not an OR across a patient join."""
        patient = PatientFactory()
        _patient_sql, appointment_sql = self._search_sql(desk_client, patient.id_card)
        assert "clinic_patient" not in appointment_sql
        assert "patient_id" in self._where(appointment_sql)

    @pytest.mark.mariadb
    # ANALYZE TABLE commits on MariaDB: the rows are flushed afterwards, not rolled back.
    @pytest.mark.django_db(transaction=True)
    @pytest.mark.parametrize(
        ("query", "patient_index"),
        [("1391", "clinic_patient_phone"), ("王", "patient_name_idx")],
    )
    def test_the_server_reads_a_range_of_an_index(self, desk_client, query, patient_index):
        today = ScheduleFactory(work_date=timezone.localdate(), max_patients=500)
        past = ScheduleFactory(work_date=timezone.localdate() - dt.timedelta(days=1))
        people = PatientFactory.create_batch(
            400,
            name=factory.Sequence(lambda n: f"{SURNAMES[n % len(SURNAMES)]}{n}"),
            # One phone in a hundred starts with any 4 given digits, as selective as a typed prefix.
            phone=factory.Sequence(lambda n: f"13{n * 37 % 100:02d}{n:07d}"),
        )
        for index, patient in enumerate(people):
            AppointmentFactory(schedule=past if index % 10 else today, patient=patient)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE TABLE clinic_patient, appointments_appointment")
        patient_sql, appointment_sql = self._search_sql(desk_client, query)
        patients = self._plan(patient_sql)["clinic_patient"]
        assert patients["type"] == "range" and patient_index in patients["key"], patients
        appointments = self._plan(appointment_sql)["appointments_appointment"]
        assert appointments["type"] in {"range", "ref", "index_merge"}, appointments

    @staticmethod
    def _plan(sql: str) -> dict[str, dict]:
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql.replace('"', "`"))
            columns = [column[0] for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return {row["table"]: row for row in rows}

    @staticmethod
    def _where(sql: str) -> str:
        return sql.split(" WHERE ", 1)[1]

    def _search_sql(self, desk_client, query: str) -> tuple[str, str]:
        with CaptureQueriesContext(connection) as queries:
            assert desk_client.get(self.URL, {"q": query}, headers=HTMX).status_code == 200
        sql = [query["sql"].replace("`", '"') for query in queries]
        (patient_sql,) = [each for each in sql if 'FROM "clinic_patient"' in each]
        (appointment_sql,) = [each for each in sql if 'FROM "appointments_appointment"' in each]
        return patient_sql, appointment_sql

    def test_full_page_without_javascript(self, desk_client):
        response = desk_client.get(self.URL, {"q": "x"})
        assert "<html" in response.content.decode()

    def test_refused_to_patients(self, client, patient_user):
        client.force_login(patient_user)
        assert client.get(self.URL, {"q": "139"}).status_code == 403


class TestCheckIn:
    def test_the_phone_is_never_prefilled(self, desk_client, all_day_schedule):
        appointment = AppointmentFactory(schedule=all_day_schedule)
        html = desk_client.get(reverse("visits:check-in", args=[appointment.pk])).content.decode()
        assert appointment.phone not in html

    def test_typed_phone_checks_in_and_shows_the_slip(self, desk_client, all_day_schedule):
        appointment = AppointmentFactory(schedule=all_day_schedule, id_card="")
        set_places_taken(all_day_schedule, 1)
        response = desk_client.post(
            reverse("visits:check-in", args=[appointment.pk]), {"phone": appointment.phone}
        )
        visit = Visit.objects.get()
        assert response["Location"] == reverse("visits:slip", args=[visit.pk])
        slip = desk_client.get(response["Location"]).content.decode()
        assert f'<p class="slip-number">{visit.queue_number}</p>' in slip
        assert appointment.patient.name not in slip  # masked to the first character
        assert appointment.patient.name[0] + "*" in slip

    def test_booking_with_id_asks_for_it(self, desk_client, all_day_schedule):
        patient = PatientFactory()
        appointment = AppointmentFactory(
            schedule=all_day_schedule, patient=patient, id_card=patient.id_card
        )
        url = reverse("visits:check-in", args=[appointment.pk])
        response = desk_client.post(url, {"phone": patient.phone})
        assert response.status_code == 400
        assert "id_card" in response.context["form"].errors
        assert not Visit.objects.exists()

    def test_wrong_phone_is_refused_and_changes_nothing(self, desk_client, all_day_schedule):
        appointment = AppointmentFactory(schedule=all_day_schedule, id_card="")
        url = reverse("visits:check-in", args=[appointment.pk])
        response = desk_client.post(url, {"phone": "13000000000"})
        assert response.status_code == 400
        assert "phone" in response.context["form"].errors
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.PENDING
        assert not Visit.objects.exists()

    def test_refused_to_doctors(self, client, doctor_user, all_day_schedule):
        appointment = AppointmentFactory(schedule=all_day_schedule)
        client.force_login(doctor_user)
        url = reverse("visits:check-in", args=[appointment.pk])
        assert client.post(url, {"phone": appointment.phone}).status_code == 403


class TestWalkIn:
    URL = reverse("visits:walk-in")

    def test_registers_a_new_patient_and_shows_the_slip(self, desk_client, all_day_schedule):
        response = desk_client.post(
            self.URL,
            {
                "name": "路人甲",
                "phone": "13700000001",
                "gender": "female",
                "id_type": "resident_id",
                "id_card": "",
                "department": all_day_schedule.department.pk,
                "doctor": "",
            },
        )
        visit = Visit.objects.get()
        assert response["Location"] == reverse("visits:slip", args=[visit.pk])
        assert (visit.patient.name, visit.status, visit.queue_number) == ("路人甲", "waiting", 1)

    def test_a_returning_patient_is_prefilled_from_search(self, desk_client, all_day_schedule):
        patient = PatientFactory()
        html = desk_client.get(self.URL, {"patient": patient.pk}).content.decode()
        assert f'value="{patient.name}"' in html
        desk_client.post(
            self.URL,
            {
                "patient": patient.pk,
                "department": all_day_schedule.department.pk,
                "id_type": "resident_id",
            },
        )
        assert Visit.objects.get().patient == patient

    def test_lookup_by_phone_offers_the_record(self, desk_client):
        patient = PatientFactory(phone="13911112222")
        html = desk_client.get(
            self.URL, {"part": "matches", "phone": "13911112222"}, headers=HTMX
        ).content.decode()
        assert f"?patient={patient.pk}" in html

    def test_doctor_choices_follow_the_department(self, desk_client, all_day_schedule):
        html = desk_client.get(
            self.URL,
            {"part": "doctors", "department": all_day_schedule.department.pk},
            headers=HTMX,
        ).content.decode()
        assert all_day_schedule.doctor.name in html

    def test_missing_details_are_field_errors(self, desk_client, all_day_schedule):
        response = desk_client.post(
            self.URL, {"department": all_day_schedule.department.pk, "id_type": "resident_id"}
        )
        assert response.status_code == 400
        assert {"name", "phone"} <= set(response.context["form"].errors)
        assert not Visit.objects.exists()


class TestBoard:
    URL = reverse("visits:board")

    def test_columns_and_the_partial_from_the_same_url(self, desk_client, all_day_schedule):
        VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        VisitFactory(schedule=all_day_schedule, status=VisitStatus.AWAITING_PAYMENT)
        page = desk_client.get(self.URL).content.decode()
        partial = desk_client.get(self.URL, headers=HTMX).content.decode()
        assert "<html" in page and "<html" not in partial
        assert partial.strip().startswith('<div id="board"')
        assert 'hx-trigger="every 5s"' in partial

    def test_each_button_posts_its_visit_to_its_move_with_the_columns_one_csrf_input(
        self, desk_client, all_day_schedule
    ):
        visits = [VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING) for _ in "ab"]
        partial = desk_client.get(self.URL, headers=HTMX).content.decode()
        for visit in visits:
            for name, button in (("visits:advance", "advance"), ("visits:leave-unseen", "leave")):
                url = reverse(name)
                # The visit is the button's value; formaction without JavaScript, hx-post with.
                assert (
                    f'id="{button}-{visit.pk}" name="visit" value="{visit.pk}" '
                    f'formaction="{url}" hx-post="{url}"'
                ) in partial
        assert partial.count('name="csrfmiddlewaretoken"') == partial.count("<form")

    def test_a_card_follows_a_change_of_its_visit(self, desk_client, all_day_schedule):
        visit = VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        first = desk_client.get(self.URL, headers=HTMX).content.decode()
        assert visit.patient.name in first and f'id="advance-{visit.pk}"' in first
        visit.patient.name = "Renamed Person"
        visit.patient.save(update_fields=["name"])
        Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.AWAITING_PAYMENT)
        second = desk_client.get(self.URL, headers=HTMX).content.decode()
        assert "Renamed Person" in second
        assert f'id="advance-{visit.pk}"' not in second and f'id="pay-{visit.pk}"' in second

    def test_cards_follow_the_language(self, desk_client, all_day_schedule):
        VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        english = desk_client.get(self.URL, headers={**HTMX, "Accept-Language": "en"})
        chinese = desk_client.get(self.URL, headers={**HTMX, "Accept-Language": "zh-hans"})
        assert "Start consultation" in english.content.decode()
        assert "开始就诊" in chinese.content.decode()

    def test_each_card_shows_its_timer_and_only_the_moves_legal_now(
        self, english_desk_client, all_day_schedule
    ):
        now = timezone.now()
        waiting = VisitFactory(
            schedule=all_day_schedule, check_in_time=now - dt.timedelta(minutes=12, seconds=5)
        )
        seen = VisitFactory(
            schedule=all_day_schedule,
            status=VisitStatus.IN_CONSULTATION,
            called_at=now - dt.timedelta(minutes=7, seconds=5),
        )
        paying = VisitFactory(schedule=all_day_schedule, status=VisitStatus.AWAITING_PAYMENT)
        paid = BillFactory(visit__schedule=all_day_schedule).visit
        unbilled = VisitFactory(schedule=all_day_schedule, status=VisitStatus.LEFT)
        html = english_desk_client.get(self.URL, headers=HTMX).content.decode()

        def card(visit: Visit) -> str:
            number = f'<strong class="queue-number">#{visit.queue_number}</strong>'
            return html.split(number, 1)[1].split("</li>", 1)[0]

        def moves(visit: Visit) -> set[str]:
            found = {
                "advance": f'id="advance-{visit.pk}"',
                "leave": f'id="leave-{visit.pk}"',
                "pay": f'"{reverse("billing:pay", args=[visit.pk])}"',
            }
            if hasattr(visit, "bill"):
                found["receipt"] = f'"{reverse("billing:receipt", args=[visit.bill.pk])}"'
            return {move for move, marker in found.items() if marker in card(visit)}

        assert "<div>Waiting 12 min</div>" in card(waiting)
        assert ">Start consultation</button>" in card(waiting)
        assert moves(waiting) == {"advance", "leave"}
        assert "<div>In for 7 min</div>" in card(seen) and ">Finish</button>" in card(seen)
        assert moves(seen) == {"advance"}
        assert moves(paying) == {"pay"} and " min</div>" not in card(paying)
        assert moves(paid) == {"receipt"}
        assert moves(unbilled) == set() and "Receipt" not in card(unbilled)

    @pytest.mark.parametrize("visits", [3, 30])
    def test_the_board_answers_with_a_fixed_number_of_queries(
        self, desk_client, all_day_schedule, django_assert_num_queries, visits
    ):
        statuses = list(VisitStatus)
        for index in range(visits):
            VisitFactory(schedule=all_day_schedule, status=statuses[index % len(statuses)])
        BillFactory(visit__schedule=all_day_schedule)
        # Session, user, then the day's visits with all their cards show, in one query.
        with django_assert_num_queries(3):
            html = desk_client.get(self.URL, headers=HTMX).content.decode()
        assert (
            html.count('<li class="board-card">')
            == Visit.objects.exclude(status=VisitStatus.CANCELLED).count()
        )
        # The full page adds the user's staff record (the header) and the departments.
        with django_assert_num_queries(5):
            desk_client.get(self.URL)

    def test_advance_and_leave_unseen_from_the_board(self, desk_client, all_day_schedule):
        first = VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        second = VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        set_places_taken(all_day_schedule, 2)
        desk_client.post(reverse("visits:advance"), {"visit": first.pk}, headers=HTMX)
        desk_client.post(reverse("visits:leave-unseen"), {"visit": second.pk}, headers=HTMX)
        first.refresh_from_db()
        second.refresh_from_db()
        all_day_schedule.refresh_from_db()
        assert (first.status, second.status) == (VisitStatus.IN_CONSULTATION, VisitStatus.CANCELLED)
        assert all_day_schedule.current_patients == 1

    def test_the_board_never_discharges_without_payment(self, desk_client, all_day_schedule):
        visit = VisitFactory(schedule=all_day_schedule, status=VisitStatus.AWAITING_PAYMENT)
        response = desk_client.post(reverse("visits:advance"), {"visit": visit.pk}, headers=HTMX)
        assert response.status_code == 409
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT

    @pytest.mark.parametrize("name", ["advance", "leave-unseen"])
    def test_moves_are_post_only(self, desk_client, all_day_schedule, name):
        VisitFactory(schedule=all_day_schedule)
        assert desk_client.get(reverse(f"visits:{name}")).status_code == 405

    @pytest.mark.parametrize("visit", ["", "x", "999999"])
    def test_a_move_without_a_visit_of_the_day_is_a_404(self, desk_client, visit):
        assert desk_client.post(reverse("visits:advance"), {"visit": visit}).status_code == 404

    def _left_visits(self, schedule, count: int) -> list:
        start = timezone.now() - dt.timedelta(hours=3)
        return [
            VisitFactory(
                schedule=schedule,
                status=VisitStatus.LEFT,
                check_in_time=start + dt.timedelta(minutes=index),
                patient__name=f"Left patient {index:03d}",
            )
            for index in range(count)
        ]

    def test_the_left_column_shows_the_latest_with_a_count_and_a_link_to_all(
        self, english_desk_client, all_day_schedule
    ):
        visits = self._left_visits(all_day_schedule, BOARD_LEFT_SHOWN + 3)
        html = english_desk_client.get(self.URL, headers=HTMX).content.decode()
        column = html.split('class="board-column board-left"', 1)[1]
        assert f'<span class="count">{BOARD_LEFT_SHOWN + 3}</span>' in column
        assert "3 earlier visits not shown." in column
        assert all(visit.patient.name not in html for visit in visits[:3])
        assert all(visit.patient.name in html for visit in visits[3:])

        link = re.search(r'href="([^"]+)" id="board-left-all"', html)[1]
        html = english_desk_client.get(link.replace("&amp;", "&"), headers=HTMX).content.decode()
        assert all(visit.patient.name in html for visit in visits)
        assert "earlier visits not shown" not in html
        # The board keeps showing them all as it refreshes itself.
        assert re.search(r'hx-get="[^"]*\?left=all"', html)

    def test_the_full_page_follows_the_link_without_javascript(self, desk_client, all_day_schedule):
        visits = self._left_visits(all_day_schedule, BOARD_LEFT_SHOWN + 1)
        assert visits[0].patient.name not in desk_client.get(self.URL).content.decode()
        html = desk_client.get(self.URL, {"left": "all"}).content.decode()
        assert visits[0].patient.name in html and "board-left-latest" in html

    def test_the_left_unseen_line_is_capped_too(self, english_desk_client, all_day_schedule):
        for _ in range(BOARD_LEFT_SHOWN + 2):
            VisitFactory(schedule=all_day_schedule, status=VisitStatus.CANCELLED)
        html = english_desk_client.get(self.URL, headers=HTMX).content.decode()
        assert "Left unseen today:" in html and "2 earlier visits not shown." in html
        assert (
            "2 earlier visits not shown."
            not in english_desk_client.get(self.URL, {"left": "all"}, headers=HTMX).content.decode()
        )

    def test_a_few_left_visits_are_all_shown_without_a_link(self, desk_client, all_day_schedule):
        visits = self._left_visits(all_day_schedule, 3)
        html = desk_client.get(self.URL, headers=HTMX).content.decode()
        assert all(visit.patient.name in html for visit in visits)
        assert "board-left-all" not in html

    def test_a_move_answers_the_board_with_the_filters_of_the_page(
        self, desk_client, all_day_schedule
    ):
        other = ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day")
        waiting = VisitFactory(schedule=all_day_schedule, status=VisitStatus.WAITING)
        elsewhere = VisitFactory(schedule=other, status=VisitStatus.WAITING)
        department = all_day_schedule.department_id
        page = f"http://testserver{self.URL}?department={department}&left=all"
        response = desk_client.post(
            reverse("visits:advance"),
            {"visit": waiting.pk},
            headers={**HTMX, "HX-Current-URL": page},
        )
        html = response.content.decode()
        assert waiting.patient.name in html and elsewhere.patient.name not in html
        assert f'hx-get="{self.URL}?department={department}&amp;left=all"' in html

    def test_query_count_does_not_grow_with_visits(self, desk_client, all_day_schedule):
        Schedule = type(all_day_schedule)
        Schedule.objects.filter(pk=all_day_schedule.pk).update(max_patients=500)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert desk_client.get(self.URL, headers=HTMX).status_code == 200
            return len(queries)

        statuses = [VisitStatus.WAITING, VisitStatus.IN_CONSULTATION, VisitStatus.LEFT]
        for index in range(10):
            VisitFactory(schedule=all_day_schedule, status=statuses[index % 3])
        with_10 = count()
        for index in range(190):
            VisitFactory(schedule=all_day_schedule, status=statuses[index % 3])
        assert count() == with_10


def test_patients_list_masks_id_numbers_and_searches(desk_client):
    patient = PatientFactory(name="张三丰")
    PatientFactory(name="李四")
    html = desk_client.get(reverse("visits:patients"), {"q": "张"}).content.decode()
    assert "张三丰" in html and "李四" not in html
    assert patient.id_card not in html
    assert patient.id_card[:3] in html
