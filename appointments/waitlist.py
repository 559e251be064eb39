"""The waitlist: patients waiting for a full booking window, and the offers of freed places.

A person joins when the window (or the whole half-day slot) they want is full for them. A
place given back there (a cancellation, a no-show, a visit left unseen, an expired or
declined offer, more places from an admin) is offered to the first person waiting (FIFO)
whose wish it matches, and held for them: it counts in the window's and the schedule's
counters until they accept it (it becomes their appointment, no second reservation),
decline it or let it expire (it goes to the next in line, in the same transaction).

Lock order (ARCHITECTURE.md, extended): the WaitlistEntry being moved (an appointment-like
row) → Patient → Schedule(s) by id → window rows. The waiting entries a freed place is
offered to are locked after the Schedule that frees it: each one alone, and a waiting entry
is otherwise only ever locked by itself (leaving the list), so no cycle can form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from appointments.exceptions import AlreadyWaiting, DuplicateBooking, OfferExpired, PlacesFree
from appointments.models import (
    LIVE_STATUSES,
    LIVE_WAITLIST_STATUSES,
    Appointment,
    WaitlistEntry,
    WaitlistStatus,
)
from appointments.no_shows import ensure_may_book_online, online_booking_blocked_until
from appointments.reminders import remind_if_late_booking
from appointments.services import Booker, booker_for, own_booking_record, requested_slot
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import Department, Employee, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import lock_patient
from notifications.models import NotificationKind
from notifications.services import cancel_pending, notify
from scheduling.exceptions import NoSchedule, SlotEnded
from scheduling.models import (
    HALF_DAY_SLOTS,
    OVERLAPPING_SLOTS,
    Schedule,
    ScheduleWindow,
    at_clinic_time,
    slot_bounds,
    slot_hours,
)
from scheduling.selectors import window_places
from scheduling.services import lock_schedule, lock_slot_schedules

# How many waiting entries a freed place looks at before giving up (those skipped hold a
# booking in that slot meanwhile); the periodic task tries again.
CANDIDATES = 50


def _values(entry: WaitlistEntry, fields: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(entry, entry._meta.get_field(name).attname)
        values[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return values


OFFER_FIELDS = ("offered_schedule", "offered_window", "offer_expires_at")


def _move(
    entry: WaitlistEntry, to: str, *, by: User | None, action: str, **fields: Any
) -> WaitlistEntry:
    """The one place an entry's status is written (with the fields that go with it, in the
    same UPDATE: the CHECKs tie them together) and audited as `waitlist.<action>`."""
    entry.ensure_move_allowed(to)
    names = ("status", *fields)
    old = _values(entry, names)
    entry.status = to
    for name, value in fields.items():
        setattr(entry, name, value)
    entry.save(update_fields=list(names))
    record_event(
        actor=by,
        action=f"waitlist.{action}",
        obj=entry,
        patient=entry.patient,
        old=old,
        new=_values(entry, names),
    )
    return entry


def _slot_bounds(entry: WaitlistEntry) -> tuple[dt.datetime, dt.datetime]:
    return slot_bounds(entry.work_date, entry.time_slot)


def _person_lookup(entry: WaitlistEntry) -> dict[str, object]:
    if entry.patient_id is not None:
        return {"patient_id": entry.patient_id}
    return {"patient__isnull": True, "phone": entry.phone, "patient_name": entry.patient_name}


def _holds_booking(entry: WaitlistEntry) -> bool:
    """Whether the entry's person holds a live booking in its department and slot."""
    starts_at, ends_at = _slot_bounds(entry)
    return Appointment.objects.filter(
        department_id=entry.department_id,
        status__in=LIVE_STATUSES,
        expected_time__gte=starts_at,
        expected_time__lt=ends_at,
        **_person_lookup(entry),
    ).exists()


def _ensure_may_act(by: User, entry: WaitlistEntry) -> None:
    """A patient moves their own entries only; the desk any."""
    if by is not None and by.is_authenticated and by.role == Role.PATIENT:
        owner = Patient.objects.filter(pk=entry.patient_id).values_list("user_id", flat=True)
        if entry.patient_id is None or owner.first() != by.pk:
            raise PermissionDenied()
    else:
        ensure_role(by, *DESK_ROLES)


