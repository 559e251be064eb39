"""Expected waits: the one estimate of how long a waiting patient will wait.

A doctor's consultation times are the median and 80th percentile of their last
CLINIC_WAIT_SAMPLE finished consultations (finished_at − called_at, within
CLINIC_WAIT_LOOKBACK_DAYS and finished by `now`). A doctor with fewer than
CLINIC_WAIT_MIN_SAMPLE of them is estimated from the department's, and a department with
fewer from CLINIC_WAIT_DEFAULT_MINUTES; without any of these there is no estimate, rather than a
made-up number.

A waiting patient's wait is the people ahead of them in the doctor's queue (the one queue
order, Visit.objects.in_queue_order(), over the doctor's schedules of the day) times the
median .. times the 80th percentile, plus what is left of the consultation going on (elapsed-
aware: the median or 80th percentile less the time already spent, at least half a median for
the upper bound once it has run long), and never before the patient's slot opens. It is shown
as a range rounded to 5 minutes.

The inputs come from a fixed number of queries whatever the length of the queues: one for
the positions of every queue concerned, one for every doctor's last consultations (ranked in
the database with a window function), and one for the departments' when some doctor has too
few. Percentiles are computed here from the durations those queries return.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from scheduling.models import Schedule, at_clinic_time
from visits.models import Visit, VisitStatus

ROUND_TO_MINUTES = 5
# Finished consultations: called in and sent on to payment (and perhaps paid since).
_FINISHED_STATUSES = (VisitStatus.AWAITING_PAYMENT, VisitStatus.LEFT)


@dataclass(frozen=True)
class ConsultationTimes:
    """How long a consultation takes, in minutes, and where that comes from."""

    median: float
    p80: float
    basis: str  # "doctor", "department" or "default"
    sample: int = 0


@dataclass(frozen=True)
class WaitEstimate:
    """A waiting patient's expected wait, in minutes (rounded to 5), and how many patients
    are waiting ahead of them."""

    low_minutes: int
    high_minutes: int
    ahead: int

    @property
    def is_next(self) -> bool:
        return self.ahead == 0

    @property
    def text(self) -> str:
        return wait_phrase(self)

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, int]:
        return {"low_minutes": self.low_minutes, "high_minutes": self.high_minutes}


def wait_phrase(estimate: WaitEstimate) -> str:
    """ "About 15–25 minutes", or "Next, in about 5 minutes" for the first in line; a single
    figure when the range rounds to one."""
    low, high = estimate.low_minutes, estimate.high_minutes
    single = low == high or low == 0
    if estimate.is_next:
        if single:
            return ngettext(
                "Next, in about %(minutes)d minute",
                "Next, in about %(minutes)d minutes",
                high,
            ) % {"minutes": high}
        return gettext("Next, in about %(low)d–%(high)d minutes") % {"low": low, "high": high}
    if single:
        return ngettext("About %(minutes)d minute", "About %(minutes)d minutes", high) % {
            "minutes": high
        }
    return gettext("About %(low)d–%(high)d minutes") % {"low": low, "high": high}


# --- Consultation times -----------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile of `values` by linear interpolation between the closest ranks
    (the median of 10, 20 is 15)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def times_of(durations: Sequence[float], *, basis: str) -> ConsultationTimes:
    return ConsultationTimes(
        median=percentile(durations, 0.5),
        p80=percentile(durations, 0.8),
        basis=basis,
        sample=len(durations),
    )


def finished_consultations(group: str, ids: Iterable[int], *, now: dt.datetime) -> QuerySet:
    """The finished consultations of the groups (`schedule__doctor_id` or `department_id`)
    `ids` within the lookback, finished by `now`: what recent_consultations() ranks."""
    today = timezone.localdate(now)
    since = today - dt.timedelta(days=settings.CLINIC_WAIT_LOOKBACK_DAYS)
    days = {"visit_date__gte": since, "visit_date__lte": today}
    if group == "schedule__doctor_id":
        # The same days on the schedule's side: the doctors' schedules are then one range of
        # the (doctor, work_date) index, not every schedule they ever had.
        days |= {"schedule__work_date__gte": since, "schedule__work_date__lte": today}
    return Visit.objects.filter(
        **{f"{group}__in": sorted(set(ids))},
        **days,
        status__in=_FINISHED_STATUSES,
        called_at__isnull=False,
        finished_at__isnull=False,
        finished_at__lte=now,
    )


def recent_consultations(group: str, ids: Iterable[int], *, now: dt.datetime) -> QuerySet:
    """(group key, called_at, finished_at) of the last CLINIC_WAIT_SAMPLE finished
    consultations of each group among `ids`: one query, ranked by the database
    (ROW_NUMBER() per group, newest first)."""
    return (
        finished_consultations(group, ids, now=now)
        .annotate(
            recent_rank=Window(
                RowNumber(),
                partition_by=[F(group)],
                order_by=[F("finished_at").desc(), F("id").desc()],
            )
        )
        .filter(recent_rank__lte=settings.CLINIC_WAIT_SAMPLE)
        # No ORDER BY (the model's default ordering would sort the rows once more).
        .order_by()
        .values_list(group, "called_at", "finished_at")
    )


def last_durations(group: str, ids: Iterable[int], *, now: dt.datetime) -> dict[int, list]:
    """The durations in minutes of recent_consultations(), by group."""
    ids = set(ids)
    if not ids:
        return {}
    durations: dict[int, list] = {}
    for key, called_at, finished_at in recent_consultations(group, ids, now=now):
        minutes = (finished_at - called_at).total_seconds() / 60
        if minutes >= 0:
            durations.setdefault(key, []).append(minutes)
    return durations


def default_times() -> ConsultationTimes | None:
    configured = settings.CLINIC_WAIT_DEFAULT_MINUTES
    if not configured:
        return None
    return ConsultationTimes(median=configured[0], p80=configured[1], basis="default")


def consultation_times(
    doctor_departments: dict[int, int], *, now: dt.datetime
) -> dict[int, ConsultationTimes | None]:
    """For each doctor (doctor id → the department whose queue it is): their consultation
    times, else their department's, else the configured default, else None. One query for
    all the doctors, one more for the departments of those with too few consultations."""
    minimum = settings.CLINIC_WAIT_MIN_SAMPLE
    by_doctor = last_durations("schedule__doctor_id", doctor_departments, now=now)
    short = {
        doctor: department
        for doctor, department in doctor_departments.items()
        if len(by_doctor.get(doctor, ())) < minimum
    }
    by_department = last_durations("department_id", short.values(), now=now) if short else {}
    fallback = default_times()
    times: dict[int, ConsultationTimes | None] = {}
    for doctor, department in doctor_departments.items():
        if doctor not in short:
            times[doctor] = times_of(by_doctor[doctor], basis="doctor")
        elif len(by_department.get(department, ())) >= minimum:
            times[doctor] = times_of(by_department[department], basis="department")
        else:
            times[doctor] = fallback
    return times


# --- The estimate -----------------------------------------------------------------------------


def _round(minutes: float) -> int:
    """To the nearest 5 minutes, halves up."""
    return math.floor(minutes / ROUND_TO_MINUTES + 0.5) * ROUND_TO_MINUTES


def estimate_wait(
    *,
    ahead: int,
    times: ConsultationTimes | None,
    in_consultation_for: dt.timedelta | None = None,
    opens_in: dt.timedelta | None = None,
) -> WaitEstimate | None:
    """The wait of a patient with `ahead` patients waiting before them, while the doctor has
    been with someone for `in_consultation_for` (None: nobody is in consultation) and the
    patient's slot opens in `opens_in` (None or negative: already open). None without a basis."""
    if times is None:
        return None
    low = ahead * times.median
    high = ahead * times.p80
    if in_consultation_for is not None:
        elapsed = in_consultation_for.total_seconds() / 60
        low += max(times.median - elapsed, 0.0)
        # Past its usual length a consultation still has a little to go, not nothing.
        high += max(times.p80 - elapsed, times.median / 2)
    if opens_in is not None:
        opening = opens_in.total_seconds() / 60
        low, high = max(low, opening), max(high, opening)
    low_rounded = _round(low)
    high_rounded = max(_round(high), low_rounded, ROUND_TO_MINUTES)
    return WaitEstimate(low_minutes=low_rounded, high_minutes=high_rounded, ahead=ahead)


