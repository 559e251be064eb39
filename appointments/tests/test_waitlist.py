"""The waitlist: joining a full window, offers of freed places held in the counters, FIFO,
doctor and window matching, accepting, declining, expiry and leaving, and who may do what."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments import tasks, waitlist
from appointments.exceptions import AlreadyWaiting, DuplicateBooking, OfferExpired, PlacesFree
from appointments.models import AppointmentStatus, WaitlistEntry, WaitlistStatus
from appointments.services import book_appointment
from billing.invariants import find_problems
from clinic.exceptions import InvalidTransition, PermissionDenied
from clinic.models import AuditEvent
from clinic.tests.factories import DoctorFactory, PatientUserFactory, RoomFactory
from notifications.models import Notification, NotificationKind
from scheduling.exceptions import NoSchedule
from scheduling.models import Schedule, ScheduleWindow
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, assert_db_rejects, clinic_time

pytestmark = pytest.mark.django_db

# The day before the work day, in the evening: every window is ahead, offers last 30 min.
CLOCK = clinic_time(18, day=WORK_DAY - dt.timedelta(days=1))


def schedule_in(department=None, **kwargs):
    doctor = DoctorFactory(department=department) if department else DoctorFactory()
    return ScheduleFactory(
        doctor=doctor,
        department=doctor.department,
        room=RoomFactory(department=doctor.department),
        work_date=kwargs.pop("work_date", WORK_DAY),
        **kwargs,
    )


def book(user, schedule, *, hour=9, minute=0, **kwargs):
    return book_appointment(
        by=user,
        department=schedule.department,
        expected_time=clinic_time(hour, minute),
        now=CLOCK,
        **kwargs,
    )


def join(user, schedule, *, hour=9, minute=0, **kwargs):
    return waitlist.join(
        by=user,
        department=schedule.department,
        expected_time=clinic_time(hour, minute),
        now=CLOCK,
        **kwargs,
    )


@pytest.fixture
def full(patient_user):
    """A morning schedule of one place (one window), taken by `patient_user`."""
    schedule = schedule_in(max_patients=1)
    appointment = book(patient_user, schedule)
    return schedule, appointment


def counters(schedule):
    schedule.refresh_from_db()
    return schedule.current_patients, sum(w.used for w in schedule.windows.all())


def test_join_is_refused_while_places_are_free(other_patient_user):
    schedule = schedule_in(max_patients=2)
    with pytest.raises(PlacesFree):
        join(other_patient_user, schedule)
    assert not WaitlistEntry.objects.exists()


def test_join_a_full_window_waits_and_is_audited(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    assert entry.status == WaitlistStatus.WAITING
    assert entry.patient == other_patient_user.patient
    assert (entry.work_date, entry.time_slot) == (WORK_DAY, "morning")
    assert entry.window_start == dt.time(9, 0)
    assert entry.window_end == schedule.end_time  # one window for the schedule
    assert AuditEvent.objects.filter(action="waitlist.joined", object_id=entry.pk).exists()


def test_joining_twice_is_refused(full, other_patient_user):
    schedule, _ = full
    join(other_patient_user, schedule)
    with pytest.raises(AlreadyWaiting):
        join(other_patient_user, schedule, hour=10)
    assert WaitlistEntry.objects.count() == 1


def test_joining_with_a_live_booking_there_is_refused(full, patient_user):
    schedule, _ = full
    with pytest.raises(DuplicateBooking):
        join(patient_user, schedule)


def test_a_doctor_cannot_join(full, doctor_user):
    schedule, _ = full
    with pytest.raises(PermissionDenied):
        join(doctor_user, schedule)


def test_the_desk_puts_a_caller_on_the_list(full, receptionist):
    schedule, _ = full
    entry = join(receptionist, schedule, patient_name="Caller One", phone="13800000001")
    assert entry.patient is None and entry.via_desk
    assert (entry.patient_name, entry.phone) == ("Caller One", "13800000001")


def test_join_any_time_in_the_slot(full, other_patient_user):
    schedule, _ = full
    entry = waitlist.join(
        by=other_patient_user,
        department=schedule.department,
        work_date=WORK_DAY,
        time_slot="morning",
        now=CLOCK,
    )
    assert entry.window_start is None and entry.window_end is None


def test_a_cancellation_offers_the_place_to_the_first_waiting(full, patient_user):
    schedule, appointment = full
    first, second = PatientUserFactory(), PatientUserFactory()
    first_entry = join(first, schedule)
    join(second, schedule)
    appointment.cancel(by=patient_user)
    first_entry.refresh_from_db()
    assert first_entry.status == WaitlistStatus.OFFERED
    assert first_entry.offered_schedule == schedule
    assert first_entry.offer_expires_at > timezone.now()
    # The place is held: it counts in the schedule's and the window's counters.
    assert counters(schedule) == (1, 1)
    assert WaitlistEntry.objects.filter(status=WaitlistStatus.WAITING).count() == 1
    assert find_problems() == []
    message = Notification.objects.get(kind=NotificationKind.WAITLIST_OFFER)
    assert message.key == f"waitlist-offer:{first_entry.pk}:1"
    assert message.patient == first.patient
    assert AuditEvent.objects.filter(action="waitlist.offered", object_id=first_entry.pk).exists()


def test_the_offer_lasts_the_configured_minutes(full, patient_user, other_patient_user, settings):
    settings.CLINIC_OFFER_MINUTES = 45
    schedule, appointment = full
    entry = join(other_patient_user, schedule)
    appointment.cancel(by=patient_user)
    entry.refresh_from_db()
    # now is the real clock here (the cancellation's), well before the work day.
    assert dt.timedelta(minutes=44) < entry.offer_expires_at - entry.created_at
    assert entry.offer_expires_at - entry.created_at <= dt.timedelta(minutes=46)


def test_a_same_day_offer_is_shorter(settings):
    assert waitlist.offer_minutes(WORK_DAY, clinic_time(8)) == (
        settings.CLINIC_OFFER_SAME_DAY_MINUTES
    )
    assert waitlist.offer_minutes(WORK_DAY, CLOCK) == settings.CLINIC_OFFER_MINUTES


def test_an_entry_for_another_doctor_is_skipped(patient_user):
    schedule = schedule_in(max_patients=1)
    other = schedule_in(schedule.department, max_patients=1)
    appointment = book(patient_user, schedule, doctor=schedule.doctor)
    book(PatientUserFactory(), other)
    for_other = join(PatientUserFactory(), schedule, doctor=other.doctor)
    for_any = join(PatientUserFactory(), schedule)
    appointment.cancel(by=patient_user)
    for_other.refresh_from_db()
    for_any.refresh_from_db()
    assert for_other.status == WaitlistStatus.WAITING
    assert for_any.status == WaitlistStatus.OFFERED
    assert for_any.offered_schedule == schedule


def test_an_entry_for_another_window_is_skipped(patient_user):
    schedule = schedule_in(
        max_patients=2, window_minutes=30, start_time=dt.time(8, 0), end_time=dt.time(9, 0)
    )
    assert [w.quota for w in schedule.windows.order_by("start_time")] == [1, 1]
    early = book(patient_user, schedule, hour=8)
    book(PatientUserFactory(), schedule, hour=8, minute=30)
    later = join(PatientUserFactory(), schedule, hour=8, minute=30)
    anytime = waitlist.join(
        by=PatientUserFactory(),
        department=schedule.department,
        work_date=WORK_DAY,
        time_slot="morning",
        now=CLOCK,
    )
    early.cancel(by=patient_user)
    later.refresh_from_db()
    anytime.refresh_from_db()
    assert later.status == WaitlistStatus.WAITING
    assert anytime.status == WaitlistStatus.OFFERED
    assert anytime.offered_window.start_time == dt.time(8, 0)


def offered(schedule, patient_user, appointment, who):
    entry = join(who, schedule)
    appointment.cancel(by=patient_user)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    return entry


def test_accepting_makes_the_held_place_an_appointment(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    booked = waitlist.accept(by=other_patient_user, entry=entry)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.ACCEPTED
    assert entry.appointment == booked and entry.offered_schedule is None
    assert booked.status == AppointmentStatus.PENDING
    assert booked.patient == other_patient_user.patient
    assert booked.schedule == schedule
    assert counters(schedule) == (1, 1)  # no second reservation
    assert find_problems() == []
    assert AuditEvent.objects.filter(action="appointment.booked", object_id=booked.pk).exists()
    assert AuditEvent.objects.filter(action="waitlist.accepted", object_id=entry.pk).exists()


def test_accepting_after_expiry_is_refused(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    with pytest.raises(OfferExpired) as caught:
        waitlist.accept(by=other_patient_user, entry=entry, now=entry.offer_expires_at)
    assert caught.value.code == "offer_expired" and caught.value.status == 409
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED


def test_accepting_a_waiting_entry_is_refused(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    with pytest.raises(InvalidTransition):
        waitlist.accept(by=other_patient_user, entry=entry)


def test_another_patient_cannot_accept(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    with pytest.raises(PermissionDenied):
        waitlist.accept(by=PatientUserFactory(), entry=entry)


def test_the_desk_accepts_for_a_caller(full, patient_user, receptionist):
    schedule, appointment = full
    entry = join(receptionist, schedule, patient_name="Caller Two", phone="13800000002")
    appointment.cancel(by=patient_user)
    entry.refresh_from_db()
    booked = waitlist.accept(by=receptionist, entry=entry)
    assert booked.patient is None
    assert (booked.patient_name, booked.phone) == ("Caller Two", "13800000002")


def test_declining_passes_the_place_on(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    following = join(PatientUserFactory(), schedule)
    waitlist.decline(by=other_patient_user, entry=entry)
    entry.refresh_from_db()
    following.refresh_from_db()
    assert entry.status == WaitlistStatus.DECLINED and entry.offered_schedule is None
    assert following.status == WaitlistStatus.OFFERED
    assert counters(schedule) == (1, 1)
    assert find_problems() == []


def test_declining_with_nobody_next_frees_the_place(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    waitlist.decline(by=other_patient_user, entry=entry)
    assert counters(schedule) == (0, 0)
    assert find_problems() == []


def test_expiry_passes_the_place_on(full, patient_user, other_patient_user):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    following = join(PatientUserFactory(), schedule)
    assert not waitlist.expire_offer(
        entry_id=entry.pk, now=entry.offer_expires_at - dt.timedelta(seconds=1)
    )
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        offer_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    assert tasks.expire_offers.call() == 1
    entry.refresh_from_db()
    following.refresh_from_db()
    assert entry.status == WaitlistStatus.EXPIRED
    assert following.status == WaitlistStatus.OFFERED
    assert counters(schedule) == (1, 1)
    assert Notification.objects.filter(
        kind=NotificationKind.WAITLIST_OFFER_EXPIRED, patient=other_patient_user.patient
    ).exists()
    assert AuditEvent.objects.filter(action="waitlist.expired", object_id=entry.pk).exists()
    assert tasks.expire_offers.call() == 0  # idempotent


def test_leaving_a_waiting_entry(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    waitlist.leave(by=other_patient_user, entry=entry)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.CANCELLED
    assert AuditEvent.objects.filter(action="waitlist.left", object_id=entry.pk).exists()
    # Off the list, they may join again.
    assert join(other_patient_user, schedule).status == WaitlistStatus.WAITING


def test_leaving_with_an_offer_passes_it_on(full, patient_user, other_patient_user, receptionist):
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    following = join(PatientUserFactory(), schedule)
    waitlist.leave(by=receptionist, entry=entry)
    following.refresh_from_db()
    assert following.status == WaitlistStatus.OFFERED
    assert counters(schedule) == (1, 1)


def test_another_patient_cannot_leave_for_someone(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    with pytest.raises(PermissionDenied):
        waitlist.leave(by=PatientUserFactory(), entry=entry)


def test_a_no_show_offers_the_place(full, other_patient_user, receptionist):
    schedule, appointment = full
    entry = join(other_patient_user, schedule)
    appointment.mark_no_show(by=receptionist, now=clinic_time(23))
    entry.refresh_from_db()
    # The slot is over at that clock only for the no-show rule: the offer uses the real one.
    assert entry.status == WaitlistStatus.OFFERED


def test_places_added_by_an_admin_are_offered_by_the_task(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    ScheduleWindow.objects.filter(schedule=schedule).update(quota=2)
    Schedule.objects.filter(pk=schedule.pk).update(max_patients=2)
    assert tasks.offer_free_places.call() == 1
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert counters(schedule) == (2, 2)
    assert find_problems() == []
    assert tasks.offer_free_places.call() == 0


def test_a_window_kept_for_the_desk_is_not_offered_online(full, patient_user, receptionist):
    schedule, appointment = full
    ScheduleWindow.objects.filter(schedule=schedule).update(desk_only=True)
    online = join(PatientUserFactory(), schedule)
    caller = join(receptionist, schedule, patient_name="Caller Three", phone="13800000003")
    appointment.cancel(by=receptionist)
    online.refresh_from_db()
    caller.refresh_from_db()
    assert online.status == WaitlistStatus.WAITING
    assert caller.status == WaitlistStatus.OFFERED


def test_the_database_refuses_an_offer_without_its_place(full, other_patient_user):
    schedule, _ = full
    entry = join(other_patient_user, schedule)
    assert_db_rejects(
        lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.OFFERED)
    )
    assert_db_rejects(
        lambda: WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.ACCEPTED)
    )


def test_an_offer_hold_missing_from_the_counters_is_a_problem(
    full, patient_user, other_patient_user
):
    schedule, appointment = full
    offered(schedule, patient_user, appointment, other_patient_user)
    Schedule.objects.filter(pk=schedule.pk).update(current_patients=0)
    ScheduleWindow.objects.filter(schedule=schedule).update(used=0)
    problems = find_problems()
    assert any("1 waitlist offers held" in problem for problem in problems)


def test_a_visit_left_unseen_offers_its_place(receptionist, other_patient_user):
    from clinic.tests.factories import make_resident_id
    from visits.services import register_walk_in

    schedule = schedule_in(max_patients=1)
    visit = register_walk_in(
        by=receptionist,
        department=schedule.department,
        name="Walk In",
        phone="13566660000",
        id_card=make_resident_id(seed=904_001),
        gender="female",
        now=clinic_time(8, 40),
    )
    entry = join(other_patient_user, schedule)
    visit.leave_unseen(by=receptionist)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    assert counters(schedule) == (1, 1)
    assert find_problems() == []


def test_join_when_nobody_works_then_is_refused(full, other_patient_user):
    schedule, _ = full
    with pytest.raises(NoSchedule):
        join(other_patient_user, schedule, hour=14)


def test_the_offer_message_says_how_to_accept(full, patient_user, other_patient_user, receptionist):
    schedule, appointment = full
    entry = join(other_patient_user, schedule)
    caller = join(receptionist, schedule, patient_name="Caller Four", phone="13800000004")
    appointment.cancel(by=patient_user)
    message = Notification.objects.get(key=f"waitlist-offer:{entry.pk}:1")
    assert schedule.department.name in message.body
    waitlist.leave(by=other_patient_user, entry=entry)
    to_caller = Notification.objects.get(key=f"waitlist-offer:{caller.pk}:1")
    assert to_caller.recipient == "13800000004"
    assert message.body != to_caller.body  # online: sign in; a caller: call the desk


def held_until_after(moment, entry):
    """The offer made at the real time, held past `moment` (the test's clock)."""
    WaitlistEntry.objects.filter(pk=entry.pk).update(
        offer_expires_at=moment + dt.timedelta(minutes=30)
    )
    entry.refresh_from_db()
    return entry


def test_a_patient_blocked_by_the_no_show_policy_cannot_join_or_accept_online(
    full, patient_user, other_patient_user, receptionist
):
    """The policy stops online booking, and a waitlist is booking by other means: the
    patient may neither join nor take an offer by themselves; the desk still can for them."""
    from appointments.exceptions import BookingBlocked
    from appointments.tests.test_no_show_policy import no_show

    schedule, appointment = full
    entry = held_until_after(
        CLOCK, offered(schedule, patient_user, appointment, other_patient_user)
    )
    blocked = other_patient_user.patient
    for days in (3, 2, 1):
        no_show(blocked, CLOCK.date() - dt.timedelta(days=days))
    with pytest.raises(BookingBlocked):
        waitlist.accept(by=other_patient_user, entry=entry, now=CLOCK)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
    booked = waitlist.accept(by=receptionist, entry=entry, now=CLOCK)
    assert booked.patient == blocked
    booked.cancel(by=receptionist)  # the place offered on: nobody waits, so it is free again
    third = PatientUserFactory()
    book(third, schedule)
    with pytest.raises(BookingBlocked):
        join(other_patient_user, schedule)
    assert not WaitlistEntry.objects.filter(patient=blocked, status=WaitlistStatus.WAITING)


def test_an_offer_taken_for_tomorrow_after_the_reminder_hour_is_reminded_at_once(
    full, patient_user, other_patient_user
):
    """A booking for tomorrow made after the reminder hour is reminded at once: so is an
    offer taken then (the periodic run for tomorrow may be over)."""
    from appointments.models import reminder_key

    schedule, appointment = full
    entry = held_until_after(
        CLOCK, offered(schedule, patient_user, appointment, other_patient_user)
    )
    booked = waitlist.accept(by=other_patient_user, entry=entry, now=CLOCK)
    reminder = Notification.objects.get(key=reminder_key(booked.pk))
    assert reminder.kind == NotificationKind.REMINDER
    assert booked.reference in reminder.body


def test_an_offer_over_cancels_its_message_not_yet_sent(full, patient_user, other_patient_user):
    """A message waiting for its retry (the first delivery failed) is not sent once the offer
    is over: declined here, the place passing on."""
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    message = Notification.objects.get(key=waitlist.offer_message_key(entry))
    Notification.objects.filter(pk=message.pk).update(status="pending", attempts=1)
    waitlist.decline(by=other_patient_user, entry=entry)
    message.refresh_from_db()
    assert message.status == "cancelled"


def test_a_patient_blocked_online_is_passed_over_for_the_next(full, patient_user, receptionist):
    """An offer the patient could not take by themselves (the no-show policy) goes to the
    next in line rather than being held for nobody."""
    from appointments.tests.test_no_show_policy import no_show

    schedule, appointment = full
    first, second = PatientUserFactory(), PatientUserFactory()
    join(first, schedule)
    join(second, schedule)
    for days in (3, 2, 1):
        no_show(first.patient, timezone.localdate() - dt.timedelta(days=days))
    appointment.cancel(by=patient_user)
    statuses = dict(WaitlistEntry.objects.values_list("patient__user", "status"))
    assert statuses == {first.pk: WaitlistStatus.WAITING, second.pk: WaitlistStatus.OFFERED}


def test_a_person_holding_an_offer_cannot_book_a_second_place_there(
    full, patient_user, other_patient_user
):
    """An offer holds a place for them: a booking besides would be two places for one
    person in one half-day (as two bookings would)."""
    schedule, appointment = full
    entry = offered(schedule, patient_user, appointment, other_patient_user)
    # A second place added after the offer: free, and still they may not take it too.
    ScheduleWindow.objects.filter(schedule=schedule).update(quota=2)
    Schedule.objects.filter(pk=schedule.pk).update(max_patients=2)
    with pytest.raises(DuplicateBooking):
        book(other_patient_user, schedule)
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.OFFERED