def _windows_wished(
    schedules: list[Schedule],
    *,
    work_date: dt.date,
    time_slot: str,
    window_start: dt.time | None,
    now: dt.datetime,
) -> list[ScheduleWindow]:
    """The open windows of these schedules that an entry's wish matches: those containing
    the wished-for time, else every window overlapping the half-day slot."""
    windows = ScheduleWindow.objects.filter(schedule_id__in=[s.pk for s in schedules])
    if window_start is not None:
        windows = windows.filter(start_time__lte=window_start, end_time__gt=window_start)
    else:
        opens, closes = slot_hours(time_slot)
        windows = windows.filter(start_time__lt=closes, end_time__gt=opens)
    return [w for w in windows.order_by("start_time", "schedule_id") if w.ends_at(work_date) > now]


@atomic_with_retry
def join(
    *,
    by: User,
    department: Department,
    expected_time: dt.datetime | None = None,
    work_date: dt.date | None = None,
    time_slot: str | None = None,
    doctor: Employee | None = None,
    patient: Patient | None = None,
    patient_name: str = "",
    phone: str = "",
    now: dt.datetime | None = None,
) -> WaitlistEntry:
    """Put a person on the waitlist of a full window (the one containing `expected_time`),
    or of a full half-day slot (`work_date` and `time_slot`: any time in it), optionally for
    one doctor. A patient joins for their own record; the desk for a record or a caller by
    name and phone. Refused when a place is free there for them (PlacesFree: book it), when
    they hold a live booking there (DuplicateBooking), or are already waiting there
    (AlreadyWaiting). Lock order: Patient, the slot's Schedules by id, then the insert."""
    now = now or timezone.now()
    if by.role == Role.PATIENT:
        own = own_booking_record(by, patient)
        ensure_may_book_online(own, now)
        booker = Booker(own, own.name, own.phone, own.id_card or "")
    else:
        ensure_role(by, *DESK_ROLES)
        booker = booker_for(patient=patient, patient_name=patient_name, phone=phone, id_card="")
    via_desk = by.role != Role.PATIENT
    if not department.is_active:
        raise NoSchedule(details={"department": [_("This department is not taking bookings.")]})
    if doctor is not None and doctor.department_id != department.pk:
        raise InvalidInput(
            details={"doctor_id": [_("This doctor does not work in the chosen department.")]}
        )
    if expected_time is not None:
        slot = requested_slot(expected_time, now=now)
        local = timezone.localtime(slot.expected_time)
        window_start = local.time().replace(second=0, microsecond=0)
    else:
        if work_date is None or time_slot not in HALF_DAY_SLOTS:
            raise InvalidInput(
                details={"time_slot": [_("Choose a date and the morning or the afternoon.")]}
            )
        slot = requested_slot(at_clinic_time(work_date, slot_hours(time_slot)[0]), now=now)
        window_start = None

    schedules = lock_slot_schedules(
        department=department, work_date=slot.work_date, half_day_slot=slot.time_slot
    )
    if doctor is not None:
        schedules = [s for s in schedules if s.doctor_id == doctor.pk]
    windows = _windows_wished(
        schedules,
        work_date=slot.work_date,
        time_slot=slot.time_slot,
        window_start=window_start,
        now=now,
    )
    if not schedules:
        raise NoSchedule()
    if not windows:
        if window_start is not None and not _windows_containing(schedules, window_start):
            raise NoSchedule()  # no window of theirs at that time (the midday break)
        raise SlotEnded(details={"expected_time": [_("This time has already ended.")]})
    if any(window_places(w, for_patient=not via_desk) > 0 for w in windows):
        raise PlacesFree()
    lookup = booker.live_booking_lookup()
    if Appointment.objects.filter(
        department=department,
        status__in=LIVE_STATUSES,
        expected_time__gte=slot.starts_at,
        expected_time__lt=slot.ends_at,
        **lookup,
    ).exists():
        raise DuplicateBooking()
    if WaitlistEntry.objects.filter(
        department=department,
        work_date=slot.work_date,
        time_slot=slot.time_slot,
        status__in=LIVE_WAITLIST_STATUSES,
        **lookup,
    ).exists():
        raise AlreadyWaiting()
    entry = WaitlistEntry.objects.create(
        patient=booker.patient,
        patient_name=booker.name,
        phone=booker.phone,
        department=department,
        work_date=slot.work_date,
        time_slot=slot.time_slot,
        window_start=window_start,
        window_end=min(w.end_time for w in windows) if window_start is not None else None,
        doctor=doctor,
        via_desk=via_desk,
        created_by=by,
    )
    record_event(
        actor=by,
        action="waitlist.joined",
        obj=entry,
        patient=entry.patient,
        new=_values(
            entry, ("department", "work_date", "time_slot", "window_start", "doctor", "status")
        ),
    )
    return entry


