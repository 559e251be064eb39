"""Random mornings of time-sliced booking, checked against the windows' counters after every step.

A hypothesis `RuleBasedStateMachine` plays one morning (08:00-10:00 on tests.support's work
day) of one doctor whose schedule is cut into 30- or 40-minute windows with drawn quotas: one
window with no place at all, one kept for the desk (patients online cannot take it). Its
rules book (patients online for themselves, the desk for a record or for a caller on the
phone, at any minute of the morning), cancel, mark no-shows, check in (at clocks before,
inside and after the windows' check-in times), register walk-ins (at three clocks of the
morning) and let waiting patients leave unseen. Each step's outcome is predicted by a small
model of the rules (which window a booking or a walk-in takes, which refusal comes first),
and a refused step must leave every counter and status as it was.

The invariant, after every step, read back from the database: each window's `used` equals
its live appointments plus its visits not cancelled (and the model's count), within
0..quota; the schedule's `current_patients` equals the sum of its windows' and the live
appointments plus visits not cancelled; its maximum equals the sum of the quotas.

Isolation as in tests/test_workflow_stateful.py: one savepoint per example, rolled back in
teardown(). Runs on SQLite and on MariaDB. Budget: the profile's examples (40 in CI), 30
steps each: about 30 s on SQLite, 60 s on MariaDB.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count, Q
from django.test import override_settings
from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from appointments.exceptions import DuplicateBooking
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.services import book_appointment
from clinic.exceptions import ClinicError, InvalidTransition
from clinic.tests.factories import (
    AdminUserFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
)
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule, ScheduleWindow
from scheduling.services import WindowQuota, set_window_quotas
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import AlreadyInQueue, CheckInClosed
from visits.models import Visit, VisitStatus
from visits.services import check_in, register_walk_in

A = AppointmentStatus
V = VisitStatus
STARTS, ENDS = dt.time(8, 0), dt.time(10, 0)
BOOKING_CLOCK = clinic_time(10, day=WORK_DAY - dt.timedelta(days=1))
# Before the first window, inside the second, inside the last: check-in opens 60 minutes
# before a window (09:00's at 08:00), walk-ins take the running window or a later one.
DESK_CLOCKS = [clinic_time(7, 30), clinic_time(8, 40), clinic_time(9, 50)]
NO_SHOW_CLOCK = clinic_time(10, 30)  # the schedule's end plus the 30 minutes' grace
ONLINE = ["online 0", "online 1", "online 2"]
RECORDS = ["record 0", "record 1", "record 2"]
CALLERS = ["caller 0", "caller 1"]


def local(moment: dt.datetime) -> dt.time:
    return moment.astimezone(clinic_time(8).tzinfo).time()


class WindowedMorning(RuleBasedStateMachine):
    appointments = Bundle("appointments")
    visits = Bundle("visits")

    def __init__(self) -> None:
        super().__init__()
        self._example = transaction.atomic()
        self._example.__enter__()
        self.schedule: Schedule | None = None
        # The model: what each booking and visit holds, and whose it is.
        self.booking: dict[int, dict[str, Any]] = {}
        self.visit: dict[int, dict[str, Any]] = {}
        self.caller_record: dict[str, int] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    @initialize(
        window_minutes=st.sampled_from([30, 40]),
        quotas=st.lists(st.integers(0, 3), min_size=4, max_size=4),
        closed=st.integers(0, 3),
        kept=st.integers(0, 3),
    )
    def the_morning(self, window_minutes, quotas, closed, kept):
        schedule = ScheduleFactory(
            work_date=WORK_DAY,
            start_time=STARTS,
            end_time=ENDS,
            window_minutes=window_minutes,
            max_patients=6,
        )
        windows = list(schedule.windows.order_by("start_time"))
        quotas = quotas[: len(windows)]
        closed, kept = closed % len(windows), kept % len(windows)
        quotas[closed] = 0
        if kept == closed:
            kept = (kept + 1) % len(windows)
        self.schedule = set_window_quotas(
            schedule=schedule,
            quotas=[
                WindowQuota(window.pk, quota, index == kept)
                for index, (window, quota) in enumerate(zip(windows, quotas, strict=True))
            ],
            by=AdminUserFactory(),
        )
        self.windows = list(ScheduleWindow.objects.filter(schedule=schedule).order_by("start_time"))
        self.desk = ReceptionistFactory()
        users = PatientUserFactory.create_batch(len(ONLINE))
        self.users = dict(zip(ONLINE, users, strict=True))
        self.records = {
            **{name: user.patient for name, user in self.users.items()},
            **dict(zip(RECORDS, PatientFactory.create_batch(len(RECORDS)), strict=True)),
        }

    # -- the model ------------------------------------------------------------------------

    def window_of(self, moment: dt.datetime) -> ScheduleWindow:
        return next(w for w in self.windows if w.start_time <= local(moment) < w.end_time)

    def held(self, window_id: int) -> int:
        live = sum(
            1
            for b in self.booking.values()
            if b["window"] == window_id and b["status"] in LIVE_STATUSES
        )
        seen = sum(
            1
            for v in self.visit.values()
            if v["window"] == window_id and v["status"] != V.CANCELLED
        )
        return live + seen

    def patient_of(self, person: str) -> int | None:
        if person in CALLERS:
            return self.caller_record.get(person)
        return self.records[person].pk

    def in_queue(self, patient_id: int | None) -> bool:
        return patient_id is not None and any(
            v["patient"] == patient_id and v["status"] == V.WAITING for v in self.visit.values()
        )

    def holds_live_booking(self, person: str) -> bool:
        return any(
            b["person"] == person and b["status"] in LIVE_STATUSES for b in self.booking.values()
        )

    def rows(self) -> tuple[list, list, list, list]:
        """Every counter and status the rules write, to compare around a refused step."""
        return (
            list(Schedule.objects.filter(pk=self.schedule.pk).values_list("current_patients")),
            list(ScheduleWindow.objects.filter(schedule=self.schedule).values_list("pk", "used")),
            list(Appointment.objects.order_by("pk").values_list("pk", "status")),
            list(Visit.objects.order_by("pk").values_list("pk", "status")),
        )

    def attempt(self, name: str, step, expected: type[ClinicError] | None) -> Any:
        """Run a step; its refusal must be the expected one and change nothing. The outcome
        is a hypothesis event (`--hypothesis-show-statistics`: what the examples reached)."""
        event(f"{name}: {expected.__name__ if expected else 'done'}")
        before = self.rows()
        try:
            result = step()
        except ClinicError as error:
            assert type(error) is expected, f"refused with {error!r}, expected {expected}"
            assert self.rows() == before, "a refused step wrote something"
            return None
        assert expected is None, f"done, but {expected.__name__} was expected"
        return result

    # -- rules ----------------------------------------------------------------------------

    @rule(
        target=appointments,
        person=st.sampled_from([*ONLINE, *RECORDS, *CALLERS]),
        minute=st.integers(0, 119),
    )
    def book(self, person, minute):
        expected_time = clinic_time(8 + minute // 60, minute % 60)
        window = self.window_of(expected_time)
        online = person in ONLINE
        if self.holds_live_booking(person):
            expected = DuplicateBooking
        elif window.quota - self.held(window.pk) <= 0 or (online and window.desk_only):
            expected = NoCapacity
        else:
            expected = None
        if online:
            who = {"by": self.users[person]}
        elif person in RECORDS:
            who = {"by": self.desk, "patient": self.records[person]}
        else:
            index = CALLERS.index(person)
            who = {
                "by": self.desk,
                "patient_name": f"Caller {'AB'[index]}",
                "phone": f"1370000000{index}",
            }
        appointment = self.attempt(
            "book",
            lambda: book_appointment(
                department=self.schedule.department,
                expected_time=expected_time,
                now=BOOKING_CLOCK,
                **who,
            ),
            expected,
        )
        if appointment is None:
            return multiple()
        assert appointment.window_id == window.pk
        self.booking[appointment.pk] = {"window": window.pk, "status": A.PENDING, "person": person}
        return appointment.pk

    @rule(appointment=appointments)
    def cancel(self, appointment):
        expected = (
            None if self.booking[appointment]["status"] in LIVE_STATUSES else InvalidTransition
        )
        current = Appointment.objects.get(pk=appointment)
        self.attempt("cancel", lambda: current.cancel(by=self.desk, reason="plans"), expected)
        if expected is None:
            self.booking[appointment]["status"] = A.CANCELLED

    @rule(appointment=appointments)
    def no_show(self, appointment):
        expected = (
            None if self.booking[appointment]["status"] in LIVE_STATUSES else InvalidTransition
        )
        current = Appointment.objects.get(pk=appointment)
        self.attempt(
            "no_show", lambda: current.mark_no_show(by=self.desk, now=NO_SHOW_CLOCK), expected
        )
        if expected is None:
            self.booking[appointment]["status"] = A.NO_SHOW

    @rule(target=visits, appointment=appointments, now=st.sampled_from(DESK_CLOCKS))
    def check_in(self, appointment, now):
        booked = self.booking[appointment]
        window = next(w for w in self.windows if w.pk == booked["window"])
        early = dt.timedelta(minutes=django_settings.CLINIC_CHECK_IN_EARLY_MINUTES)
        if booked["status"] not in LIVE_STATUSES:
            expected = InvalidTransition
        elif not window.starts_at(WORK_DAY) - early <= now < self.schedule.ends_at:
            expected = CheckInClosed
        elif self.in_queue(self.patient_of(booked["person"])):
            expected = AlreadyInQueue
        else:
            expected = None
        current = Appointment.objects.get(pk=appointment)
        visit = self.attempt(
            "check_in",
            lambda: check_in(
                appointment_id=appointment,
                phone=current.phone,
                id_card=current.id_card,
                by=self.desk,
                now=now,
            ),
            expected,
        )
        if visit is None:
            return multiple()
        assert visit.window_id == window.pk, "a booking's place stays in its window"
        assert visit.arrived_late == (now >= window.ends_at(WORK_DAY))
        booked["status"] = A.COMPLETED
        if booked["person"] in CALLERS:
            self.caller_record[booked["person"]] = visit.patient_id
        self.visit[visit.pk] = {
            "window": window.pk,
            "status": V.WAITING,
            "patient": visit.patient_id,
        }
        return visit.pk

    @rule(
        target=visits, person=st.sampled_from([*ONLINE, *RECORDS]), now=st.sampled_from(DESK_CLOCKS)
    )
    def walk_in(self, person, now):
        patient = self.records[person]
        open_windows = [
            w for w in self.windows if w.end_time > local(now) and self.held(w.pk) < w.quota
        ]
        window = min(open_windows, key=lambda w: w.start_time, default=None)
        if self.in_queue(patient.pk):
            expected = AlreadyInQueue
        elif window is None:
            expected = NoCapacity
        else:
            expected = None
        visit = self.attempt(
            "walk_in",
            lambda: register_walk_in(
                by=self.desk, department=self.schedule.department, patient=patient, now=now
            ),
            expected,
        )
        if visit is None:
            return multiple()
        assert visit.window_id == window.pk, "the running window with room, else the next"
        self.visit[visit.pk] = {"window": window.pk, "status": V.WAITING, "patient": patient.pk}
        return visit.pk

    @rule(visit=visits)
    def leave_unseen(self, visit):
        expected = None if self.visit[visit]["status"] == V.WAITING else InvalidTransition
        current = Visit.objects.get(pk=visit)
        self.attempt("leave_unseen", lambda: current.leave_unseen(by=self.desk), expected)
        if expected is None:
            self.visit[visit]["status"] = V.CANCELLED

    # -- the invariant --------------------------------------------------------------------

    @invariant()
    def windows_and_schedule_count_exactly(self):
        if self.schedule is None:
            return
        windows = ScheduleWindow.objects.filter(schedule=self.schedule).annotate(
            live=Count(
                "appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True
            ),
            seen=Count("visits", filter=~Q(visits__status=V.CANCELLED), distinct=True),
        )
        used = quotas = 0
        for window in windows:
            assert window.used == window.live + window.seen, (
                f"{window.label}: {window.used} counted, {window.live} live bookings + "
                f"{window.seen} visits"
            )
            assert window.used == self.held(window.pk), f"{window.label}: the model differs"
            assert 0 <= window.used <= window.quota
            used += window.used
            quotas += window.quota
        schedule = Schedule.objects.get(pk=self.schedule.pk)
        live = Appointment.objects.filter(schedule=schedule, status__in=LIVE_STATUSES).count()
        seen = Visit.objects.filter(schedule=schedule).exclude(status=V.CANCELLED).count()
        assert schedule.current_patients == used == live + seen
        assert schedule.max_patients == quotas


# The no-show policy is not in this model (its rules have their own tests,
# appointments/tests/test_no_show_policy.py): a patient's random no-shows must not stop them
# booking here.
@override_settings(CLINIC_NO_SHOW_LIMIT=0)
@pytest.mark.django_db
def test_random_mornings_keep_every_window_and_the_schedule_exact():
    run_state_machine_as_test(WindowedMorning, settings=settings(stateful_step_count=30))
