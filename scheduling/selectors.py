"""Reading availability: which half-day slots and which windows of a department have places
left."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from clinic.models import Department, english_page
from scheduling.models import (
    HALF_DAY_SLOTS,
    OVERLAPPING_SLOTS,
    Schedule,
    ScheduleWindow,
    TimeSlot,
    at_clinic_time,
    half_day_slot_at,
    monday_of,
    slot_bounds,
    slot_hours,
)


@dataclass(frozen=True)
class DoctorPlaces:
    schedule_id: int
    doctor_id: int
    emp_id: str
    doctor_name: str
    title: str
    room_number: str
    remaining: int
    title_en: str = ""

    @property
    def display_title(self) -> str:
        """The title in the page's language, as Employee.display_title."""
        return self.title_en if self.title_en and english_page() else self.title


def window_places(window: ScheduleWindow, *, for_patient: bool) -> int:
    """The places a window offers: none to patients in a window kept for the desk."""
    return 0 if for_patient and window.desk_only else window.remaining


@dataclass(frozen=True, kw_only=True)
class DoctorWindowPlaces(DoctorPlaces):
    """One doctor's window (of one schedule) with the places it offers."""

    window_id: int
    desk_only: bool


@dataclass
class WindowAvailability:
    """The windows of a department's schedules on one date that share their start and end
    (one row, whichever doctors hold them), with the places each doctor has left in it.

    For patients a window kept for the desk offers no place; for the desk it offers all of
    its own."""

    work_date: dt.date
    start_time: dt.time
    end_time: dt.time
    has_ended: bool
    doctors: list[DoctorWindowPlaces] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"

    @property
    def value(self) -> str:
        """What a form posts to choose this window: "09:30-10:00"."""
        return f"{self.start_time:%H:%M}-{self.end_time:%H:%M}"

    @property
    def starts_at(self) -> dt.datetime:
        return at_clinic_time(self.work_date, self.start_time)

    @property
    def ends_at(self) -> dt.datetime:
        return at_clinic_time(self.work_date, self.end_time)

    @property
    def time_slot(self) -> str | None:
        """The half-day slot a booking at this window's start falls in (None in the break)."""
        return half_day_slot_at(self.start_time)

    @property
    def remaining(self) -> int:
        return sum(doctor.remaining for doctor in self.doctors)

    @property
    def is_full(self) -> bool:
        return self.remaining == 0

    @property
    def is_bookable(self) -> bool:
        return not self.has_ended and self.remaining > 0 and self.time_slot is not None

    def as_dict(self) -> dict:
        return {
            "start": f"{self.start_time:%H:%M}",
            "end": f"{self.end_time:%H:%M}",
            "label": self.label,
            "remaining": self.remaining,
        }


def _window_rows(
    windows: list[ScheduleWindow], *, now: dt.datetime, for_patient: bool
) -> list[WindowAvailability]:
    """Windows (with their schedule, doctor and room loaded) grouped into rows by date, start
    and end, in time order; each doctor's places in the order of their schedules."""
    rows: dict[tuple[dt.date, dt.time, dt.time], WindowAvailability] = {}
    for window in sorted(
        windows,
        key=lambda w: (w.schedule.work_date, w.start_time, w.end_time, w.schedule_id),
    ):
        schedule = window.schedule
        key = (schedule.work_date, window.start_time, window.end_time)
        if key not in rows:
            rows[key] = WindowAvailability(
                work_date=schedule.work_date,
                start_time=window.start_time,
                end_time=window.end_time,
                has_ended=window.ends_at(schedule.work_date) <= now,
            )
        rows[key].doctors.append(
            DoctorWindowPlaces(
                schedule_id=schedule.pk,
                window_id=window.pk,
                doctor_id=schedule.doctor_id,
                emp_id=schedule.doctor.emp_id,
                doctor_name=schedule.doctor.name,
                title=schedule.doctor.title,
                title_en=schedule.doctor.title_en,
                room_number=schedule.room.room_number,
                remaining=window_places(window, for_patient=for_patient),
                desk_only=window.desk_only,
            )
        )
    return list(rows.values())