def _windows_containing(schedules: list[Schedule], time: dt.time) -> bool:
    return ScheduleWindow.objects.filter(
        schedule_id__in=[s.pk for s in schedules], start_time__lte=time, end_time__gt=time
    ).exists()


def offer_minutes(work_date: dt.date, now: dt.datetime) -> int:
    """How long an offer holds its place: shorter when the place is today."""
    if work_date == timezone.localdate(now):
        return settings.CLINIC_OFFER_SAME_DAY_MINUTES
    return settings.CLINIC_OFFER_MINUTES


def _halves_served(schedule: Schedule, window: ScheduleWindow, now: dt.datetime) -> list[str]:
    """The half-day slots, not over yet, whose waiting entries a window's place may go to."""
    halves = []
    for half in HALF_DAY_SLOTS:
        opens, closes = slot_hours(half)
        if (
            schedule.time_slot in OVERLAPPING_SLOTS[half]
            and window.start_time < closes
            and window.end_time > opens
            and slot_bounds(schedule.work_date, half)[1] > now
        ):
            halves.append(half)
    return halves


def waiting_for(
    schedule: Schedule, window: ScheduleWindow, now: dt.datetime
) -> QuerySet[WaitlistEntry]:
    """The entries waiting that a place in this window matches, first come first."""
    entries = WaitlistEntry.objects.filter(
        department_id=schedule.department_id,
        work_date=schedule.work_date,
        time_slot__in=_halves_served(schedule, window, now),
        status=WaitlistStatus.WAITING,
    ).filter(
        Q(window_start__isnull=True)
        | Q(window_start__gte=window.start_time, window_start__lt=window.end_time),
        Q(doctor__isnull=True) | Q(doctor_id=schedule.doctor_id),
    )
    if window.desk_only:
        entries = entries.filter(via_desk=True)
    return entries.order_by("created_at", "id")


def offer_freed_place(
    *, schedule: Schedule, window_id: int, now: dt.datetime | None = None
) -> WaitlistEntry | None:
    """A place of this window was just given back (inside the transaction that gave it back,
    with the schedule's row locked): offer it to the first patient waiting for it, and hold
    it for them. Returns the entry offered, or None (nobody waiting, the window over)."""
    now = now or timezone.now()
    window = ScheduleWindow.objects.get(pk=window_id, schedule_id=schedule.pk)
    if window.remaining <= 0 or window.ends_at(schedule.work_date) <= now:
        return None
    for pk in waiting_for(schedule, window, now).values_list("pk", flat=True)[:CANDIDATES]:
        # The entry's row alone: FOR UPDATE with a join would lock the Patient row too,
        # after the Schedule (against the lock order).
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(pk=pk, status=WaitlistStatus.WAITING)
            .first()
        )
        if entry is None or _holds_booking(entry):
            continue  # taken by another offer meanwhile, or booked elsewhere in that slot
        if not entry.via_desk and _blocked_online(entry, now):
            continue  # they could not take it by themselves: the next in line gets it
        _offer(entry, schedule, window, now)
        return entry
    return None


def _blocked_online(entry: WaitlistEntry, now: dt.datetime) -> bool:
    """Whether the no-show policy stops this entry's patient booking online now."""
    patient = entry.patient
    return patient is not None and (
        online_booking_blocked_until(patient, timezone.localdate(now)) is not None
    )


def offer_message_key(entry: WaitlistEntry) -> str:
    """The key of the message of an entry's current offer (one per offer)."""
    return f"waitlist-offer:{entry.pk}:{entry.offer_count}"


