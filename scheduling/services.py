"""Writing schedules: one, a week from a pattern, or last week copied forward.

Every create or change checks overlaps under the doctor's and room's locks and is recorded
in an audit event (`schedule.created`, `schedule.updated` with the old and new values of what
changed, `schedule.deleted`), whatever the door: Django Admin, the week planner or the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext_lazy as _

from clinic.audit import audit_event, audit_values, changed_values, record_event, record_events
from clinic.db import atomic_with_retry
from clinic.models import Department, Employee, Role, Room, User
from clinic.roles import ensure_role
from scheduling.exceptions import ScheduleInUse
from scheduling.models import (
    OVERLAPPING_SLOTS,
    Schedule,
    ScheduleWindow,
    TimeSlot,
    monday_of,
    spread_quota,
)

# What an audit event keeps of a schedule (the places taken are the bookings' to move).
SCHEDULE_FIELDS = (
    "department",
    "room",
    "doctor",
    "work_date",
    "time_slot",
    "start_time",
    "end_time",
    "window_minutes",
    "max_patients",
)
WINDOW_SHAPE = ("start_time", "end_time", "window_minutes")
# The most places a schedule may have (its quotas added up), as the API's limit on a
# schedule's maximum.
MAX_SCHEDULE_PLACES = 1000


def _write_schedule(schedule: Schedule) -> tuple[dict[str, object], dict[str, object]]:
    """Validate (department, doctor, room, overlaps, capacity) and save under the doctor's
    and room's locks. Inside the caller's transaction; Django's ValidationError with field
    errors otherwise.

    Returns the old and new values of what changed: nothing old for a new schedule, nothing
    at all (and nothing written) for an unchanged one.
    """
    # Lock order: the doctor, the room, then the schedule itself (as bookings take them).
    schedule.lock_doctor_and_room()
    if not schedule._state.adding:
        _follow_preset(schedule)
    schedule.full_clean(exclude=["current_patients"])
    new = audit_values(schedule, SCHEDULE_FIELDS)
    if schedule._state.adding:
        schedule.save()
        return {}, new
    current = Schedule.objects.select_for_update().get(pk=schedule.pk)
    old, new = changed_values(audit_values(current, SCHEDULE_FIELDS), new)
    if new:
        schedule.save()  # never the places taken: Schedule.save leaves them to the bookings
        if any(name in new for name in WINDOW_SHAPE):
            _reshape_windows(schedule)
        elif "max_patients" in new:
            _resize_windows(schedule, old["max_patients"], new["max_patients"])
    return old, new


def _follow_preset(schedule: Schedule) -> None:
    """A preset chosen anew (the slot changed, the times did not) brings its hours."""
    saved = Schedule.objects.filter(pk=schedule.pk).values("time_slot", "start_time", "end_time")
    before = saved.first()
    if (
        before is not None
        and schedule.time_slot != before["time_slot"]
        and (schedule.start_time, schedule.end_time) == (before["start_time"], before["end_time"])
    ):
        schedule.start_time = schedule.end_time = None
        schedule.apply_times()


def lock_windows(schedule: Schedule) -> list[ScheduleWindow]:
    """A schedule's window rows, locked by id (the schedule's row is locked first)."""
    return list(ScheduleWindow.objects.select_for_update().filter(schedule=schedule).order_by("id"))


def _reshape_windows(schedule: Schedule) -> None:
    """New times or a new window length give new windows, the places spread evenly: only
    while no booking or visit ever named one of them (its row locked by the caller)."""
    lock_windows(schedule)
    windows = ScheduleWindow.objects.filter(schedule=schedule)
    named = (
        windows.filter(appointments__isnull=False).exists()
        or windows.filter(visits__isnull=False).exists()
    )
    if named:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: _(
                    "Bookings were made in this schedule's windows: its times and windows "
                    "cannot change."
                )
            }
        )
    ScheduleWindow.objects.filter(schedule=schedule).delete()
    ScheduleWindow.objects.bulk_create(schedule.new_windows())


def _resize_windows(schedule: Schedule, before: int, after: int) -> None:
    """A new maximum changes the windows' quotas by the difference only (the quotas set per
    window stay as they were otherwise): more places are spread evenly over the windows,
    fewer are taken from the windows with the most room to spare (the later first)."""
    windows = sorted(lock_windows(schedule), key=lambda window: window.start_time)
    if after > before:
        quotas = spread_quota(after, [window.quota for window in windows])
    else:
        quotas = [window.quota for window in windows]
        for _place in range(before - after):
            spare = max(
                range(len(windows)),
                key=lambda index: (quotas[index] - windows[index].used, index),
            )
            quotas[spare] -= 1  # Schedule.clean: the maximum never drops below places held
    for window, quota in zip(windows, quotas, strict=True):
        window.quota = quota
    ScheduleWindow.objects.bulk_update(windows, ["quota"])


@dataclass(frozen=True)
class WindowQuota:
    """A window's new quota, and whether it is kept for the desk (None: as it is, read
    under the lock)."""

    window_id: int
    quota: int
    desk_only: bool | None = None


@atomic_with_retry
def set_window_quotas(*, schedule: Schedule, quotas: Iterable[WindowQuota], by: User) -> Schedule:
    """Give windows of a schedule their own quotas (and keep some for the desk); the
    schedule's maximum becomes the sum of its windows' quotas. Lock order: the schedule,
    then its windows by id. Audited as `schedule.windows_changed` with the old and new
    figures; Django's ValidationError (per window) when a quota is below the places it holds
    or a window is not the schedule's."""
    ensure_role(by, Role.ADMIN)
    locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
    windows = {window.pk: window for window in lock_windows(locked)}
    errors: dict[str, list[str]] = {}
    old: dict[str, object] = {}
    new: dict[str, object] = {}
    changed = []
    for wanted in quotas:
        window = windows.get(wanted.window_id)
        if window is None:
            errors.setdefault(NON_FIELD_ERRORS, []).append(
                _("Window %(id)s is not one of this schedule's.") % {"id": wanted.window_id}
            )
            continue
        if wanted.quota < window.used:
            errors[f"window_{window.pk}"] = [
                _("%(held)d places are taken in %(window)s; its quota cannot be lower.")
                % {"held": window.used, "window": window.label}
            ]
            continue
        desk_only = window.desk_only if wanted.desk_only is None else wanted.desk_only
        if (wanted.quota, desk_only) != (window.quota, window.desk_only):
            old[window.label] = {"quota": window.quota, "desk_only": window.desk_only}
            new[window.label] = {"quota": wanted.quota, "desk_only": desk_only}
            window.quota, window.desk_only = wanted.quota, desk_only
            changed.append(window)
    total = sum(window.quota for window in windows.values())
    if total > MAX_SCHEDULE_PLACES:
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            _("A schedule has at most %(limit)d places; these quotas add up to %(total)d.")
            % {"limit": MAX_SCHEDULE_PLACES, "total": total}
        )
    if errors:
        raise ValidationError(errors)
    if changed:
        ScheduleWindow.objects.bulk_update(changed, ["quota", "desk_only"])
        old["max_patients"], new["max_patients"] = locked.max_patients, total
        Schedule.objects.filter(pk=locked.pk).update(max_patients=total)
        locked.max_patients = total
        record_event(actor=by, action="schedule.windows_changed", obj=locked, old=old, new=new)
    return locked


