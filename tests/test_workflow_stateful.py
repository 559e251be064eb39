"""Random workflows through the clinic's services, checked against its invariants after every step.

A hypothesis `RuleBasedStateMachine` plays one clinic day (2030-03-04) of one department with
three schedules: doctor A in the morning and in the afternoon, doctor B in the morning or for
the full day, each with 2-4 places so that capacity runs out. Its rules book (patients for
themselves, the desk by phone with a name and a phone), confirm, cancel (desk, owner, someone
else), mark no-shows, check in (right, reformatted or wrong phone and ID), register walk-ins
(known records and new people), move visits on (start, finish, advance), let patients leave
unseen and settle bills with valid and invalid amounts, at fixed clinic-local clocks (`now=`)
on both sides of every window, by the right and the wrong people.

Every step is judged twice:
- its outcome against a small model of the rules (ARCHITECTURE.md): which domain error, if
  any, the services must raise, and which schedule a booking or a walk-in must land on;
- when it raises a `ClinicError`, every row the services may write (schedules and their
  counters, appointments, visits, patients, bills, income, the audit trail) is read before
  and after: a refused step must leave them all as they were.

After every step one invariant reads those rows back and checks: places taken equal live
appointments plus visits not cancelled, 0 <= places <= maximum; bill arithmetic, one bill per
visit, paid bills only on `left` visits and every `left` visit with exactly one bill; income
equal to the paid totals (one record per bill, with the visit's department and doctor); the
daily income and visit summaries equal what the detail rows add up to;
unique (and gapless) queue numbers per schedule; a completed appointment for every check-in;
statuses that only move along `Appointment.ALLOWED` / `Visit.ALLOWED`, one step at a time.

Database isolation: the machine runs inside one `@pytest.mark.django_db` test, so all
examples share that test's transaction. Each example therefore opens its own savepoint in
`__init__` (`transaction.atomic()` entered by hand) and rolls it back in `teardown()`, which
hypothesis calls after every example, failed or not. An example sees only its own rows (fresh
department, staff and patients from the factories), and the services' own `atomic()` blocks
nest inside it as savepoints, as in any `TestCase`-style test. The same on SQLite and MariaDB.

Budget: 80 steps per example; with the "ci" profile (40 examples) 15-40 s on either
database (SQLite faster). `HYPOTHESIS_PROFILE=thorough` runs 400 examples (3-4 minutes).

Service bugs the machine ran into are pinned at the end of the file (a strict xfail while
open); the machine avoids the inputs of an open one (see invalid_amounts) to keep looking.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Q
from django.test import override_settings
from django.utils import timezone
from hypothesis import settings
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

from appointments.exceptions import DuplicateBooking, NoShowTooEarly
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.services import book_appointment
from billing import models as billing_models
from billing.exceptions import AlreadySettled, InvalidAmounts
from billing.models import Bill, IncomeRecord, PayStatus
from billing.services import settle_visit
from billing.tests.factories import CashierShiftFactory
from clinic.exceptions import (
    ClinicError,
    InvalidInput,
    InvalidTransition,
    PatientConflict,
    PatientNeedsDeskReview,
    PermissionDenied,
)
from clinic.models import AuditEvent, Patient, User
from clinic.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    DoctorUserFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
    RoomFactory,
    make_resident_id,
)
from clinic.validators import normalize_phone
from scheduling.exceptions import (
    BeyondHorizon,
    NoCapacity,
    NoSchedule,
    OutsideClinicHours,
    SlotEnded,
)
from scheduling.models import Schedule, TimeSlot
from scheduling.tests.factories import ScheduleFactory
from visits.exceptions import (
    AlreadyInQueue,
    CheckInClosed,
    SettlementRequired,
    VerificationFailed,
)
from visits.models import (
    STATUS_COUNTERS,
    UNFINISHED_STATUSES,
    MedicalRecord,
    Visit,
    VisitDailySummary,
    VisitStatus,
)
from visits.services import check_in, register_walk_in
from visits.tests.factories import VisitFactory

A = AppointmentStatus
V = VisitStatus
# The per-day income summary the settlement maintains (ARCHITECTURE.md, IncomeRecord), checked
# against the detail rows when the billing app has it.
DailyIncomeSummary = getattr(billing_models, "DailyIncomeSummary", None)
CLINIC_TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2030, 3, 4)  # a Monday, far enough ahead that nothing has "already ended"


def clinic_time(hour: int, minute: int = 0, *, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=CLINIC_TZ)


def mostly(common: list[Any], rare: list[Any], odds: int = 3) -> st.SearchStrategy[Any]:
    """One of `common` about `odds` times as often as one of `rare`.

    Hypothesis favours the ends of a range, so the rare choices sit in the middle.
    """
    half = [*common] * odds
    return st.sampled_from([*half[: len(half) // 2 + 1], *rare, *half[len(half) // 2 + 1 :]])


THE_DAY_BEFORE = clinic_time(10, day=DAY - dt.timedelta(days=1))
# The clocks the desk acts at (check-in opens 60 minutes before a slot; no-show grace 30 min).
OPEN_CLOCKS = [
    clinic_time(7, 30),  # morning check-in open, afternoon not yet
    clinic_time(9, 30),
    clinic_time(12, 30),  # afternoon check-in opens; morning no-shows allowed from now
    clinic_time(15),
]
EDGE_CLOCKS = [
    clinic_time(7),  # morning check-in opens exactly now
    clinic_time(12),  # morning ended: its check-in closed, its no-show not yet allowed
    clinic_time(12, 29),  # one minute before morning no-shows are allowed
    clinic_time(17, 30),  # afternoon ended
    clinic_time(18),  # afternoon no-shows allowed from now
    clinic_time(19),
    THE_DAY_BEFORE,  # nothing open
]
ACTION_CLOCKS = [*OPEN_CLOCKS, *EDGE_CLOCKS]
WHILE_OPEN = mostly(OPEN_CLOCKS, EDGE_CLOCKS)
ANY_CLOCK = st.sampled_from(ACTION_CLOCKS)
BOOKING_CLOCKS = mostly(
    [THE_DAY_BEFORE, clinic_time(7, 30), clinic_time(9, 30)],
    [*ACTION_CLOCKS, clinic_time(9, day=dt.date(2030, 1, 15))],  # the last: beyond the horizon
)
EXPECTED_TIMES = mostly(
    [
        clinic_time(8),
        clinic_time(9, 15),
        clinic_time(11, 59),
        clinic_time(13, 30),
        clinic_time(16),
        clinic_time(17, 29),
        dt.datetime(2030, 3, 4, 10, 0),  # naive: read in the clinic's time zone
        dt.datetime(2030, 3, 4, 6, 0, tzinfo=dt.UTC),  # 14:00 in Shanghai
    ],
    [
        clinic_time(12, 30),  # lunch: closed
        clinic_time(7, 59),  # before opening
        clinic_time(17, 30),  # closing time
        clinic_time(9, day=DAY + dt.timedelta(days=1)),  # a day without schedules
    ],
)

DESK = ["receptionist", "admin"]
PATIENTS = ["patient 0", "patient 1", "patient 2"]
# Mostly the desk, sometimes someone who may not do it.
ANYONE = mostly(DESK, ["patient 0", "doctor A"])
# Who moves a visit: the desk, the visit's own doctor, or someone who may not.
VISIT_ACTORS = mostly([*DESK, "own doctor"], ["other doctor", "outside doctor", "patient 0"])
# Whether a rule acting on a bundle row prefers one it can still move (see steer()).
STEER = mostly([True], [False])
DOCTOR_CHOICES = st.sampled_from([None, None, "doctor A", "doctor B", "outside doctor"])

# Phone callers: tokens resolved per example ("p0 name" is patient 0's own name, ...).
NAMES = ["张三", " 张三 ", "李四", "p0 name"]
PHONES = ["13800138000", "+86 138-0013-8000", "p0 phone", "12345"]
ID_CARDS = ["", "", "new 1", "new 2", "p1 id"]
INVALID_PHONE = "12345"


def money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


@st.composite
def valid_amounts(draw: st.DrawFn) -> tuple[dict[str, Any], tuple[Decimal, Decimal, Decimal]]:
    """Settlement arguments that must be accepted, and the (total, insurance, self-pay)."""
    fixed = [
        ({"total_amount": "0", "insurance_amount": "0"}, ("0", "0", "0")),
        ({"total_amount": "10.005", "insurance_amount": "0"}, ("10.01", "0", "10.01")),
        ({"total_amount": "1E+2", "insurance_amount": "50"}, ("100", "50", "50")),
        # Inexact in binary floating point, which is how SQLite stores DECIMAL.
        ({"total_amount": "0.30", "insurance_amount": "0.10"}, ("0.30", "0.10", "0.20")),
        (
            {"total_amount": "99999999.99", "insurance_amount": "0.01"},
            ("99999999.99", "0.01", "99999999.98"),
        ),
    ]
    if draw(st.integers(0, 4)) == 0:
        kwargs, expected = draw(st.sampled_from(fixed))
        return kwargs, tuple(Decimal(x).quantize(Decimal("0.01")) for x in expected)
    total = draw(st.integers(0, 2_000_000))
    insurance = draw(st.integers(0, total))
    form = draw(st.sampled_from(["decimal", "text", "padded text"]))

    def shown(cents: int) -> Any:
        amount = money(cents)
        return {"decimal": amount, "text": str(amount), "padded text": f" {amount} "}[form]

    kwargs: dict[str, Any] = {"total_amount": shown(total), "insurance_amount": shown(insurance)}
    self_pay = draw(st.sampled_from(["omitted", "blank", "given"]))
    if self_pay == "blank":
        kwargs["self_pay_amount"] = ""
    elif self_pay == "given":
        kwargs["self_pay_amount"] = shown(total - insurance)
    return kwargs, (money(total), money(insurance), money(total - insurance))


@st.composite
def invalid_amounts(draw: st.DrawFn) -> dict[str, Any]:
    """Settlement arguments that must be refused with InvalidAmounts."""
    fixed = [
        {"total_amount": "-0.01", "insurance_amount": "0"},
        {"total_amount": "10", "insurance_amount": "-1"},
        {"total_amount": "100", "insurance_amount": "100.01"},
        {"total_amount": "100", "insurance_amount": "30", "self_pay_amount": "60"},
        {"total_amount": "10.004", "insurance_amount": "10.005"},  # 10.00 < 10.01 after rounding
        {"total_amount": "abc", "insurance_amount": "0"},
        {"total_amount": None, "insurance_amount": "0"},
        {"total_amount": "", "insurance_amount": "0"},
        {"total_amount": "NaN", "insurance_amount": "0"},
        {"total_amount": "Infinity", "insurance_amount": "0"},
        {"total_amount": "100000000.00", "insurance_amount": "0"},
        {"total_amount": "99999999.995", "insurance_amount": "0"},
        {"total_amount": "50", "insurance_amount": "0", "self_pay_amount": "-50"},
        {"total_amount": "1e30", "insurance_amount": "0"},
    ]
    if draw(st.booleans()):
        return draw(st.sampled_from(fixed))
    total = draw(st.integers(0, 1_000_000))
    insurance = draw(st.integers(total + 1, total + 100_000))
    return {"total_amount": money(total), "insurance_amount": money(insurance)}


class ClinicWorkflow(RuleBasedStateMachine):
    appointments = Bundle("appointments")
    visits = Bundle("visits")

    def __init__(self) -> None:
        super().__init__()
        # One savepoint per example, rolled back in teardown(): examples never see each other.
        self._example = transaction.atomic()
        self._example.__enter__()
        self.department = None
        self.world: dict[str, Any] | None = None
        self.appointment_seen: dict[int, str] = {}
        self.visit_seen: dict[int, str] = {}

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._example.__exit__(None, None, None)

    # -- the day -------------------------------------------------------------------------------

    @initialize(
        second_doctor_slot=st.sampled_from([TimeSlot.MORNING, TimeSlot.FULL_DAY]),
        capacities=st.tuples(st.integers(2, 4), st.integers(2, 4), st.integers(2, 4)),
    )
    def open_the_day(self, second_doctor_slot: str, capacities: tuple[int, int, int]) -> None:
        department = DepartmentFactory()
        self.department = department
        self.users: dict[str, User] = {
            "receptionist": ReceptionistFactory(),
            "admin": AdminUserFactory(),
            "doctor A": DoctorUserFactory(employee__department=department),
            "doctor B": DoctorUserFactory(employee__department=department),
            "outside doctor": DoctorUserFactory(),  # works in another department
            **{key: PatientUserFactory() for key in PATIENTS},
        }
        # The manager takes money at the counter too: in a cashier shift of their own.
        CashierShiftFactory(cashier=self.users["admin"])
        self.patients = {key: Patient.objects.get(user=self.users[key]) for key in PATIENTS}
        self.patients["no account"] = PatientFactory()
        doctor_a, doctor_b = self.users["doctor A"].employee, self.users["doctor B"].employee
        room_a, room_b = RoomFactory(department=department), RoomFactory(department=department)
        for doctor, room, slot, places in [
            (doctor_a, room_a, TimeSlot.MORNING, capacities[0]),
            (doctor_a, room_a, TimeSlot.AFTERNOON, capacities[1]),
            (doctor_b, room_b, second_doctor_slot, capacities[2]),
        ]:
            ScheduleFactory(
                doctor=doctor,
                department=department,
                room=room,
                work_date=DAY,
                time_slot=slot,
                max_patients=places,
            )
        p0, p1 = self.patients["patient 0"], self.patients["patient 1"]
        self.tokens = {
            "p0 name": p0.name,
            "p0 phone": p0.phone,
            "p1 id": p1.id_card,
            "new 1": make_resident_id(dt.date(1950, 1, 1), seed=1),
            "new 2": make_resident_id(dt.date(1950, 1, 2), seed=2),
        }

    def token(self, value: str) -> str:
        return self.tokens.get(value, value)

    def doctor(self, key: str | None):
        return None if key is None else self.users[key].employee

    # -- running a step --------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        """Every row the services may write, as plain tuples (the example's savepoint holds only
        this example's rows)."""
        return {
            "schedules": list(
                Schedule.objects.order_by("id").values_list(
                    "id", "doctor_id", "current_patients", "max_patients"
                )
            ),
            "appointments": list(
                Appointment.objects.order_by("id").values_list(
                    "id", "status", "schedule_id", "patient_id", "cancelled_at", "cancel_reason"
                )
            ),
            "visits": list(
                Visit.objects.order_by("id").values_list(
                    "id",
                    "status",
                    "schedule_id",
                    "department_id",
                    "queue_number",
                    "patient_id",
                    "appointment_id",
                    "called_at",
                    "finished_at",
                )
            ),
            "patients": list(
                Patient.objects.order_by("id").values_list(
                    "id", "name", "phone", "id_card", "id_type", "birth_date", "user_id"
                )
            ),
            "bills": list(
                Bill.objects.order_by("id").values_list(
                    "id",
                    "visit_id",
                    "total_amount",
                    "insurance_amount",
                    "self_pay_amount",
                    "pay_status",
                    "pay_time",
                )
            ),
            "income": list(
                IncomeRecord.objects.order_by("id").values_list(
                    "id", "bill_id", "amount", "department_id", "doctor_id", "record_date"
                )
            ),
            "income summary": list(
                DailyIncomeSummary.objects.order_by("id").values_list(
                    "record_date",
                    "department_id",
                    "doctor_key",
                    "payments",
                    "total_amount",
                    "insurance_amount",
                    "self_pay_amount",
                )
            )
            if DailyIncomeSummary is not None
            else [],
            "visit summary": list(
                VisitDailySummary.objects.order_by("id").values_list(
                    "visit_date", "department_id", "doctor_id", *VisitDailySummary.FIGURES
                )
            ),
            "audit events": AuditEvent.objects.count(),
        }

    def attempt(self, action: Callable[[], Any]) -> tuple[Any, ClinicError | None]:
        """Run one service call; a domain error must leave the database exactly as it was.

        `self.world` caches the last full read: rules write only through here, so the read
        made by the invariants after the previous step is still this step's "before".
        """
        before = self.world or self.read()
        self.world = None
        try:
            return action(), None
        except ClinicError as error:
            after = self.read()
            changed = {
                key: (before[key], after[key]) for key in before if before[key] != after[key]
            }
            assert not changed, f"{type(error).__name__} was raised but rows changed: {changed}"
            self.world = after
            return None, error

    @staticmethod
    def expect(step: str, error: ClinicError | None, expected: type[ClinicError] | None) -> None:
        """The step ended as the model of the rules says: success (None) or that error."""
        got = f"{type(error).__name__}: {error}" if error else "success"
        if expected is None:
            assert error is None, f"{step}: expected success, got {got}"
        else:
            assert isinstance(error, expected), f"{step}: expected {expected.__name__}, got {got}"

    # -- the model's view of time and places -----------------------------------------------------

    @staticmethod
    def half_day_at(local: dt.datetime) -> str | None:
        for slot, (start, end) in (
            (TimeSlot.MORNING, django_settings.CLINIC_MORNING_HOURS),
            (TimeSlot.AFTERNOON, django_settings.CLINIC_AFTERNOON_HOURS),
        ):
            if start <= local.time() < end:
                return slot
        return None

    @staticmethod
    def bounds(day: dt.date, slot: str) -> tuple[dt.datetime, dt.datetime]:
        morning, afternoon = (
            django_settings.CLINIC_MORNING_HOURS,
            django_settings.CLINIC_AFTERNOON_HOURS,
        )
        start, end = {
            TimeSlot.MORNING: morning,
            TimeSlot.AFTERNOON: afternoon,
            TimeSlot.FULL_DAY: (morning[0], afternoon[1]),
        }[slot]
        return (
            dt.datetime.combine(day, start, tzinfo=CLINIC_TZ),
            dt.datetime.combine(day, end, tzinfo=CLINIC_TZ),
        )

    def serving(self, day: dt.date, half: str) -> list[Schedule]:
        return list(
            Schedule.objects.filter(
                department=self.department,
                work_date=day,
                time_slot__in=[half, TimeSlot.FULL_DAY],
            ).order_by("id")
        )

    @staticmethod
    def choose(schedules: list[Schedule], doctor: Any) -> Schedule | None:
        if doctor is not None:
            schedules = [s for s in schedules if s.doctor_id == doctor.pk]
        best = None
        for schedule in schedules:  # ascending id: a later one must have strictly more room
            if best is None or schedule.remaining_places > best.remaining_places:
                best = schedule
        return best

    def booking_outcome(
        self,
        *,
        patient: Patient | None,
        name: str,
        phone: str,
        expected_time: dt.datetime,
        doctor: Any,
        now: dt.datetime,
    ) -> type[ClinicError] | Schedule:
        if timezone.is_naive(expected_time):
            expected_time = expected_time.replace(tzinfo=CLINIC_TZ)
        local = expected_time.astimezone(CLINIC_TZ)
        half = self.half_day_at(local)
        if half is None:
            return OutsideClinicHours
        starts_at, ends_at = self.bounds(local.date(), half)
        if ends_at <= now:
            return SlotEnded
        horizon = now.astimezone(CLINIC_TZ).date() + dt.timedelta(
            days=django_settings.CLINIC_BOOKING_HORIZON_DAYS
        )
        if local.date() > horizon:
            return BeyondHorizon
        if patient is None and phone == INVALID_PHONE:
            return InvalidInput
        schedules = self.serving(local.date(), half)
        if not schedules:
            return NoSchedule
        same_person = (
            Q(patient=patient)
            if patient is not None
            else Q(patient__isnull=True, phone=phone, patient_name=name)
        )
        if Appointment.objects.filter(
            same_person,
            department=self.department,
            status__in=LIVE_STATUSES,
            expected_time__gte=starts_at,
            expected_time__lt=ends_at,
        ).exists():
            return DuplicateBooking
        chosen = self.choose(schedules, doctor)
        if chosen is None:
            return NoSchedule
        if chosen.remaining_places <= 0:
            return NoCapacity
        return chosen

    def matching_refusal(self, *, name: str, id_card: str) -> type[ClinicError] | None:
        """match_or_create_patient stops at an unverified ID number on an account's record,
        and refuses an ID number registered to another name."""
        holder = Patient.objects.filter(id_card=id_card).first() if id_card else None
        if holder is None:
            return None
        if holder.user_id is not None and not holder.id_verified:
            return PatientNeedsDeskReview
        return PatientConflict if holder.name != name else None

    @staticmethod
    def walk_in_record(*, name: str, phone: str, id_card: str) -> Patient | None:
        """The existing record match_or_create_patient queues typed details on (None: a new
        one): the ID number's holder; without a holder, the one desk-made record of that
        phone and name that has no number; without a number, a desk-made record of that
        phone and name."""
        without_account = Patient.objects.filter(user__isnull=True, phone=normalize_phone(phone))
        if id_card:
            holder = Patient.objects.filter(id_card=id_card).first()
            if holder is not None:
                return holder
            same_person = list(without_account.filter(name=name, id_card__isnull=True)[:2])
            return same_person[0] if len(same_person) == 1 else None
        return without_account.filter(name=name).first()

    def has_open_visit(self, patient: Patient | None, *, today: dt.date) -> bool:
        """The walk-in guard: a visit of this patient today in the department, not over."""
        return patient is not None and (
            Visit.objects.filter(
                patient=patient,
                department=self.department,
                visit_date=today,
                status__in=UNFINISHED_STATUSES,
            ).exists()
        )

    def is_desk(self, user: User | None) -> bool:
        return user is not None and user.pk in (
            self.users["receptionist"].pk,
            self.users["admin"].pk,
        )

    def visit_actor(self, visit: Visit, key: str) -> User:
        own_is_a = visit.schedule.doctor_id == self.users["doctor A"].employee_id
        if key == "own doctor":
            return self.users["doctor A" if own_is_a else "doctor B"]
        if key == "other doctor":
            return self.users["doctor B" if own_is_a else "doctor A"]
        return self.users[key]

    def may_move(self, visit: Visit, user: User) -> bool:
        return self.is_desk(user) or user.employee_id == visit.schedule.doctor_id

    @staticmethod
    def steer(pk: int, seen: dict[int, str], wanted: tuple[str, ...], steer: bool) -> int:
        """`pk`, or when steering and it is not in a wanted status, the newest that is.

        Without this, most draws from a bundle hit finished rows, and few visits ever get as
        far as paying. The choice depends only on the statuses seen, so examples replay.
        """
        if not steer or seen.get(pk) in wanted:
            return pk
        candidates = [other for other, status in seen.items() if status in wanted]
        return max(candidates) if candidates else pk

    # -- booking ---------------------------------------------------------------------------------

    @rule(
        target=appointments,
        who=st.sampled_from(PATIENTS),
        for_someone_else=mostly([False], [True], odds=9),
        expected_time=EXPECTED_TIMES,
        doctor=DOCTOR_CHOICES,
        now=BOOKING_CLOCKS,
    )
    def patient_books(self, who, for_someone_else, expected_time, doctor, now):
        user = self.users[who]
        own = self.patients[who]
        other = self.patients["no account"]
        if for_someone_else:
            expected: Any = PermissionDenied
        else:
            expected = self.booking_outcome(
                patient=own,
                name=own.name,
                phone=own.phone,
                expected_time=expected_time,
                doctor=self.doctor(doctor),
                now=now,
            )
        booked, error = self.attempt(
            lambda: book_appointment(
                by=user,
                department=self.department,
                expected_time=expected_time,
                patient=other if for_someone_else else None,
                doctor=self.doctor(doctor),
                now=now,
            )
        )
        return self.judge_booking("patient_books", booked, error, expected, patient=own)

    @rule(
        target=appointments,
        actor=mostly(DESK, ["doctor A"]),
        name=st.sampled_from(NAMES),
        phone=st.sampled_from(PHONES),
        id_card=st.sampled_from(ID_CARDS),
        expected_time=EXPECTED_TIMES,
        doctor=DOCTOR_CHOICES,
        now=BOOKING_CLOCKS,
    )
    def desk_books_by_phone(self, actor, name, phone, id_card, expected_time, doctor, now):
        user = self.users[actor]
        name, phone, id_card = self.token(name), self.token(phone), self.token(id_card)
        normalised_phone = phone.replace("+86", "").replace(" ", "").replace("-", "")
        if not self.is_desk(user):
            expected: Any = PermissionDenied
        else:
            expected = self.booking_outcome(
                patient=None,
                name=name.strip(),
                phone=normalised_phone,
                expected_time=expected_time,
                doctor=self.doctor(doctor),
                now=now,
            )
        booked, error = self.attempt(
            lambda: book_appointment(
                by=user,
                department=self.department,
                expected_time=expected_time,
                patient_name=name,
                phone=phone,
                id_card=id_card,
                doctor=self.doctor(doctor),
                now=now,
            )
        )
        result = self.judge_booking("desk_books_by_phone", booked, error, expected, patient=None)
        if booked is not None:
            assert (booked.patient_name, booked.phone, booked.id_card) == (
                name.strip(),
                normalised_phone,
                id_card,
            )
        return result

    def judge_booking(self, label, booked, error, expected, *, patient: Patient | None):
        if isinstance(expected, Schedule):
            self.expect(label, error, None)
            booked.refresh_from_db()
            assert booked.schedule_id == expected.pk, "not the schedule with most places left"
            assert booked.status == A.PENDING
            assert booked.patient_id == (patient.pk if patient else None)
            return booked.pk
        self.expect(label, error, expected)
        return multiple()

    # -- appointment moves ----------------------------------------------------------------------

    @rule(appointment=appointments, actor=ANYONE)
    def confirm(self, appointment, actor):
        booking = Appointment.objects.get(pk=appointment)
        user = self.users[actor]
        if not self.is_desk(user):
            expected = PermissionDenied
        else:
            expected = None if booking.status == A.PENDING else InvalidTransition
        _, error = self.attempt(lambda: booking.confirm(by=user))
        self.expect("confirm", error, expected)

    @rule(
        appointment=appointments,
        actor=mostly([*DESK, "owner"], ["patient 2", "doctor B"]),
    )
    def cancel(self, appointment, actor):
        booking = Appointment.objects.select_related("patient").get(pk=appointment)
        if actor == "owner":
            owner_id = booking.patient.user_id if booking.patient else None
            user = User.objects.get(pk=owner_id) if owner_id else self.users["patient 0"]
        else:
            user = self.users[actor]
        is_owner = booking.patient is not None and booking.patient.user_id == user.pk
        if not (self.is_desk(user) or is_owner):
            expected = PermissionDenied
        else:
            expected = None if booking.status in LIVE_STATUSES else InvalidTransition
        _, error = self.attempt(lambda: booking.cancel(by=user, reason="changed plans"))
        self.expect("cancel", error, expected)
        if error is None:
            booking.refresh_from_db()
            assert booking.cancelled_at is not None
            assert booking.cancel_reason == "changed plans"

    @rule(
        appointment=appointments,
        actor=mostly([*DESK, "system"], ["patient 0", "doctor A"]),
        now=ANY_CLOCK,
    )
    def mark_no_show(self, appointment, actor, now):
        booking = Appointment.objects.get(pk=appointment)
        user = None if actor == "system" else self.users[actor]
        # Until the schedule itself ends (plus grace) the patient may still check in: a
        # full-day schedule takes a morning booking in the afternoon too.
        grace = dt.timedelta(minutes=django_settings.CLINIC_NO_SHOW_GRACE_MINUTES)
        schedule = booking.schedule
        allowed_from = self.bounds(schedule.work_date, schedule.time_slot)[1] + grace
        if user is not None and not self.is_desk(user):
            expected: Any = PermissionDenied
        elif booking.status not in LIVE_STATUSES:
            expected = InvalidTransition
        else:
            expected = None if now >= allowed_from else NoShowTooEarly
        _, error = self.attempt(lambda: booking.mark_no_show(by=user, now=now))
        self.expect("mark_no_show", error, expected)

    # -- arrivals --------------------------------------------------------------------------------

    @rule(
        target=visits,
        appointment=appointments,
        steer=STEER,
        phone_given=mostly(["as booked", "formatted"], ["wrong"]),
        id_given=mostly(["as booked"], ["none", "other"]),
        actor=ANYONE,
        now=WHILE_OPEN,
    )
    def check_in(self, appointment, steer, phone_given, id_given, actor, now):
        appointment = self.steer(appointment, self.appointment_seen, tuple(LIVE_STATUSES), steer)
        booking = Appointment.objects.select_related("schedule").get(pk=appointment)
        user = self.users[actor]
        phone = {
            "as booked": booking.phone,
            "formatted": f"+86 {booking.phone[:3]}-{booking.phone[3:7]}-{booking.phone[7:]}",
            "wrong": "15000000000",
        }[phone_given]
        other_id = self.tokens["new 2" if booking.id_card == self.tokens["new 1"] else "new 1"]
        id_card = {"as booked": booking.id_card, "none": "", "other": other_id}[id_given]
        schedule = booking.schedule
        opens_at = self.bounds(schedule.work_date, schedule.time_slot)[0] - dt.timedelta(
            minutes=django_settings.CLINIC_CHECK_IN_EARLY_MINUTES
        )
        closes_at = self.bounds(schedule.work_date, schedule.time_slot)[1]
        if not self.is_desk(user):
            expected: Any = PermissionDenied
        elif booking.status not in LIVE_STATUSES:
            expected = InvalidTransition
        elif not opens_at <= now < closes_at:
            expected = CheckInClosed
        elif phone_given == "wrong" or (booking.id_card and id_card != booking.id_card):
            expected = VerificationFailed
        elif booking.patient_id is None and self.matching_refusal(
            name=booking.patient_name, id_card=booking.id_card or id_card
        ):
            expected = self.matching_refusal(
                name=booking.patient_name, id_card=booking.id_card or id_card
            )
        elif self.has_open_visit(
            booking.patient
            or self.walk_in_record(
                name=booking.patient_name, phone=booking.phone, id_card=booking.id_card or id_card
            ),
            today=now.astimezone(CLINIC_TZ).date(),
        ):
            expected = AlreadyInQueue
        else:
            expected = None
        top = max(
            Visit.objects.filter(schedule=schedule).values_list("queue_number", flat=True),
            default=0,
        )
        visit, error = self.attempt(
            lambda: check_in(
                appointment_id=booking.pk, phone=phone, id_card=id_card, by=user, now=now
            )
        )
        self.expect("check_in", error, expected)
        if visit is None:
            return multiple()
        visit.refresh_from_db()
        booking.refresh_from_db()
        assert booking.status == A.COMPLETED
        assert visit.status == V.WAITING
        assert visit.appointment_id == booking.pk
        assert visit.schedule_id == schedule.pk
        assert visit.queue_number == top + 1
        assert visit.patient_id == booking.patient_id
        assert visit.visit_date == DAY
        return visit.pk

    @rule(
        target=visits,
        who=st.one_of(
            st.sampled_from([*PATIENTS, "no account"]),
            st.tuples(st.sampled_from(NAMES), st.sampled_from(PHONES), st.sampled_from(ID_CARDS)),
        ),
        actor=ANYONE,
        doctor=DOCTOR_CHOICES,
        now=WHILE_OPEN,
    )
    def walk_in(self, who, actor, doctor, now):
        user = self.users[actor]
        if isinstance(who, str):
            patient, details = self.patients[who], {}
            name = phone = id_card = ""
        else:
            patient = None
            name, phone, id_card = (self.token(value) for value in who)
            details = {"name": name, "phone": phone, "id_card": id_card}
        early = dt.timedelta(minutes=django_settings.CLINIC_CHECK_IN_EARLY_MINUTES)
        today = now.astimezone(CLINIC_TZ).date()
        half = next(
            (
                slot
                for slot in (TimeSlot.MORNING, TimeSlot.AFTERNOON)
                if self.bounds(today, slot)[0] - early <= now < self.bounds(today, slot)[1]
            ),
            None,
        )
        chosen = None
        if not self.is_desk(user):
            expected: Any = PermissionDenied
        elif half is None:
            expected = OutsideClinicHours
        elif patient is None and phone == INVALID_PHONE:
            expected = InvalidInput
        elif patient is None and self.matching_refusal(name=name.strip(), id_card=id_card):
            expected = self.matching_refusal(name=name.strip(), id_card=id_card)
        elif self.has_open_visit(
            patient or self.walk_in_record(name=name.strip(), phone=phone, id_card=id_card),
            today=today,
        ):
            expected = AlreadyInQueue
        else:
            chosen = self.choose(self.serving(today, half), self.doctor(doctor))
            if chosen is None:
                expected = NoSchedule
            elif chosen.remaining_places <= 0:
                expected = NoCapacity
            else:
                expected = None
        visit, error = self.attempt(
            lambda: register_walk_in(
                by=user,
                department=self.department,
                patient=patient,
                doctor=self.doctor(doctor),
                now=now,
                **details,
            )
        )
        self.expect("walk_in", error, expected)
        if visit is None:
            return multiple()
        visit.refresh_from_db()
        assert visit.schedule_id == chosen.pk, "not the schedule with most places left"
        assert visit.status == V.WAITING
        assert visit.appointment_id is None
        if patient is not None:
            assert visit.patient_id == patient.pk
        else:
            assert visit.patient.name == name.strip()
            # Typed details never land on an account's record but on its verified number.
            assert visit.patient.user_id is None or visit.patient.id_verified
            if not id_card:  # with an ID number, the record holding it may have another phone
                assert visit.patient.phone == phone.replace("+86", "").replace(" ", "").replace(
                    "-", ""
                )
        return visit.pk

    # -- visit moves -----------------------------------------------------------------------------

    @rule(
        visit=visits,
        steer=STEER,
        move=mostly(["advance", "next by name"], ["start", "finish", "leave unseen"]),
        actor=VISIT_ACTORS,
        now=WHILE_OPEN,
    )
    def move_visit(self, visit, steer, move, actor, now):
        visit = self.steer(visit, self.visit_seen, (V.WAITING, V.IN_CONSULTATION), steer)
        current = Visit.objects.select_related("schedule").get(pk=visit)
        user = self.visit_actor(current, actor)
        if move == "leave unseen":
            self.leave_unseen(current, user)
            return
        if move == "next by name":
            move = "finish" if current.status == V.IN_CONSULTATION else "start"
        wanted = {
            "start": V.IN_CONSULTATION,
            "finish": V.AWAITING_PAYMENT,
            "advance": Visit.NEXT_STEP.get(current.status),
        }[move]
        if current.status == V.IN_CONSULTATION:
            # The doctor has written the diagnosis (without one nobody sends the patient to
            # pay: visits/tests/test_transitions.py).
            MedicalRecord.objects.get_or_create(visit=current, defaults={"diagnosis": "Flu"})
        # Who may move the visit is checked first; then the step itself.
        if not self.may_move(current, user):
            expected: Any = PermissionDenied
        elif move == "advance" and current.status == V.AWAITING_PAYMENT:
            expected = SettlementRequired
        elif wanted is None or wanted not in Visit.ALLOWED[current.status]:
            expected = InvalidTransition
        else:
            expected = None
        action = {
            "start": current.start_consultation,
            "finish": current.finish_consultation,
            "advance": current.advance,
        }[move]
        _, error = self.attempt(lambda: action(by=user, now=now))
        self.expect("move_visit", error, expected)
        if error is None:
            current.refresh_from_db()
            assert current.status == wanted

    def leave_unseen(self, current: Visit, user: User) -> None:
        if not self.may_move(current, user):
            expected = PermissionDenied
        else:
            expected = None if current.status == V.WAITING else InvalidTransition
        _, error = self.attempt(lambda: current.leave_unseen(by=user))
        self.expect("leave_unseen", error, expected)

    # -- payment ---------------------------------------------------------------------------------

    @rule(
        visit=visits,
        amounts=st.one_of(
            valid_amounts(), invalid_amounts().map(lambda kwargs: (kwargs, None)), valid_amounts()
        ),
        steer=STEER,
        actor=mostly(DESK, ["own doctor", "patient 0"]),
        now=WHILE_OPEN,
    )
    def settle(self, visit, amounts, steer, actor, now):
        kwargs, parsed = amounts
        visit = self.steer(visit, self.visit_seen, (V.AWAITING_PAYMENT,), steer)
        current = Visit.objects.select_related("schedule").get(pk=visit)
        user = self.visit_actor(current, actor)
        if not self.is_desk(user):
            expected: Any = PermissionDenied
        elif parsed is None:
            expected = InvalidAmounts
        elif Bill.objects.filter(visit=current).exists():
            expected = AlreadySettled
        elif current.status != V.AWAITING_PAYMENT:
            expected = InvalidTransition
        else:
            expected = None
        bill, error = self.attempt(lambda: settle_visit(visit=current, by=user, now=now, **kwargs))
        self.expect("settle", error, expected)
        if bill is None:
            return
        bill.refresh_from_db()
        assert (bill.total_amount, bill.insurance_amount, bill.self_pay_amount) == parsed
        assert bill.pay_status == PayStatus.PAID and bill.cashier_id == user.pk
        income = IncomeRecord.objects.get(bill=bill)
        assert income.amount == parsed[0]
        assert income.record_date == now.astimezone(CLINIC_TZ).date()
        assert Visit.objects.get(pk=visit).status == V.LEFT

    # -- invariants, read back from the database after every step ------------------------------

    @invariant()
    def the_books_balance(self):
        if self.department is None:
            return
        self.world = world = self.world or self.read()
        appointments = {row[0]: row for row in world["appointments"]}
        visits = {row[0]: row for row in world["visits"]}
        self.check_places(world)
        self.check_statuses(appointments, visits)
        self.check_check_ins(appointments, visits)
        self.check_queue_numbers(visits)
        self.check_bills_and_income(world, visits)
        self.check_visit_summary(world, visits)

    def check_places(self, world):
        """Places taken = live appointments + visits not cancelled, within 0..max."""
        held: dict[int, int] = {row[0]: 0 for row in world["schedules"]}
        for _, status, schedule_id, *_ in world["appointments"]:
            if status in LIVE_STATUSES:
                held[schedule_id] += 1
        for _, status, schedule_id, *_ in world["visits"]:
            if status != V.CANCELLED:
                held[schedule_id] += 1
        for schedule_id, _, current, maximum in world["schedules"]:
            assert current == held[schedule_id], (
                f"schedule {schedule_id}: counter {current}, live bookings + visits "
                f"{held[schedule_id]}"
            )
            assert 0 <= current <= maximum

    def check_statuses(self, appointments, visits):
        """Each status is the last one seen or one move on from it in the ALLOWED table."""
        for model, rows, seen, first in (
            (Appointment, appointments, self.appointment_seen, A.PENDING),
            (Visit, visits, self.visit_seen, V.WAITING),
        ):
            assert set(seen) <= set(rows), f"a {model.__name__} disappeared"
            for pk, row in rows.items():
                status, before = row[1], seen.get(pk)
                if before is None:
                    assert status == first, f"new {model.__name__} {pk} is {status}"
                else:
                    assert status == before or status in model.ALLOWED[before], (
                        f"{model.__name__} {pk} went {before} -> {status}"
                    )
                seen[pk] = status

    @staticmethod
    def check_check_ins(appointments, visits):
        """A completed appointment has exactly one visit, on the schedule it held."""
        completed = {pk for pk, row in appointments.items() if row[1] == A.COMPLETED}
        linked = [row for row in visits.values() if row[6] is not None]
        assert sorted(row[6] for row in linked) == sorted(completed)
        for row in linked:
            assert row[2] == appointments[row[6]][2], f"visit {row[0]} moved schedule"

    @staticmethod
    def check_queue_numbers(visits):
        """Unique per schedule; visits are never deleted, so they run 1..n as well."""
        numbers: dict[int, list[int]] = {}
        for row in visits.values():
            numbers.setdefault(row[2], []).append(row[4])
        for schedule_id, taken in numbers.items():
            assert len(set(taken)) == len(taken), f"schedule {schedule_id}: {sorted(taken)}"
            assert sorted(taken) == list(range(1, len(taken) + 1))

    def check_bills_and_income(self, world, visits):
        doctors = {row[0]: row[1] for row in world["schedules"]}
        bills = world["bills"]
        for _, visit_id, total, insurance, self_pay, pay_status, pay_time in bills:
            assert total == insurance + self_pay
            assert 0 <= insurance <= total and self_pay >= 0
            if pay_status == PayStatus.PAID:
                assert visits[visit_id][1] == V.LEFT, f"paid bill on a {visits[visit_id][1]} visit"
                assert pay_time is not None
        billed = [row[1] for row in bills]
        assert len(set(billed)) == len(billed), "two bills for one visit"
        left = sorted(pk for pk, row in visits.items() if row[1] == V.LEFT)
        assert sorted(billed) == left, "every visit that left has exactly one bill (and only they)"

        paid = {row[0]: row for row in bills if row[5] == PayStatus.PAID}
        income = world["income"]
        assert sum((row[2] for row in income), Decimal(0)) == sum(
            (row[2] for row in paid.values()), Decimal(0)
        ), "income differs from the paid totals"
        assert sorted(row[1] for row in income) == sorted(paid), "one income record per paid bill"
        for _, bill_id, amount, department_id, doctor_id, _ in income:
            visit = visits[paid[bill_id][1]]
            assert amount == paid[bill_id][2]
            assert (department_id, doctor_id) == (visit[3], doctors[visit[2]])

        # The daily summary is the detail rows' sums per (day, department, doctor).
        expected: dict[tuple, list] = {}
        for _, bill_id, _, department_id, doctor_id, record_date in income:
            sums = expected.setdefault(
                (record_date, department_id, doctor_id or 0),
                [0, Decimal(0), Decimal(0), Decimal(0)],
            )
            sums[0] += 1
            for index, amount in enumerate(paid[bill_id][2:5], start=1):
                sums[index] += amount
        if DailyIncomeSummary is not None:
            summary = {tuple(row[:3]): list(row[3:]) for row in world["income summary"]}
            assert summary == expected, "the daily income summary drifted from the detail rows"

    @staticmethod
    def check_visit_summary(world, visits):
        """The daily visit summary is the visits' counts per (day, department, doctor): all,
        each patient once a day (in the row of their lowest-id visit that day), per status."""
        doctors = {row[0]: row[1] for row in world["schedules"]}
        figures = VisitDailySummary.FIGURES
        expected: dict[tuple, dict[str, int]] = {}
        first_of_day: dict[tuple, int] = {}
        for pk, status, schedule_id, department_id, _, patient_id, *_ in sorted(visits.values()):
            key = (DAY, department_id, doctors[schedule_id])
            counts = expected.setdefault(key, dict.fromkeys(figures, 0))
            counts["visits"] += 1
            counts[STATUS_COUNTERS[status]] += 1
            if first_of_day.setdefault((DAY, patient_id), pk) == pk:
                counts["day_patients"] += 1
        summary = {
            tuple(row[:3]): dict(zip(figures, row[3:], strict=True))
            for row in world["visit summary"]
        }
        assert summary == expected, "the daily visit summary drifted from the visits"


# The no-show policy is not in this model (its rules have their own tests,
# appointments/tests/test_no_show_policy.py): a patient's random no-shows must not stop them
# booking here.
@override_settings(CLINIC_NO_SHOW_LIMIT=0)
@pytest.mark.django_db
def test_random_clinic_days_keep_every_invariant():
    run_state_machine_as_test(ClinicWorkflow, settings=settings(stateful_step_count=80))


# -- service bugs the machine ran into (fixed; these keep them fixed) ---------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("total", ["1e30", "-1e30", "123456789012345678901234567890"])
def test_an_absurdly_large_amount_is_refused_as_invalid(total):
    visit = VisitFactory(status=V.AWAITING_PAYMENT)
    with pytest.raises(InvalidAmounts):
        settle_visit(
            visit=visit, total_amount=total, insurance_amount="0", by=ReceptionistFactory()
        )
    assert not Bill.objects.filter(visit=visit).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "total, insurance", [("0.30", "0.10"), ("128.30", "100.10"), ("99999999.99", "0.01")]
)
def test_cents_inexact_in_binary_floating_point_settle_on_every_database(total, insurance):
    # SQLite stores DECIMAL as binary floating point: an exact CHECK total = insurance +
    # self_pay refused these bills with an IntegrityError until the identity was compared in
    # whole cents (billing migration 0004).
    visit = VisitFactory(status=V.AWAITING_PAYMENT)
    bill = settle_visit(
        visit=visit, total_amount=total, insurance_amount=insurance, by=ReceptionistFactory()
    )
    bill.refresh_from_db()
    assert bill.self_pay_amount == Decimal(total) - Decimal(insurance)