def _offer(
    entry: WaitlistEntry, schedule: Schedule, window: ScheduleWindow, now: dt.datetime
) -> None:
    schedule.reserve_place(window)
    expires_at = min(
        now + dt.timedelta(minutes=offer_minutes(schedule.work_date, now)),
        window.ends_at(schedule.work_date),
    )
    _move(
        entry,
        WaitlistStatus.OFFERED,
        by=None,
        action="offered",
        offered_schedule=schedule,
        offered_window=window,
        offer_expires_at=expires_at,
        offer_count=entry.offer_count + 1,
    )
    notify(
        key=offer_message_key(entry),
        kind=NotificationKind.WAITLIST_OFFER,
        subject=gettext_lazy("A place is free for you"),
        template="appointments/waitlist/offer_message.txt",
        context={
            "entry": entry,
            "department": entry.department.name,
            "date": schedule.work_date.isoformat(),
            "window": window.label,
            "doctor": schedule.doctor.name,
            "expires_at": f"{timezone.localtime(expires_at):%Y-%m-%d %H:%M}",
            # Only a patient with an account can accept online.
            "online": entry.patient is not None and entry.patient.user_id is not None,
        },
        patient=entry.patient,
        phone=entry.phone,
    )


def _release_offer(entry: WaitlistEntry, to: str, *, by: User | None, action: str) -> None:
    """Give an offered entry's held place back and offer it to the next in line. The entry is
    locked (first); then its schedule's row."""
    schedule = lock_schedule(entry.offered_schedule_id)
    window_id = entry.offered_window_id
    schedule.release_place(window_id)
    cancel_pending(offer_message_key(entry))  # not sent yet (a retry): the offer is over
    _move(entry, to, by=by, action=action, **dict.fromkeys(OFFER_FIELDS))
    offer_freed_place(schedule=schedule, window_id=window_id)


def _locked(entry: WaitlistEntry) -> WaitlistEntry:
    entry.lock_for_update()
    return entry


@atomic_with_retry
def accept(*, by: User, entry: WaitlistEntry, now: dt.datetime | None = None) -> Appointment:
    """The offer taken: the held place becomes the person's appointment (pending), with no
    second reservation. Refused once the offer has expired (OfferExpired), or when the person
    has booked in that slot meanwhile. Lock order: the entry, the Patient, the Schedule."""
    now = now or timezone.now()
    _ensure_may_act(by, entry)
    entry = _locked(entry)
    entry.ensure_move_allowed(WaitlistStatus.ACCEPTED)
    if now >= entry.offer_expires_at:
        raise OfferExpired(details={"expired_at": entry.offer_expires_at.isoformat()})
    patient = lock_patient(entry.patient_id) if entry.patient_id is not None else None
    if by.role == Role.PATIENT:
        ensure_may_book_online(patient, now)
    schedule = lock_schedule(entry.offered_schedule_id)
    window = ScheduleWindow.objects.get(pk=entry.offered_window_id)
    if _holds_booking(entry):
        raise DuplicateBooking()
    slot_starts_at, _slot_ends_at = _slot_bounds(entry)
    appointment = Appointment.objects.create(
        patient_name=entry.patient_name,
        phone=entry.phone,
        id_card=(patient.id_card or "") if patient is not None else "",
        department_id=entry.department_id,
        schedule=schedule,
        window=window,
        expected_time=max(window.starts_at(schedule.work_date), slot_starts_at),
        patient=patient,
        created_by=by,
    )
    record_event(
        actor=by,
        action="appointment.booked",
        obj=appointment,
        patient=patient,
        new={
            "status": appointment.status,
            "schedule": schedule.pk,
            "window": window.label,
            "expected_time": appointment.expected_time.isoformat(),
            "waitlist_entry": entry.pk,
        },
    )
    remind_if_late_booking(appointment, now=now)
    cancel_pending(offer_message_key(entry))
    _move(
        entry,
        WaitlistStatus.ACCEPTED,
        by=by,
        action="accepted",
        appointment=appointment,
        **dict.fromkeys(OFFER_FIELDS),
    )
    return appointment


@atomic_with_retry
def decline(*, by: User, entry: WaitlistEntry) -> WaitlistEntry:
    """The offer refused: the place goes to the next in line."""
    _ensure_may_act(by, entry)
    entry = _locked(entry)
    entry.ensure_move_allowed(WaitlistStatus.DECLINED)
    _release_offer(entry, WaitlistStatus.DECLINED, by=by, action="declined")
    return entry


