"""Real threads against MariaDB: a freed place goes to exactly one person, and the counters
stay exact, whatever the interleaving of cancellations, bookings, offers, acceptances and
expiry.

Rows are made in the main thread (committed: `transaction=True`), the threads start together
on a `threading.Barrier` (tests.support.run_at_once: each opens its connection before it
and closes it in `finally`), and every outcome is read back from the database. Each race runs
a few rounds on fresh rows, so that more than one interleaving is met. SQLite has no row
locks: the root conftest skips these tests there.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest
from django.utils import timezone

from appointments import waitlist
from appointments.exceptions import OfferExpired
from appointments.models import (
    LIVE_STATUSES,
    Appointment,
    AppointmentStatus,
    WaitlistEntry,
    WaitlistStatus,
)
from appointments.services import book_appointment
from billing.invariants import find_problems
from clinic.exceptions import InvalidTransition
from clinic.tests.factories import DoctorFactory, PatientUserFactory, RoomFactory
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time, run_at_once

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

# The day before the work day: every window is ahead.
CLOCK = clinic_time(10, day=WORK_DAY - dt.timedelta(days=1))
AT = clinic_time(9)
ROUNDS = 4


def one_place_schedule(department=None) -> Schedule:
    doctor = DoctorFactory(department=department) if department else DoctorFactory()
    return ScheduleFactory(
        doctor=doctor,
        department=doctor.department,
        room=RoomFactory(department=doctor.department),
        work_date=WORK_DAY,
        max_patients=1,
    )


def book(user, schedule, **kwargs) -> Appointment:
    return book_appointment(
        by=user, department=schedule.department, expected_time=AT, now=CLOCK, **kwargs
    )


def join(user, schedule) -> WaitlistEntry:
    return waitlist.join(by=user, department=schedule.department, expected_time=AT, now=CLOCK)


def places_used(schedule: Schedule) -> tuple[int, int]:
    schedule.refresh_from_db()
    return schedule.current_patients, sum(w.used for w in schedule.windows.all())


def test_a_cancellation_racing_a_booking_for_the_last_place_gives_it_once():
    for _round in range(ROUNDS):
        schedule = one_place_schedule()
        holder, booker = PatientUserFactory(), PatientUserFactory()
        appointment = book(holder, schedule)
        entry = join(PatientUserFactory(), schedule)

        cancelled, booked = run_at_once(
            [
                partial(appointment.cancel, by=holder),
                partial(book, booker, schedule),
            ]
        )
        assert cancelled is None
        entry.refresh_from_db()
        got_it = [
            entry.status == WaitlistStatus.OFFERED,
            isinstance(booked, Appointment),
        ]
        assert got_it.count(True) == 1, (entry.status, booked)
        if not got_it[1]:
            assert isinstance(booked, NoCapacity)
        assert places_used(schedule) == (1, 1)
        live = Appointment.objects.filter(schedule=schedule, status__in=LIVE_STATUSES).count()
        held = WaitlistEntry.objects.filter(
            offered_schedule=schedule, status=WaitlistStatus.OFFERED
        ).count()
        assert live + held == 1
    assert find_problems() == []


def test_two_places_freed_at_once_go_to_two_people():
    for _round in range(ROUNDS):
        first = one_place_schedule()
        second = one_place_schedule(first.department)
        holders = [PatientUserFactory(), PatientUserFactory()]
        appointments = [
            book(holders[0], first, doctor=first.doctor),
            book(holders[1], second, doctor=second.doctor),
        ]
        entries = [join(PatientUserFactory(), first) for _ in range(3)]

        results = run_at_once(
            [
                partial(appointments[0].cancel, by=holders[0]),
                partial(appointments[1].cancel, by=holders[1]),
            ]
        )
        assert results == [None, None]
        for entry in entries:
            entry.refresh_from_db()
        # First come first: the two earliest are offered, one place each.
        assert [entry.status for entry in entries] == [
            WaitlistStatus.OFFERED,
            WaitlistStatus.OFFERED,
            WaitlistStatus.WAITING,
        ]
        assert {entries[0].offered_schedule_id, entries[1].offered_schedule_id} == {
            first.pk,
            second.pk,
        }
        assert places_used(first) == (1, 1)
        assert places_used(second) == (1, 1)
    assert find_problems() == []


def test_accept_racing_expiry_has_one_outcome():
    for _round in range(ROUNDS):
        schedule = one_place_schedule()
        holder, waiting = PatientUserFactory(), PatientUserFactory()
        appointment = book(holder, schedule)
        entry = join(waiting, schedule)
        appointment.cancel(by=holder)
        entry.refresh_from_db()
        assert entry.status == WaitlistStatus.OFFERED
        expires_at = timezone.now() + dt.timedelta(minutes=1)
        WaitlistEntry.objects.filter(pk=entry.pk).update(offer_expires_at=expires_at)

        accepted, expired = run_at_once(
            [
                partial(
                    waitlist.accept,
                    by=waiting,
                    entry=entry,
                    now=expires_at - dt.timedelta(seconds=1),
                ),
                partial(
                    waitlist.expire_offer,
                    entry_id=entry.pk,
                    now=expires_at + dt.timedelta(seconds=1),
                ),
            ]
        )
        entry.refresh_from_db()
        if isinstance(accepted, Appointment):
            assert expired is False
            assert entry.status == WaitlistStatus.ACCEPTED
            assert entry.appointment_id == accepted.pk
            assert accepted.status == AppointmentStatus.PENDING
            assert places_used(schedule) == (1, 1)
        else:
            assert isinstance(accepted, InvalidTransition | OfferExpired), accepted
            assert expired is True
            assert entry.status == WaitlistStatus.EXPIRED
            assert not Appointment.objects.filter(
                schedule=schedule, status__in=LIVE_STATUSES
            ).exists()
            assert places_used(schedule) == (0, 0)
    assert find_problems() == []