@dataclass
class _Queue:
    department_id: int
    consultation_started: dt.datetime | None = None
    waiting: int = 0


def expected_waits(
    visit_ids: Iterable[int], *, now: dt.datetime | None = None
) -> dict[int, WaitEstimate | None]:
    """The expected wait of each of these visits that is waiting today (others: None).

    Three queries at most, whatever the number of visits and the length of the queues: the
    queues of the doctors concerned (today's waiting and in-consultation visits in queue
    order), the doctors' last consultations, the departments' when needed.
    """
    now = now or timezone.now()
    wanted = set(visit_ids)
    estimates: dict[int, WaitEstimate | None] = dict.fromkeys(wanted)
    if not wanted:
        return estimates
    today = timezone.localdate(now)
    doctors = Schedule.objects.filter(visits__pk__in=wanted, work_date=today).values("doctor_id")
    rows = list(
        Visit.objects.filter(
            visit_date=today,
            status__in=(VisitStatus.WAITING, VisitStatus.IN_CONSULTATION),
            schedule__doctor_id__in=doctors,
        )
        .in_queue_order()
        .values_list(
            "pk",
            "status",
            "called_at",
            "department_id",
            "schedule__doctor_id",
            "schedule__work_date",
            "queued_from",
        )
    )
    queues: dict[int, _Queue] = {}
    for _pk, status, called_at, department_id, doctor_id, _day, _slot in rows:
        queue = queues.setdefault(doctor_id, _Queue(department_id=department_id))
        # A consultation without a call time (data written around the services) gives no
        # elapsed time to count: it is left out rather than guessed.
        if (
            status == VisitStatus.IN_CONSULTATION
            and called_at is not None
            and (queue.consultation_started is None or called_at > queue.consultation_started)
        ):
            # Two patients in consultation at once (a desk slip): the latest one counts.
            queue.consultation_started = called_at
    doctors_wanted = {row[4] for row in rows if row[0] in wanted}
    needed = {doctor_id: queues[doctor_id].department_id for doctor_id in doctors_wanted}
    times = consultation_times(needed, now=now) if needed else {}
    for pk, status, _called, _department, doctor_id, work_date, queued_from in rows:
        if status != VisitStatus.WAITING:
            continue
        queue = queues[doctor_id]
        ahead = queue.waiting
        queue.waiting += 1
        if pk not in wanted:
            continue
        started = queue.consultation_started
        estimates[pk] = estimate_wait(
            ahead=ahead,
            times=times.get(doctor_id),
            in_consultation_for=now - started if started is not None else None,
            # Never sooner than the patient's window (their turn's) opens.
            opens_in=at_clinic_time(work_date, queued_from) - now,
        )
    return estimates


def attach_expected_waits(visits: Sequence[Visit], *, now: dt.datetime | None = None) -> None:
    """Set `expected_wait` (a WaitEstimate or None) on each of `visits`, for pages and the
    API. No query at all unless one of them is waiting today."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    waiting = [
        visit.pk
        for visit in visits
        if visit.status == VisitStatus.WAITING and visit.visit_date == today
    ]
    estimates = expected_waits(waiting, now=now) if waiting else {}
    for visit in visits:
        visit.expected_wait = estimates.get(visit.pk)