@atomic_with_retry
def leave(*, by: User, entry: WaitlistEntry) -> WaitlistEntry:
    """Off the waitlist (the person, or the desk for them); an offer held is given back and
    goes to the next in line."""
    _ensure_may_act(by, entry)
    entry = _locked(entry)
    entry.ensure_move_allowed(WaitlistStatus.CANCELLED)
    if entry.status == WaitlistStatus.OFFERED:
        _release_offer(entry, WaitlistStatus.CANCELLED, by=by, action="left")
    else:
        _move(entry, WaitlistStatus.CANCELLED, by=by, action="left")
    return entry


@atomic_with_retry
def expire_offer(*, entry_id: int, now: dt.datetime | None = None) -> bool:
    """One offer past its time (the periodic task): its place released and offered to the
    next in line, the person told. False when it was accepted, declined or is not due."""
    now = now or timezone.now()
    entry = WaitlistEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is None or entry.status != WaitlistStatus.OFFERED or entry.offer_expires_at > now:
        return False
    count = entry.offer_count
    _release_offer(entry, WaitlistStatus.EXPIRED, by=None, action="expired")
    notify(
        key=f"waitlist-expired:{entry.pk}:{count}",
        kind=NotificationKind.WAITLIST_OFFER_EXPIRED,
        subject=gettext_lazy("The place offered to you has gone"),
        template="appointments/waitlist/offer_expired_message.txt",
        context={
            "department": entry.department.name,
            "date": entry.work_date.isoformat(),
            "window": entry.window_label,
        },
        patient=entry.patient,
        phone=entry.phone,
    )
    return True


def expired_offer_ids(now: dt.datetime | None = None, *, limit: int = 500) -> list[int]:
    return list(
        WaitlistEntry.objects.filter(
            status=WaitlistStatus.OFFERED, offer_expires_at__lte=now or timezone.now()
        )
        .order_by("offer_expires_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def slots_with_waiting(now: dt.datetime | None = None) -> list[tuple[int, dt.date, str]]:
    """The department, date and half-day of every slot someone is waiting for, from today."""
    today = timezone.localdate(now or timezone.now())
    return list(
        WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING, work_date__gte=today)
        .order_by("work_date", "department_id", "time_slot")
        .values_list("department_id", "work_date", "time_slot")
        .distinct()
    )


@atomic_with_retry
def offer_free_places_in(
    *, department_id: int, work_date: dt.date, time_slot: str, now: dt.datetime | None = None
) -> int:
    """Offer every free place of a slot's windows to those waiting for it (places an admin
    added, or freed where nobody was waiting yet). Under the slot's schedule locks, as a
    booking takes them; returns the number of offers made."""
    now = now or timezone.now()
    department = Department.objects.get(pk=department_id)
    offered = 0
    for schedule in lock_slot_schedules(
        department=department, work_date=work_date, half_day_slot=time_slot
    ):
        free = ScheduleWindow.objects.filter(schedule=schedule, used__lt=F("quota"))
        for window_id in free.order_by("start_time").values_list("pk", flat=True):
            while offer_freed_place(schedule=schedule, window_id=window_id, now=now) is not None:
                offered += 1
    return offered


def with_relations() -> QuerySet[WaitlistEntry]:
    """Entries with what their pages and the API show (one query for a list)."""
    return WaitlistEntry.objects.select_related(
        "department", "doctor", "offered_schedule__doctor", "offered_window", "appointment"
    )


def entries_visible_to(user: User) -> QuerySet[WaitlistEntry]:
    """A patient sees their own entries; the desk all; anyone else none."""
    entries = with_relations()
    if user.role == Role.PATIENT:
        return entries.filter(patient__user=user)
    if user.role in DESK_ROLES:
        return entries
    return entries.none()


def get_entry_for(user: User, pk: int) -> WaitlistEntry:
    """The entry if this user may see it; 404 otherwise (another's cannot be shown to exist)."""
    try:
        return entries_visible_to(user).get(pk=pk)
    except WaitlistEntry.DoesNotExist:
        raise Http404 from None