@atomic_with_retry
def save_schedule(*, schedule: Schedule, by: User) -> Schedule:
    """Create a schedule, or save the changes made to it, with its audit event
    (`schedule.created`, or `schedule.updated` with the old and new values of what changed).

    Raises django.core.exceptions.ValidationError with field errors.
    """
    ensure_role(by, Role.ADMIN)
    adding = schedule._state.adding
    old, new = _write_schedule(schedule)
    if new:
        action = "schedule.created" if adding else "schedule.updated"
        record_event(actor=by, action=action, obj=schedule, old=old, new=new)
    return schedule


@atomic_with_retry
def delete_schedule(*, schedule: Schedule, by: User) -> None:
    """Delete a schedule; ScheduleInUse while it holds places or anything (a past booking, a
    visit) still refers to it."""
    ensure_role(by, Role.ADMIN)
    current = Schedule.objects.select_for_update().get(pk=schedule.pk)
    # Written first: the event needs the id, which deleting clears; a refused delete rolls
    # it back with the rest of the transaction.
    record_event(
        actor=by,
        action="schedule.deleted",
        obj=current,
        old=audit_values(current, SCHEDULE_FIELDS),
    )
    try:
        schedule.delete()  # ScheduleInUse while it holds places
    except ProtectedError as error:
        raise ScheduleInUse(details={"schedule_id": current.pk}) from error