def window_availability(
    *,
    department: Department,
    work_date: dt.date,
    now: dt.datetime | None = None,
    for_patient: bool = True,
) -> list[WindowAvailability]:
    """Each window of a department's schedules on a date, in time order, with its free
    places overall and per doctor (one query). Windows of different schedules with the same
    start and end are one row; a window has ended once its end has passed; a window kept for
    the desk offers patients nothing (`for_patient`), the desk all of its places."""
    windows = ScheduleWindow.objects.filter(
        schedule__department=department, schedule__work_date=work_date
    ).select_related("schedule__doctor", "schedule__room")
    return _window_rows(list(windows), now=now or timezone.now(), for_patient=for_patient)


@dataclass
class SlotAvailability:
    """One bookable half-day slot of a department on one date."""

    work_date: dt.date
    time_slot: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    has_ended: bool
    doctors: list[DoctorPlaces] = field(default_factory=list)
    # The slot's windows (those starting within its hours), in time order.
    windows: list[WindowAvailability] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return sum(doctor.remaining for doctor in self.doctors)

    @property
    def is_full(self) -> bool:
        return self.remaining == 0

    @property
    def is_bookable(self) -> bool:
        return not self.has_ended and self.remaining > 0

    @property
    def time_slot_label(self) -> str:
        return str(TimeSlot(self.time_slot).label)

    def as_dict(self) -> dict:
        return {
            "date": self.work_date.isoformat(),
            "time_slot": self.time_slot,
            "remaining": self.remaining,
            "windows": [window.as_dict() for window in self.windows if window.is_bookable],
        }


def booking_horizon_end(today: dt.date | None = None) -> dt.date:
    today = today or timezone.localdate()
    return today + dt.timedelta(days=settings.CLINIC_BOOKING_HORIZON_DAYS)


def slot_availability(
    *,
    department: Department,
    start_date: dt.date,
    end_date: dt.date,
    now: dt.datetime | None = None,
    for_patient: bool = True,
) -> list[SlotAvailability]:
    """Every half-day slot with at least one schedule, in date and slot order, with its
    windows (two queries: the schedules, then their windows).

    A full-day schedule's places count in both halves: it is one pool that either half
    may draw from. Its windows belong to the half they start in.
    """
    now = now or timezone.now()
    schedules = (
        Schedule.objects.filter(
            department=department, work_date__gte=start_date, work_date__lte=end_date
        )
        .select_related("doctor", "room")
        .prefetch_related("windows")
        .order_by("work_date", "id")
    )
    slots: dict[tuple[dt.date, str], SlotAvailability] = {}
    for schedule in schedules:
        for half in HALF_DAY_SLOTS:
            if schedule.time_slot not in OVERLAPPING_SLOTS[half]:
                continue
            key = (schedule.work_date, half)
            if key not in slots:
                starts_at, ends_at = slot_bounds(schedule.work_date, half)
                slots[key] = SlotAvailability(
                    work_date=schedule.work_date,
                    time_slot=half,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    has_ended=ends_at <= now,
                )
            slots[key].doctors.append(
                DoctorPlaces(
                    schedule_id=schedule.pk,
                    doctor_id=schedule.doctor_id,
                    emp_id=schedule.doctor.emp_id,
                    doctor_name=schedule.doctor.name,
                    title=schedule.doctor.title,
                    title_en=schedule.doctor.title_en,
                    room_number=schedule.room.room_number,
                    remaining=_places_in_half(schedule, half, now=now, for_patient=for_patient),
                )
            )
    windows = []
    for schedule in schedules:
        for window in schedule.windows.all():
            window.schedule = schedule
            windows.append(window)
    for row in _window_rows(windows, now=now, for_patient=for_patient):
        slot = slots.get((row.work_date, row.time_slot))
        if slot is not None:
            slot.windows.append(row)
    return [slots[key] for key in sorted(slots, key=lambda k: (k[0], HALF_DAY_SLOTS.index(k[1])))]


