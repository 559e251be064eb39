"""Expected waits (visits.waits): known consultation times on a controlled clock give exact
medians and 80th percentiles, the fallbacks, positions in the one queue order, the rounding
and phrasing, a fixed number of queries, and the pages and API that show them."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.tests.factories import DepartmentFactory, DoctorFactory, DoctorUserFactory, RoomFactory
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from visits.displays import create_display_token
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory
from visits.waits import (
    ConsultationTimes,
    WaitEstimate,
    consultation_times,
    estimate_wait,
    expected_waits,
    percentile,
    wait_phrase,
)

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
DAY = dt.date(2026, 3, 2)
YESTERDAY = DAY - dt.timedelta(days=1)
NOW = timezone.make_aware(dt.datetime(2026, 3, 2, 10, 0), TZ)
HTMX = {"HX-Request": "true"}
_numbers = itertools.count(1000)


def minutes(value: float) -> dt.timedelta:
    return dt.timedelta(minutes=value)


def history(schedule, durations, *, finished_from=None, status=VisitStatus.LEFT) -> list[Visit]:
    """Finished consultations of these lengths on `schedule`, one finishing every hour up to
    `finished_from` (the last one given finishes last)."""
    end = finished_from or timezone.make_aware(
        dt.datetime.combine(schedule.work_date, dt.time(17, 0)), TZ
    )
    visits = []
    for index, length in enumerate(reversed(durations)):
        finished_at = end - dt.timedelta(hours=index)
        visits.append(
            VisitFactory(
                schedule=schedule,
                queue_number=next(_numbers),
                status=status,
                check_in_time=finished_at - minutes(length + 30),
                called_at=finished_at - minutes(length),
                finished_at=finished_at,
            )
        )
    return visits


@pytest.fixture
def department():
    return DepartmentFactory(code="IM", name="Internal Medicine")


@pytest.fixture
def doctor(department):
    return DoctorUserFactory(employee__department=department)


def schedule_of(doctor_employee, day=DAY, slot=TimeSlot.MORNING, room="A1"):
    return ScheduleFactory(
        doctor=doctor_employee,
        room=RoomFactory(department=doctor_employee.department, room_number=room),
        work_date=day,
        time_slot=slot,
        max_patients=60,
    )


@pytest.fixture
def today(doctor):
    return schedule_of(doctor.employee)


@pytest.fixture
def past(doctor):
    return schedule_of(doctor.employee, day=YESTERDAY, slot=TimeSlot.FULL_DAY, room="P1")


def waiting(schedule, number, **fields) -> Visit:
    return VisitFactory(
        schedule=schedule,
        queue_number=number,
        status=VisitStatus.WAITING,
        check_in_time=NOW - minutes(30),
        **fields,
    )


# --- Consultation times ---------------------------------------------------------------------


def test_percentiles_interpolate_between_ranks():
    assert percentile([10, 20], 0.5) == 15
    assert percentile([10, 12, 14, 16, 18, 20, 22, 24, 26, 28], 0.5) == 19
    assert percentile([10, 12, 14, 16, 18, 20, 22, 24, 26, 28], 0.8) == pytest.approx(24.4)
    assert percentile([7], 0.8) == 7


def test_the_doctors_median_and_80th_percentile_are_exact(doctor, past, department):
    history(past, [10, 12, 14, 16, 18, 20, 22, 24, 26, 28])
    times = consultation_times({doctor.employee_id: department.pk}, now=NOW)
    found = times[doctor.employee_id]
    assert (found.basis, found.sample) == ("doctor", 10)
    assert found.median == pytest.approx(19)
    assert found.p80 == pytest.approx(24.4)


def test_only_the_last_n_finished_before_now_count(doctor, past, department, settings):
    settings.CLINIC_WAIT_SAMPLE = 5
    # Ten old long ones, then five recent short ones; one finishing after `now` is unknown yet.
    history(past, [60] * 10 + [10, 10, 10, 20, 20])
    later = schedule_of(doctor.employee, slot=TimeSlot.AFTERNOON, room="L1")
    history(later, [90], finished_from=NOW + minutes(30))
    # Left unseen (never called) and an unfinished consultation are no consultation times.
    VisitFactory(
        schedule=past,
        queue_number=next(_numbers),
        status=VisitStatus.CANCELLED,
        finished_at=NOW - minutes(5),
        check_in_time=NOW - minutes(50),
    )
    found = consultation_times({doctor.employee_id: department.pk}, now=NOW)[doctor.employee_id]
    assert (found.median, found.p80, found.sample) == (10, 20, 5)


def test_consultations_older_than_the_lookback_do_not_count(doctor, department, settings):
    settings.CLINIC_WAIT_LOOKBACK_DAYS = 30
    old = schedule_of(doctor.employee, day=DAY - dt.timedelta(days=31), room="O1")
    history(old, [10] * 10)
    settings.CLINIC_WAIT_DEFAULT_MINUTES = None
    assert consultation_times({doctor.employee_id: department.pk}, now=NOW) == {
        doctor.employee_id: None
    }


def test_a_doctor_with_too_few_falls_back_to_the_department(doctor, past, department, settings):
    settings.CLINIC_WAIT_MIN_SAMPLE = 5
    settings.CLINIC_WAIT_SAMPLE = 5
    history(past, [40, 40])  # two of the doctor's own: too few (at 16:00 and 17:00)
    colleague = DoctorFactory(department=department)
    # Finishing at 13:00, 14:00 .. 17:00.
    history(schedule_of(colleague, day=YESTERDAY, room="C1"), [10, 12, 14, 16, 18])
    found = consultation_times({doctor.employee_id: department.pk}, now=NOW)[doctor.employee_id]
    # The department's last five by finishing time, the doctor's own two among them.
    assert (found.basis, found.sample) == ("department", 5)
    assert (found.median, found.p80) == (18, 40)  # of 14, 16, 18, 40, 40


def test_then_to_the_configured_default_then_to_none(doctor, department, settings):
    settings.CLINIC_WAIT_DEFAULT_MINUTES = (10.0, 15.0)
    found = consultation_times({doctor.employee_id: department.pk}, now=NOW)[doctor.employee_id]
    assert found == ConsultationTimes(median=10, p80=15, basis="default")
    settings.CLINIC_WAIT_DEFAULT_MINUTES = None
    assert (
        consultation_times({doctor.employee_id: department.pk}, now=NOW)[doctor.employee_id] is None
    )


def test_without_a_basis_a_waiting_patient_gets_no_estimate(today, settings):
    settings.CLINIC_WAIT_DEFAULT_MINUTES = None
    visit = waiting(today, 1)
    assert expected_waits([visit.pk], now=NOW) == {visit.pk: None}


# --- Positions ------------------------------------------------------------------------------


@pytest.fixture
def two_queues(doctor, past, today, department):
    """Doctor A: median 10, 80th percentile 20; someone in consultation for 4 minutes, three
    waiting, one who left unseen among them. Doctor B (same department): median and 80th
    percentile 10, nobody in consultation, one waiting."""
    history(past, [10, 10, 10, 20, 20])
    VisitFactory(
        schedule=today,
        queue_number=1,
        status=VisitStatus.IN_CONSULTATION,
        check_in_time=NOW - minutes(40),
        called_at=NOW - minutes(4),
    )
    first = waiting(today, 2)
    VisitFactory(
        schedule=today,
        queue_number=3,
        status=VisitStatus.CANCELLED,
        check_in_time=NOW - minutes(30),
        finished_at=NOW - minutes(10),
    )
    second = waiting(today, 4)
    third = waiting(today, 5)
    other = DoctorFactory(department=department)
    history(schedule_of(other, day=YESTERDAY, room="Q1"), [10] * 5)
    theirs = waiting(schedule_of(other, room="B1"), 1)
    return {"first": first, "second": second, "third": third, "theirs": theirs}


def test_positions_follow_the_queue_per_doctor(two_queues):
    waits = expected_waits([visit.pk for visit in two_queues.values()], now=NOW)
    got = {name: waits[visit.pk] for name, visit in two_queues.items()}
    # First in line: 10 − 4 .. 20 − 4 minutes of the consultation going on.
    assert got["first"] == WaitEstimate(low_minutes=5, high_minutes=15, ahead=0)
    # One ahead (the one who left unseen does not count): 16 .. 36.
    assert got["second"] == WaitEstimate(low_minutes=15, high_minutes=35, ahead=1)
    assert got["third"] == WaitEstimate(low_minutes=25, high_minutes=55, ahead=2)
    # The other doctor's queue is their own: next, nobody in consultation.
    assert got["theirs"] == WaitEstimate(low_minutes=0, high_minutes=5, ahead=0)


def test_a_consultation_running_long_still_leaves_half_a_median(two_queues):
    later = NOW + minutes(26)  # in consultation for 30 minutes, past its 80th percentile
    first = expected_waits([two_queues["first"].pk], now=later)[two_queues["first"].pk]
    assert (first.low_minutes, first.high_minutes) == (0, 5)


def test_only_waiting_visits_of_today_get_an_estimate(two_queues, today):
    seeing = Visit.objects.get(schedule=today, status=VisitStatus.IN_CONSULTATION)
    waits = expected_waits([seeing.pk, two_queues["first"].pk], now=NOW)
    assert waits[seeing.pk] is None
    assert waits[two_queues["first"].pk] is not None
    tomorrow = expected_waits([two_queues["first"].pk], now=NOW + dt.timedelta(days=1))
    assert tomorrow == {two_queues["first"].pk: None}


def test_the_wait_starts_no_earlier_than_the_slot(doctor, past):
    history(past, [10] * 5)
    afternoon = schedule_of(doctor.employee, slot=TimeSlot.AFTERNOON, room="F1")
    visit = waiting(afternoon, 1)
    estimate = expected_waits([visit.pk], now=NOW)[visit.pk]
    # 10:00 now, the afternoon opens at 13:30: three and a half hours.
    assert (estimate.low_minutes, estimate.high_minutes) == (210, 210)


def test_the_wait_starts_no_earlier_than_the_patients_window(doctor, past, today):
    """Time-sliced booking: a patient whose turn is the 11:00 window waits until it opens,
    however short the queue."""
    history(past, [10] * 5)
    visit = waiting(today, 1, queued_from=dt.time(11))
    estimate = expected_waits([visit.pk], now=NOW)[visit.pk]
    # 10:00 now, the 11:00 window: an hour.
    assert (estimate.low_minutes, estimate.high_minutes) == (60, 60)


@pytest.mark.parametrize("extra", [0, 25])
def test_the_queries_do_not_grow_with_the_queue(
    two_queues, today, extra, django_assert_num_queries
):
    for number in range(extra):
        waiting(today, 100 + number)
    ids = list(Visit.objects.filter(status=VisitStatus.WAITING).values_list("pk", flat=True))
    # The queues, then every doctor's last consultations (both have enough: no department).
    with django_assert_num_queries(2):
        waits = expected_waits(ids, now=NOW)
    assert all(waits[pk] is not None for pk in ids)


def test_the_department_fallback_costs_one_more_query(today, department, django_assert_num_queries):
    colleague = DoctorFactory(department=department)
    history(schedule_of(colleague, day=YESTERDAY, room="C1"), [10] * 5)
    visits = [waiting(today, number) for number in range(1, 8)]
    with django_assert_num_queries(3):
        waits = expected_waits([visit.pk for visit in visits], now=NOW)
    assert [waits[visit.pk].high_minutes for visit in visits] == [5, 10, 20, 30, 40, 50, 60]


# --- Rounding and phrasing --------------------------------------------------------------------

TIMES = ConsultationTimes(median=7.4, p80=12.6, basis="doctor")


def test_ranges_round_to_five_minutes():
    assert estimate_wait(ahead=2, times=TIMES) == WaitEstimate(15, 25, 2)  # 14.8 .. 25.2
    assert estimate_wait(ahead=1, times=TIMES) == WaitEstimate(5, 15, 1)  # 7.4 .. 12.6
    assert estimate_wait(ahead=0, times=TIMES) == WaitEstimate(0, 5, 0)  # at least 5
    assert estimate_wait(ahead=3, times=None) is None


def test_phrases(settings):
    from django.utils import translation

    with translation.override("en"):
        assert wait_phrase(WaitEstimate(15, 25, 2)) == "About 15–25 minutes"
        assert wait_phrase(WaitEstimate(20, 20, 3)) == "About 20 minutes"
        assert wait_phrase(WaitEstimate(0, 5, 0)) == "Next, in about 5 minutes"
        assert wait_phrase(WaitEstimate(5, 15, 0)) == "Next, in about 5–15 minutes"
        assert str(WaitEstimate(0, 10, 1)) == "About 10 minutes"


# --- Pages and API ----------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def test_the_doctors_queue_shows_each_waiting_patients_wait(client, doctor, two_queues, clock):
    client.force_login(doctor)
    html = client.get(reverse("visits:doctor-queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "expected: Next, in about 5–15 minutes" in html
    assert "expected: About 15–35 minutes" in html
    assert "expected: About 25–55 minutes" in html


def test_the_slip_shows_the_wait(client, receptionist, two_queues, clock):
    client.force_login(receptionist)
    url = reverse("visits:slip", args=[two_queues["second"].pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Expected wait" in html and "About 15–35 minutes" in html


def test_the_patients_page_shows_the_wait_and_refreshes(client, two_queues, clock):
    from clinic.tests.factories import PatientUserFactory

    user = PatientUserFactory()
    Visit.objects.filter(pk=two_queues["third"].pk).update(patient=user.patient)
    client.force_login(user)
    page = client.get(reverse("visits:my-visits"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "About 25–55 minutes" in page
    assert 'hx-trigger="every 30s"' in page
    partial = client.get(
        reverse("visits:my-visits"), headers=HTMX, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert partial.lstrip().startswith('<div id="visit-list"') and "About 25–55" in partial


def test_the_display_shows_each_rooms_next_wait(client, department, two_queues, admin_user, clock):
    raw = create_display_token(name="Hall", department=department, by=admin_user)[1]
    url = reverse("display:department", args=[department.code])
    client.get(f"{url}?key={raw}")
    html = client.get(url, headers=HTMX, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('class="display-wait"') == 2
    assert "Next, in about 5–15 minutes" in html  # room A1: doctor A's first waiting
    assert "Next, in about 5 minutes" in html  # room B1


def test_the_doctor_queue_api_answers_the_wait(client, doctor, two_queues, clock):
    client.force_login(doctor)
    rows = client.get("/api/doctor/queue").json()["results"]
    by_id = {row["id"]: row["expected_wait"] for row in rows}
    assert by_id[two_queues["second"].pk] == {"low_minutes": 15, "high_minutes": 35}
    seeing = [row for row in rows if row["status"] == VisitStatus.IN_CONSULTATION]
    assert seeing and seeing[0]["expected_wait"] is None


def test_the_patients_visits_api_answers_the_wait(client, two_queues, clock):
    from clinic.tests.factories import PatientUserFactory

    user = PatientUserFactory()
    Visit.objects.filter(pk=two_queues["first"].pk).update(patient=user.patient)
    client.force_login(user)
    rows = client.get("/api/patient/visits").json()["results"]
    assert [row["expected_wait"] for row in rows] == [{"low_minutes": 5, "high_minutes": 15}]


def test_the_schema_documents_the_wait(client, admin_user):
    client.force_login(admin_user)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "expected_wait" in schema and "ExpectedWait" in schema


def test_a_checked_in_booking_links_the_patient_to_the_wait(client, two_queues, clock):
    from appointments.models import AppointmentStatus
    from appointments.tests.factories import AppointmentFactory
    from clinic.tests.factories import PatientUserFactory

    user = PatientUserFactory()
    visit = two_queues["second"]
    appointment = AppointmentFactory(
        schedule=visit.schedule, patient=user.patient, status=AppointmentStatus.COMPLETED
    )
    Visit.objects.filter(pk=visit.pk).update(patient=user.patient, appointment=appointment)
    client.force_login(user)
    url = reverse("appointments:detail", args=[appointment.pk])
    html = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("visits:my-visits") in html and "expected wait" in html


@pytest.mark.parametrize(
    ("raw", "parsed"), [("", None), ("10", (10.0, 10.0)), ("10-15", (10.0, 15.0))]
)
def test_the_default_is_a_median_or_a_median_and_80th_percentile(raw, parsed):
    from clinic import settings as clinic_settings

    assert clinic_settings._parse_wait_default(raw) == parsed


@pytest.mark.parametrize("raw", ["ten", "15-10", "0", "1-2-3"])
def test_a_bad_default_is_refused(raw):
    from django.core.exceptions import ImproperlyConfigured

    from clinic import settings as clinic_settings

    with pytest.raises(ImproperlyConfigured):
        clinic_settings._parse_wait_default(raw)