def lock_slot_schedules(
    *, department: Department, work_date: dt.date, half_day_slot: str
) -> list[Schedule]:
    """Lock every schedule of a department that serves a half-day slot, by ascending id.

    Bookings and walk-ins for one department and slot all take these same locks, whichever
    doctor they choose: they serialise, so neither capacity nor duplicate checks can race.
    Runs inside the caller's transaction.
    """
    # The doctor and room come along for the answer (a booking or a walk-in shows both);
    # InnoDB locks their rows too, which only admins' schedule edits ever wait for (a
    # deadlock with one is retried by atomic_with_retry).
    return list(
        Schedule.objects.select_for_update()
        .filter(
            department=department,
            work_date=work_date,
            time_slot__in=OVERLAPPING_SLOTS[half_day_slot],
        )
        .select_related("doctor", "room")
        .order_by("id")
    )


def lock_schedule(pk: int) -> Schedule:
    """One schedule's row, locked (not its doctor's or room's). Inside the caller's
    transaction."""
    return Schedule.objects.select_for_update().get(pk=pk)


# --- Week planner -------------------------------------------------------------------------
# The planner creates many schedules at once through the same write path as a single one
# (the doctor's and room's locks, then Schedule.clean's department, duty and overlap rules),
# and reports the outcome per schedule.


class BatchMode(models.TextChoices):
    CHECK = "check", _("Check only")
    ALL_OR_NOTHING = "create", _("Create all, or nothing if any is invalid")
    VALID_ONLY = "create_valid", _("Create the valid ones")


@dataclass
class PlannedSchedule:
    """One schedule of a batch and what became of it."""

    schedule: Schedule
    errors: list[str] = field(default_factory=list)
    created: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class BatchResult:
    mode: str
    rows: list[PlannedSchedule]

    @property
    def created(self) -> int:
        return sum(row.created for row in self.rows)

    @property
    def invalid(self) -> int:
        return sum(not row.valid for row in self.rows)

    @property
    def valid(self) -> int:
        return len(self.rows) - self.invalid


def _messages(error: ValidationError) -> list[str]:
    messages: list[str] = []
    if hasattr(error, "error_dict"):
        # Field rules (doctor, room: department, duty, overlaps) before table-wide ones.
        ordered = sorted(error.message_dict.items(), key=lambda item: item[0] == NON_FIELD_ERRORS)
        candidates = [message for _field, field_messages in ordered for message in field_messages]
    else:
        candidates = error.messages
    for message in candidates:
        if message not in messages:
            messages.append(message)
    return messages