def _places_in_half(schedule: Schedule, half: str, *, now: dt.datetime, for_patient: bool) -> int:
    """The places a schedule offers in a half-day: those of its windows (prefetched) that
    overlap the half and have not ended, none online in a window kept for the desk. A window
    spanning both halves (one window for a whole day) offers its places in both: one pool."""
    opens, closes = slot_hours(half)
    return sum(
        window_places(window, for_patient=for_patient)
        for window in schedule.windows.all()
        if window.start_time < closes
        and window.end_time > opens
        and window.ends_at(schedule.work_date) > now
    )


def next_available_slots(
    *,
    department: Department,
    after: tuple[dt.date, str] | None = None,
    now: dt.datetime | None = None,
    limit: int = 3,
) -> list[SlotAvailability]:
    """The next bookable slots of a department (after a given one), within the horizon."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    slots = slot_availability(
        department=department, start_date=today, end_date=booking_horizon_end(today), now=now
    )
    order = {slot: index for index, slot in enumerate(HALF_DAY_SLOTS)}
    found = []
    for slot in slots:
        if after is not None and (slot.work_date, order[slot.time_slot]) <= (
            after[0],
            order[after[1]],
        ):
            continue
        if slot.is_bookable:
            found.append(slot)
            if len(found) == limit:
                break
    return found


# --- Week planner -------------------------------------------------------------------------


# How far ahead the planner looks for a week to propose: a clinic plans weeks, not years.
PROPOSAL_HORIZON_WEEKS = 52


def first_unscheduled_week(*, today: dt.date | None = None) -> dt.date:
    """The Monday of the week the planner proposes: the first week, from the current one on,
    with no schedule on any of its seven days, in any department (the planner plans the whole
    clinic). The week after the horizon when every week up to it has schedules. One query:
    the distinct dates with schedules, on the work-date index."""
    start = monday_of(today or timezone.localdate())
    end = start + dt.timedelta(weeks=PROPOSAL_HORIZON_WEEKS)
    scheduled = {
        monday_of(day)
        for day in Schedule.objects.filter(work_date__gte=start, work_date__lt=end)
        .order_by()
        .values_list("work_date", flat=True)
        .distinct()
    }
    week = start
    while week in scheduled:
        week += dt.timedelta(weeks=1)
    return week


@dataclass
class GridCell:
    """One doctor's schedules on one day, in slot order."""

    work_date: dt.date
    schedules: list[Schedule] = field(default_factory=list)


@dataclass
class GridRow:
    doctor_name: str
    emp_id: str
    department_name: str
    cells: list[GridCell]


@dataclass
class WeekGrid:
    """A week's existing schedules as the planner shows them: one row per doctor scheduled
    that week (by department, then staff number), one cell per day (Monday to Sunday)."""

    monday: dt.date
    days: list[dt.date]
    rows: list[GridRow]

    @property
    def previous_week(self) -> dt.date:
        return self.monday - dt.timedelta(weeks=1)

    @property
    def next_week(self) -> dt.date:
        return self.monday + dt.timedelta(weeks=1)

    @property
    def schedule_count(self) -> int:
        return sum(len(cell.schedules) for row in self.rows for cell in row.cells)


def week_grid(*, week: dt.date) -> WeekGrid:
    """The schedules of the week of `week`, doctor by day (one query, whatever its size)."""
    monday = monday_of(week)
    days = [monday + dt.timedelta(days=offset) for offset in range(7)]
    slot_order = {slot: index for index, slot in enumerate(TimeSlot.values)}
    schedules = sorted(
        Schedule.objects.filter(work_date__gte=days[0], work_date__lte=days[-1]).select_related(
            "doctor", "room", "department"
        ),
        key=lambda s: (s.department.name, s.doctor.emp_id, s.work_date, slot_order[s.time_slot]),
    )
    rows: dict[int, GridRow] = {}
    for schedule in schedules:
        doctor = schedule.doctor
        if doctor.pk not in rows:
            rows[doctor.pk] = GridRow(
                doctor_name=doctor.name,
                emp_id=doctor.emp_id,
                department_name=schedule.department.display_name,
                cells=[GridCell(work_date=day) for day in days],
            )
        rows[doctor.pk].cells[schedule.work_date.weekday()].schedules.append(schedule)
    return WeekGrid(monday=monday, days=days, rows=list(rows.values()))