@atomic_with_retry
def save_schedule_batch(*, schedules: Sequence[Schedule], mode: str, by: User) -> BatchResult:
    """Validate and save new schedules one by one in one transaction; report each.

    `check` writes nothing; `create` keeps them all only when every one is valid (otherwise
    nothing is created); `create_valid` keeps the valid ones. Schedules of the same batch
    are checked against each other too: each is saved before the next is checked. Each
    schedule kept is recorded as `schedule.created` (the events in one insert).
    """
    ensure_role(by, Role.ADMIN)
    mode = BatchMode(mode)
    # Lock order: every doctor, then every room, each by ascending id, before any check.
    # _write_schedule() locks one doctor and one room per schedule; taking them all first
    # in a fixed order keeps two planners (or an admin editing one schedule) from
    # deadlocking on each other.
    list(
        Employee.objects.select_for_update()
        .filter(pk__in={schedule.doctor_id for schedule in schedules})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Room.objects.select_for_update()
        .filter(pk__in={schedule.room_id for schedule in schedules})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = []
    for schedule in schedules:
        row = PlannedSchedule(schedule=schedule)
        try:
            with transaction.atomic():  # a savepoint: one refused schedule spoils no other
                _write_schedule(schedule)
        except ValidationError as error:
            row.errors = _messages(error)
        except IntegrityError:
            row.errors = [_("Another schedule for this doctor or room was saved meanwhile.")]
        else:
            row.created = True
        rows.append(row)
    keep = mode == BatchMode.VALID_ONLY or (
        mode == BatchMode.ALL_OR_NOTHING and all(row.valid for row in rows)
    )
    if keep:
        record_events(
            [
                audit_event(
                    actor=by,
                    action="schedule.created",
                    obj=row.schedule,
                    new=audit_values(row.schedule, SCHEDULE_FIELDS),
                )
                for row in rows
                if row.created
            ]
        )
    else:
        transaction.set_rollback(True)
        for row in rows:
            if row.created:
                row.created = False
                row.schedule.pk = None
                row.schedule._state.adding = True
    return BatchResult(mode=mode, rows=rows)


@dataclass(frozen=True)
class WeekLine:
    """One line of a week pattern: a doctor in a room on some weekdays (0 is Monday), from
    `start_time` to `end_time` (or, without times, in each preset slot of `time_slots`),
    with this many places each time, in windows of `window_minutes` (None: one window)."""

    doctor: Employee
    room: Room
    weekdays: Iterable[int]
    time_slots: Iterable[str]
    max_patients: int
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    window_minutes: int | None = None

    def hours(self) -> list[tuple[str, dt.time | None, dt.time | None]]:
        """(preset, start, end) of each schedule a weekday gets: the times given, or else
        each preset chosen with its hours (filled in by Schedule.apply_times)."""
        if self.start_time is not None and self.end_time is not None:
            return [("", self.start_time, self.end_time)]
        return [(slot, None, None) for slot in TimeSlot.values if slot in self.time_slots]


def week_schedules(*, week: dt.date, lines: Iterable[WeekLine]) -> list[Schedule]:
    """Every schedule of a pattern for the week of `week` (unsaved), by date, start time and
    doctor; in the doctor's department."""
    monday = monday_of(week)
    planned = []
    for line in lines:
        for weekday in sorted(set(line.weekdays)):
            for time_slot, start, end in line.hours():
                schedule = Schedule(
                    department=line.doctor.department,
                    room=line.room,
                    doctor=line.doctor,
                    work_date=monday + dt.timedelta(days=weekday),
                    time_slot=time_slot,
                    start_time=start,
                    end_time=end,
                    window_minutes=line.window_minutes,
                    max_patients=line.max_patients,
                )
                schedule.apply_times()  # a preset's hours; the slot that times lie in
                planned.append(schedule)
    return sorted(
        planned,
        key=lambda s: (s.work_date, s.start_time, s.end_time, s.doctor.emp_id, s.room_id),
    )


@atomic_with_retry
def create_week(*, week: dt.date, lines: Iterable[WeekLine], mode: str, by: User) -> BatchResult:
    """A week of schedules from a pattern (the week of `week`, Monday to Sunday)."""
    return save_schedule_batch(schedules=week_schedules(week=week, lines=lines), mode=mode, by=by)


@atomic_with_retry
def copy_week_forward(*, week: dt.date, mode: str, by: User) -> BatchResult:
    """The schedules of the week before the week of `week`, copied one week later with their
    hours, windows and each window's quota and desk setting (their places taken are not: a
    copy starts empty)."""
    target = monday_of(week)
    source = target - dt.timedelta(days=7)
    originals = (
        Schedule.objects.filter(work_date__gte=source, work_date__lt=target)
        .select_related("department", "doctor", "room")
        .order_by("work_date", "start_time", "doctor__emp_id", "id")
    )
    copies = [
        Schedule(
            department=original.department,
            room=original.room,
            doctor=original.doctor,
            work_date=original.work_date + dt.timedelta(days=7),
            time_slot=original.time_slot,
            start_time=original.start_time,
            end_time=original.end_time,
            window_minutes=original.window_minutes,
            max_patients=original.max_patients,
        )
        for original in originals
    ]
    result = save_schedule_batch(schedules=copies, mode=mode, by=by)
    _copy_window_quotas(
        {
            row.schedule.pk: original
            for row, original in zip(result.rows, originals, strict=True)
            if row.created
        }
    )
    return result


def _copy_window_quotas(originals: dict[int, Schedule]) -> None:
    """Give the windows of new copies (by id, not yet holding any place) the quotas and desk
    settings of their originals' windows at the same times. Inside the copy's transaction."""
    if not originals:
        return
    source = {
        (window.schedule_id, window.start_time): window
        for window in ScheduleWindow.objects.filter(
            schedule__in=[original.pk for original in originals.values()]
        )
    }
    changed = []
    for window in ScheduleWindow.objects.filter(schedule__in=list(originals)):
        model = source.get((originals[window.schedule_id].pk, window.start_time))
        if model is not None and (model.quota, model.desk_only) != (window.quota, window.desk_only):
            window.quota, window.desk_only = model.quota, model.desk_only
            changed.append(window)
    ScheduleWindow.objects.bulk_update(changed, ["quota", "desk_only"])
