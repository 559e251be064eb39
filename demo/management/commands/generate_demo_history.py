"""Generate months of realistic clinic history in bulk, to try the statistics at size.

    python manage.py generate_demo_history --days 365 --visits-per-day 200

For every day of the range (ending yesterday by default) each doctor gets a morning and an
afternoon schedule in their room; the day's visits spread over them, mostly settled (the
visit's charges — its doctor's registration fee and a few orders from the fee catalogue —,
a paid bill of their lines priced with the patient's plan, its income record with its
insurance and self-pay parts, often a medical record), some left unseen; about a third came
from a booking (a completed appointment), and some bookings were cancelled or missed.

The money goes through the cashier's day: each day every cashier (the first few active
receptionists; one is created when the clinic has none) works one shift, opened with a
float before the morning and closed at the day's end with the drawer counted (as expected,
but now and then a little over or short, with a note). Each bill is in its cashier's shift,
its self-pay part paid by tenders: mostly cash (handed over and change), some WeChat Pay,
Alipay or bank card with a reference, some cash and WeChat together. About one bill in 200
(`--refund-share`) has one line refunded, whole or in part, later that day in the same
shift, with a reason: the refund and its line, a negative income record, the bill's and
the line's refunded figures and status; the statistics are net.

The rows obey the clinic's rules (`check_invariants`): the bill identity, each bill the sum
of its lines and its tenders its self-pay part, one bill and one payment income record per
settled visit, refunds within what was paid, each closed shift's expected cash, unique
queue numbers per schedule, places taken equal to the visits that hold them. Rows are
written with bulk inserts, a week per transaction; the daily income summaries are rebuilt
for the range at the end.

It does not need the demo seed: it uses the clinic's active doctors and their rooms when
there are any, and otherwise creates the demo departments, rooms and doctors. Days that
already have a schedule are left alone, so running it twice adds nothing to them. No audit
events are written (this is generated history, not people's actions), and the `created_at`
columns hold the time of generation.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PaymentMethod,
    PayStatus,
    Refund,
    RefundLine,
    ShiftStatus,
    Tender,
)
from billing.pricing import BillDraft, price_visit
from billing.refunds import line_refund_figures
from clinic.codes import READABLE_ALPHABET, random_code
from clinic.models import (
    Department,
    Employee,
    EmployeeStatus,
    FeeCategory,
    FeeItem,
    Gender,
    InsuranceClass,
    InsurancePlan,
    Patient,
    Position,
    RegistrationFee,
    Role,
    Room,
    RoomStatus,
    User,
)
from clinic.validators import resident_id_check_char
from demo.management.commands.seed_demo import DEPARTMENTS, DOCTORS, TITLES_EN
from scheduling.models import (
    Schedule,
    ScheduleWindow,
    TimeSlot,
    slot_bounds,
    slot_hours,
    spread_quota,
    window_times,
)
from visits.models import Charge, ChargeKind, MedicalRecord, Visit, VisitDailySummary, VisitStatus

BATCH_SIZE = 2000
DAYS_PER_TRANSACTION = 7
CENT = Decimal("0.01")
# Mondays to Fridays are busier than weekends.
WEEKDAY_FACTOR = (1.1, 1.1, 1.1, 1.1, 1.1, 0.8, 0.55)
MORNING_SHARE = 0.6
CAPACITY = {TimeSlot.MORNING: 20, TimeSlot.AFTERNOON: 15}
LEFT_UNSEEN_SHARE = 0.06
BOOKED_SHARE = 0.35
LOST_BOOKING_SHARE = 0.05  # bookings cancelled or missed, per visit
INSURED_SHARE = 0.6
RECORD_SHARE = 0.7
# Doctor's orders per settled visit (beside the registration fee), and their quantities.
ORDERS_PER_VISIT = (0, 4)
ORDER_QUANTITIES = (1, 1, 1, 2, 3)
# The cashier's day: shifts per day (one per cashier), the float, how self-pay is paid.
CASHIERS_PER_DAY = 3
OPENING_FLOATS = (Decimal("200.00"), Decimal("300.00"), Decimal("500.00"))
# (way, share): cash, an electronic method alone, or cash and WeChat together.
TENDER_MIX = (("cash", 0.55), ("wechat", 0.2), ("alipay", 0.1), ("card", 0.07), ("split", 0.08))
# Cash is handed over exactly, or in notes of 10, 50 or 100 (change given).
CASH_NOTES = (None, Decimal(10), Decimal(50), Decimal(100))
# A drawer counted over or short (rarely), by how much, and why.
OVER_SHORT_SHARE = 0.03
OVER_SHORT = (Decimal("-0.50"), Decimal("-1.00"), Decimal("-2.00"), Decimal("0.50"), Decimal(1))
OVER_SHORT_NOTES = (
    "找零时多给了患者",
    "硬币不足，零头未收",
    "点钞有误，已报主管",
    "患者多付零钱未退",
)
REFUND_SHARE = 0.005
REFUND_REASONS = (
    "药品未取，患者退药",
    "检查未做，退检查费",
    "重复收费",
    "医生取消医嘱",
    "患者放弃治疗",
)
CARD_REFERENCE_DIGITS = 12
ZERO = Decimal("0.00")
# Used when the demo catalogue (demo.catalogue) is not there: a few items and plans.
FALLBACK_ITEMS = (
    ("GH001", "普通挂号费", FeeCategory.REGISTRATION, "次", "10.00", InsuranceClass.A),
    ("GH002", "专家挂号费", FeeCategory.REGISTRATION, "次", "30.00", InsuranceClass.B),
    ("ZC001", "诊查费", FeeCategory.CONSULTATION, "次", "15.00", InsuranceClass.A),
    ("YP001", "阿莫西林胶囊", FeeCategory.DRUG, "盒", "18.50", InsuranceClass.A),
    ("YP002", "布洛芬缓释胶囊", FeeCategory.DRUG, "盒", "24.80", InsuranceClass.B),
    ("JY001", "血常规", FeeCategory.LABORATORY, "项", "25.00", InsuranceClass.A),
    ("JC001", "胸部X线", FeeCategory.EXAMINATION, "次", "80.00", InsuranceClass.B),
    ("ZL001", "雾化吸入", FeeCategory.TREATMENT, "次", "12.00", InsuranceClass.C),
)
FALLBACK_PLANS = (("城镇职工", "90", "70"), ("城乡居民", "80", "60"))
# Generated resident ID numbers use this area code (Beijing, Haidian).
AREA_CODE = "110108"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红鹏辉玲建国文斌宇浩凯"
# Chief complaint, diagnosis, plan.
DIAGNOSES = [
    ("咳嗽、咽痛 2 天", "上呼吸道感染", "对症治疗，多饮水\n对乙酰氨基酚片"),
    ("头晕 1 周", "高血压", "低盐饮食，规律监测血压\n氨氯地平片"),
    ("口渴、多尿 1 月", "2型糖尿病", "控制饮食，监测血糖\n二甲双胍片"),
    ("腹泻、呕吐 1 天", "急性胃肠炎", "清淡饮食，补液\n蒙脱石散"),
    ("鼻塞、流涕、喷嚏 3 天", "过敏性鼻炎", "避免过敏原\n氯雷他定片"),
    ("右踝扭伤后肿痛 1 天", "软组织挫伤", "局部冷敷，制动\n布洛芬缓释胶囊"),
    ("牙痛 3 天", "龋齿", "充填治疗"),
    ("双手皮疹伴瘙痒 1 周", "湿疹", "保湿，避免搔抓\n丁酸氢化可的松乳膏"),
]


@dataclass
class Post:
    """A doctor in a room: the pair each day's two schedules are made of."""

    doctor: Employee
    room: Room


@dataclass
class Settled:
    """A settled visit before it is written: its bill, charges and lines (the draft), the
    cashier who took the money, the tenders, and the refund it will have, if any."""

    bill: Bill
    charges: list[Charge]
    draft: BillDraft
    cashier: User
    tenders: list[Tender] = field(default_factory=list)
    refund: Refund | None = None
    refunded_line: int = 0  # the index of the refunded line in draft.lines
    refund_line: RefundLine | None = None


@dataclass
class Tally:
    days: int = 0
    skipped_days: int = 0
    schedules: int = 0
    visits: int = 0
    appointments: int = 0
    bills: int = 0
    charges: int = 0
    records: int = 0
    patients: int = 0
    shifts: int = 0
    tenders: int = 0
    refunds: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def base31(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, len(READABLE_ALPHABET))
        digits.append(READABLE_ALPHABET[digit])
    if number:
        raise ValueError("number too large for the width")
    return "".join(reversed(digits))


def bulk_create(model: type[models.Model], objs: list, key_fields: Sequence[str] = ()) -> list:
    """bulk_create in batches; where the database cannot return the new ids (MySQL 8), read
    them back by a unique key."""
    if not objs:
        return objs
    model.objects.bulk_create(objs, batch_size=BATCH_SIZE)
    if objs[0].pk is None and key_fields:
        key = lambda obj: tuple(getattr(obj, name) for name in key_fields)  # noqa: E731
        wanted = {key(obj): obj for obj in objs}
        lookup = models.Q()
        first = key_fields[0]
        lookup &= models.Q(**{f"{first}__in": {getattr(obj, first) for obj in objs}})
        for row in model.objects.filter(lookup).values("pk", *key_fields).iterator():
            obj = wanted.get(tuple(row[name] for name in key_fields))
            if obj is not None:
                obj.pk = row["pk"]
    return objs


class Command(BaseCommand):
    help = "Generate realistic clinic history in bulk (schedules, visits, bills, income)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=365, help="days of history (365)")
        parser.add_argument(
            "--visits-per-day", type=int, default=200, help="visits on an average day (200)"
        )
        parser.add_argument(
            "--end-date",
            type=dt.date.fromisoformat,
            default=None,
            help="last day of the history (default: yesterday)",
        )
        parser.add_argument(
            "--patients",
            type=int,
            default=None,
            help="size of the patient pool (default: 10 × visits per day, at least 100)",
        )
        parser.add_argument("--seed", type=int, default=None, help="random seed (repeatable)")
        parser.add_argument(
            "--refund-share",
            type=float,
            default=REFUND_SHARE,
            help=f"share of bills with a refund ({REFUND_SHARE})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        days, per_day = options["days"], options["visits_per_day"]
        if days < 1 or per_day < 0:
            raise CommandError("--days must be at least 1 and --visits-per-day at least 0.")
        if not 0 <= options["refund_share"] <= 1:
            raise CommandError("--refund-share is a share between 0 and 1.")
        self.refund_share = options["refund_share"]
        end = options["end_date"] or timezone.localdate() - dt.timedelta(days=1)
        start = end - dt.timedelta(days=days - 1)
        self.rng = random.Random(options["seed"])
        self.tally = Tally()
        started = time.perf_counter()

        posts = self._posts()
        self._catalogue()
        self.cashiers = self._cashiers()
        self.methods = {method.code: method for method in PaymentMethod.objects.all()}
        if missing := {"cash", "wechat", "alipay", "card"} - set(self.methods):
            raise CommandError(
                "Payment methods missing (billing migration 0007 adds them): "
                + ", ".join(sorted(missing))
            )
        self.patients = self._patient_pool(options["patients"] or max(100, 10 * per_day))
        self.tag = self._run_tag()
        self.references = 0
        busy_days = set(
            Schedule.objects.filter(work_date__gte=start, work_date__lte=end)
            .values_list("work_date", flat=True)
            .distinct()
        )
        day = start
        while day <= end:
            chunk = []
            while day <= end and len(chunk) < DAYS_PER_TRANSACTION:
                if day in busy_days:
                    self.tally.skipped_days += 1
                else:
                    chunk.append(day)
                day += dt.timedelta(days=1)
            if chunk:
                with transaction.atomic():
                    for chunk_day in chunk:
                        self._day(chunk_day, posts, per_day)
        summary_started = time.perf_counter()
        # The visits and bills were bulk-written: build the statistics' daily summaries.
        summary_rows = DailyIncomeSummary.rebuild(start_date=start, end_date=end)
        summary_rows += VisitDailySummary.rebuild(start_date=start, end_date=end)
        summary_rows += DailyCategoryIncome.rebuild(start_date=start, end_date=end)
        self.tally.seconds["summary"] = time.perf_counter() - summary_started
        elapsed = time.perf_counter() - started
        t = self.tally
        self.stdout.write(
            self.style.SUCCESS(
                f"History {start} – {end}: {t.days} days ({t.skipped_days} skipped: they had "
                f"schedules), {t.schedules} schedules, {t.visits} visits, {t.appointments} "
                f"appointments, {t.bills} paid bills ({t.charges} charges), {t.records} medical "
                f"records, {t.shifts} cashier shifts, {t.tenders} tenders, {t.refunds} refunds, "
                f"{t.patients} new patients; {summary_rows} summary rows. "
                f"{elapsed:.1f} s ({t.visits / elapsed:.0f} visits/s)."
            )
        )

    # --- The clinic ---------------------------------------------------------------------

    def _cashiers(self) -> list[User]:
        """The first few active receptionists: each works one shift a day. A clinic without
        one gets a history cashier (no password: nobody signs in as them)."""
        cashiers = list(
            User.objects.filter(role=Role.RECEPTIONIST, is_active=True).order_by("pk")[
                :CASHIERS_PER_DAY
            ]
        )
        if not cashiers:
            cashier, created = User.objects.get_or_create(
                username="history-cashier", defaults={"role": Role.RECEPTIONIST}
            )
            if created:
                cashier.set_unusable_password()
                cashier.save(update_fields=["password"])
            cashiers = [cashier]
        return cashiers

    def _catalogue(self) -> None:
        """The fee catalogue and insurance plans the visits are charged from: the demo
        catalogue when that module is there, else a few items and plans of its own."""
        try:
            from demo.catalogue import seed_catalogue
        except ImportError:
            seed_catalogue = None
        if seed_catalogue is not None:
            seed_catalogue()
        items = FeeItem.objects.filter(is_active=True)
        if (
            not items.filter(category=FeeCategory.REGISTRATION).exists()
            or not items.exclude(category=FeeCategory.REGISTRATION).exists()
        ):
            for code, name, category, unit, price, cls in FALLBACK_ITEMS:
                FeeItem.objects.get_or_create(
                    code=code,
                    defaults={
                        "name": name,
                        "category": category,
                        "unit": unit,
                        "unit_price": Decimal(price),
                        "insurance_class": cls,
                    },
                )
        if not InsurancePlan.objects.filter(is_active=True).exists():
            for name, coverage_a, coverage_b in FALLBACK_PLANS:
                InsurancePlan.objects.get_or_create(
                    name=name,
                    defaults={"coverage_a": Decimal(coverage_a), "coverage_b": Decimal(coverage_b)},
                )
        items = list(items.order_by("code"))
        self.registration_items = [i for i in items if i.category == FeeCategory.REGISTRATION]
        self.order_items = [i for i in items if i.category != FeeCategory.REGISTRATION]
        self.registration_by_rank = dict(
            RegistrationFee.objects.filter(fee_item__is_active=True)
            .select_related("fee_item")
            .values_list("rank", "fee_item")
        )
        self.items_by_pk = {item.pk: item for item in items}
        self.plans = {plan.pk: plan for plan in InsurancePlan.objects.filter(is_active=True)}

    def _charge(self, visit: Visit, item: FeeItem, kind: str, quantity: int) -> Charge:
        """A charge as visits.charges makes it: the item's figures copied."""
        return Charge(
            visit=visit,
            kind=kind,
            **Charge.copied_from(item),
            quantity=Decimal(quantity),
            ordered_by=None,
        )

    def _charges(self, visit: Visit, doctor: Employee) -> list[Charge]:
        """A settled visit's charges: its doctor's registration fee and a few orders."""
        rng = self.rng
        item = self.items_by_pk.get(self.registration_by_rank.get(doctor.rank))
        item = item or rng.choice(self.registration_items)
        charges = [self._charge(visit, item, ChargeKind.REGISTRATION, 1)]
        for order in rng.sample(
            self.order_items, min(len(self.order_items), rng.randint(*ORDERS_PER_VISIT))
        ):
            charges.append(
                self._charge(visit, order, ChargeKind.ORDER, rng.choice(ORDER_QUANTITIES))
            )
        return charges

    def _posts(self) -> list[Post]:
        """Active doctors, each with an active room of their department (one doctor per
        room, so that no two schedules of a slot share a room)."""
        posts = self._existing_posts()
        if not posts:
            self._create_demo_clinic()
            posts = self._existing_posts()
        if not posts:
            raise CommandError("No active doctor has an active room in their department.")
        return posts

    def _existing_posts(self) -> list[Post]:
        rooms: dict[int, list[Room]] = {}
        for room in Room.objects.filter(status=RoomStatus.ACTIVE).order_by("room_number"):
            rooms.setdefault(room.department_id, []).append(room)
        posts = []
        doctors = Employee.objects.filter(
            position=Position.DOCTOR,
            status=EmployeeStatus.ACTIVE,
            department__isnull=False,
            department__is_active=True,
        ).order_by("emp_id")
        taken: dict[int, int] = {}
        # The seed pairs doctors with rooms; keep its pairs, then fill free rooms in order.
        seeded = {emp_id: room for emp_id, _n, _g, _d, room, _t in DOCTORS}
        for doctor in doctors:
            free = [room for room in rooms.get(doctor.department_id, []) if room.pk not in taken]
            preferred = [room for room in free if room.room_number == seeded.get(doctor.emp_id)]
            choice = (preferred or free or [None])[0]
            if choice is not None:
                taken[choice.pk] = doctor.pk
                posts.append(Post(doctor=doctor, room=choice))
        return posts

    def _create_demo_clinic(self) -> None:
        """The demo seed's departments, rooms and doctors (same natural keys, so that a
        later seed_demo finds them)."""
        departments = {}
        for code, name, name_en, description, rooms in DEPARTMENTS:
            department, _ = Department.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en, "description": description}
            )
            departments[code] = department
            for room_number in rooms:
                Room.objects.get_or_create(
                    room_number=room_number, defaults={"department": department}
                )
        for index, (emp_id, name, gender, dept_code, _room, title) in enumerate(DOCTORS):
            Employee.objects.get_or_create(
                emp_id=emp_id,
                defaults={
                    "name": name,
                    "gender": gender,
                    "position": Position.DOCTOR,
                    "department": departments[dept_code],
                    "title": title,
                    "title_en": TITLES_EN[title],
                    "phone": f"1380000{index + 1:04d}",
                },
            )

    def _patient_pool(self, size: int) -> list[Patient]:
        """Existing patients, topped up with new ones to `size`."""
        pool = list(Patient.objects.order_by("pk")[:size])
        missing = size - len(pool)
        if missing > 0:
            taken = set(
                Patient.objects.filter(id_card__startswith=AREA_CODE).values_list(
                    "id_card", flat=True
                )
            )
            offset = len(taken)
            plan_ids = sorted(self.plans)
            new = []
            number = offset
            while len(new) < missing:
                number += 1
                gender = Gender.MALE if number % 2 else Gender.FEMALE
                birth = dt.date(1940, 1, 1) + dt.timedelta(days=(number // 499) % 30000)
                id_card = None
                if self.rng.random() < 0.8:
                    # The sequence digit's parity follows the gender, as on real cards.
                    sequence = (number % 499) * 2 + (1 if gender == Gender.MALE else 0)
                    first17 = f"{AREA_CODE}{birth:%Y%m%d}{sequence:03d}"
                    id_card = first17 + resident_id_check_char(first17)
                    if id_card in taken:
                        continue
                    taken.add(id_card)
                new.append(
                    Patient(
                        name=self.rng.choice(SURNAMES)
                        + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2)))),
                        gender=gender,
                        birth_date=birth if id_card else None,
                        id_card=id_card,
                        phone=f"1{self.rng.choice('3578')}{self.rng.randrange(10**9):09d}",
                        insurance_plan_id=self.rng.choice(plan_ids)
                        if plan_ids and self.rng.random() < INSURED_SHARE
                        else None,
                    )
                )
            bulk_create(Patient, new)
            if new[0].pk is None:
                pool = list(Patient.objects.order_by("pk")[:size])
            else:
                pool.extend(new)
            # bulk_create skips Patient.save(): the names' pinyin search keys are built here.
            from clinic.name_keys import rebuild_name_keys

            rebuild_name_keys(pool)
            self.tally.patients = len(new)
        return pool

    def _run_tag(self) -> str:
        """Three characters that make this run's booking references and bill numbers unique
        (the app's own are eight and six random characters: never the same length)."""
        for _ in range(100):
            tag = random_code(3)
            if not Appointment.objects.filter(reference__startswith=tag).exists():
                return tag
        raise CommandError("Could not find a free reference prefix.")

    def _reference(self) -> str:
        self.references += 1
        return self.tag + base31(self.references, 7)

    # --- One day ------------------------------------------------------------------------

    def _day(self, day: dt.date, posts: list[Post], per_day: int) -> None:
        rng = self.rng
        tz = timezone.get_default_timezone()
        schedules = [
            Schedule(
                department_id=post.doctor.department_id,
                room=post.room,
                doctor=post.doctor,
                work_date=day,
                time_slot=slot,
                max_patients=capacity,
            )
            for post in posts
            for slot, capacity in CAPACITY.items()
        ]
        wanted = round(per_day * WEEKDAY_FACTOR[day.weekday()] * rng.uniform(0.85, 1.15))
        mornings = [s for s in schedules if s.time_slot == TimeSlot.MORNING]
        afternoons = [s for s in schedules if s.time_slot == TimeSlot.AFTERNOON]
        plan: dict[int, list[tuple[Patient, str]]] = {index: [] for index in range(len(schedules))}
        index_of = {id(s): i for i, s in enumerate(schedules)}
        for _ in range(wanted):
            pool = mornings if rng.random() < MORNING_SHARE else afternoons
            schedule = rng.choice(pool)
            status = VisitStatus.CANCELLED if rng.random() < LEFT_UNSEEN_SHARE else VisitStatus.LEFT
            plan[index_of[id(schedule)]].append((rng.choice(self.patients), status))
        # Arrivals first: each visit's place is in the window of its arrival (the first window
        # for those who came early), and each window's quota is its even share of the
        # schedule's places, or more where more patients came.
        arrivals: dict[int, list[dt.datetime]] = {}
        window_of: dict[int, list[int]] = {}
        planned: dict[int, list[ScheduleWindow]] = {}
        for index, schedule in enumerate(schedules):
            schedule.start_time, schedule.end_time = slot_hours(schedule.time_slot)
            schedule.window_minutes = settings.CLINIC_WINDOW_MINUTES
            start, end = slot_bounds(day, schedule.time_slot)
            minutes = int((end - start).total_seconds() // 60)
            offsets = sorted(rng.randrange(-20, minutes - 10) for _ in plan[index])
            arrivals[index] = [
                start + dt.timedelta(minutes=offset, seconds=rng.randrange(60))
                for offset in offsets
            ]
            times = window_times(schedule.start_time, schedule.end_time, schedule.window_minutes)
            window_of[index] = [
                max(0, min(len(times) - 1, max(offset, 0) // schedule.window_minutes))
                for offset in offsets
            ]
            used = [0] * len(times)
            for (_patient, status), window in zip(plan[index], window_of[index], strict=True):
                used[window] += status != VisitStatus.CANCELLED
            even = spread_quota(schedule.max_patients, [0] * len(times))
            quotas = [max(share, held) for share, held in zip(even, used, strict=True)]
            schedule.current_patients = sum(used)
            schedule.max_patients = sum(quotas)
            planned[index] = [
                ScheduleWindow(start_time=begin, end_time=until, quota=quota, used=held)
                for (begin, until), quota, held in zip(times, quotas, used, strict=True)
            ]
        bulk_create(Schedule, schedules, ("doctor_id", "work_date", "time_slot"))
        for index, schedule in enumerate(schedules):
            for window in planned[index]:
                window.schedule = schedule
        bulk_create(
            ScheduleWindow,
            [window for index in planned for window in planned[index]],
            ("schedule_id", "start_time"),
        )

        appointments: list[Appointment] = []
        visits: list[Visit] = []
        for index, schedule in enumerate(schedules):
            start, end = slot_bounds(day, schedule.time_slot)
            minutes = int((end - start).total_seconds() // 60)
            for queue, ((patient, status), check_in, window_index) in enumerate(
                zip(plan[index], arrivals[index], window_of[index], strict=True), start=1
            ):
                window = planned[index][window_index]
                called = check_in + dt.timedelta(minutes=rng.randrange(5, 60))
                appointment = None
                if rng.random() < BOOKED_SHARE:
                    appointment = self._appointment(
                        patient, schedule, check_in, AppointmentStatus.COMPLETED, window
                    )
                    appointments.append(appointment)
                visits.append(
                    Visit(
                        appointment=appointment,
                        patient=patient,
                        department_id=schedule.department_id,
                        schedule=schedule,
                        window=window,
                        queued_from=window.start_time,
                        queue_number=queue,
                        status=status,
                        visit_date=day,
                        check_in_time=check_in,
                        called_at=called if status == VisitStatus.LEFT else None,
                        finished_at=called + dt.timedelta(minutes=rng.randrange(5, 25))
                        if status == VisitStatus.LEFT
                        else check_in + dt.timedelta(minutes=rng.randrange(10, 60)),
                    )
                )
            # Bookings that never became visits: cancelled (the place went back) or missed.
            for _ in range(sum(rng.random() < LOST_BOOKING_SHARE for _v in plan[index])):
                offset = rng.randrange(0, minutes)
                expected = start + dt.timedelta(minutes=offset)
                lost = (
                    AppointmentStatus.CANCELLED if rng.random() < 0.7 else AppointmentStatus.NO_SHOW
                )
                window = planned[index][offset // schedule.window_minutes]
                appointments.append(
                    self._appointment(rng.choice(self.patients), schedule, expected, lost, window)
                )
        bulk_create(Appointment, appointments, ("reference",))
        for visit in visits:
            if visit.appointment is not None:
                visit.appointment_id = visit.appointment.pk
        bulk_create(Visit, visits, ("schedule_id", "queue_number"))

        settled: list[Settled] = []
        records: list[MedicalRecord] = []
        # Bill numbers: the payment date, this run's tag and the day's count. Days that
        # already had schedules are skipped, so an earlier run never paid on the same date.
        for number, visit in enumerate(visits, start=1):
            if visit.status != VisitStatus.LEFT:
                continue
            charges = self._charges(visit, visit.schedule.doctor)
            plan = self.plans.get(visit.patient.insurance_plan_id)
            draft = price_visit(charges, plan)
            pay_time = visit.finished_at + dt.timedelta(minutes=rng.randrange(2, 20))
            cashier = rng.choice(self.cashiers)
            bill = Bill(
                visit=visit,
                number=f"B{timezone.localdate(pay_time, tz):%Y%m%d}-{self.tag}{base31(number, 4)}",
                total_amount=draft.total,
                insurance_amount=draft.insured,
                self_pay_amount=draft.self_pay,
                estimated_insurance_amount=draft.insured,
                insurance_plan_name=draft.plan_name,
                pay_status=PayStatus.PAID,
                pay_time=pay_time,
                cashier=cashier,
                tendered_amount=draft.self_pay,
            )
            paid = Settled(bill=bill, charges=charges, draft=draft, cashier=cashier)
            paid.tenders = self._tenders(bill)
            if rng.random() < self.refund_share:
                self._refund(paid, number)
            settled.append(paid)
            if rng.random() < RECORD_SHARE:
                complaint, diagnosis, plan = rng.choice(DIAGNOSES)
                records.append(
                    MedicalRecord(
                        visit=visit,
                        chief_complaint=complaint,
                        diagnosis=diagnosis,
                        plan=plan,
                        updated_by=None,
                    )
                )
        shifts = self._shifts(day, settled)
        bills = [paid.bill for paid in settled]
        for bill in bills:
            bill.shift_id = bill.shift.pk
        bulk_create(Bill, bills, ("number",))
        self._write_charges_and_lines(settled)
        self._write_money(settled)
        bulk_create(MedicalRecord, records)
        t = self.tally
        t.days += 1
        t.schedules += len(schedules)
        t.visits += len(visits)
        t.appointments += len(appointments)
        t.bills += len(bills)
        t.records += len(records)
        t.shifts += len(shifts)

    def _write_charges_and_lines(self, settled: list[Settled]) -> None:
        """The settled visits' charges, then each bill's lines as priced from them (the
        bill's figures are the same draft's), with what a refund gave back of them."""
        visit_charges = [paid.charges for paid in settled]
        charges = [charge for group in visit_charges for charge in group]
        for charge in charges:
            charge.visit_id = charge.visit.pk
        bulk_create(Charge, charges)
        if charges and charges[0].pk is None:
            # The database did not return the ids: read them back in insert order.
            by_visit: dict[int, list[int]] = {}
            for visit_id, pk in (
                Charge.objects.filter(visit_id__in={c.visit_id for c in charges})
                .order_by("visit_id", "pk")
                .values_list("visit_id", "pk")
            ):
                by_visit.setdefault(visit_id, []).append(pk)
            for group in visit_charges:
                for charge, pk in zip(group, by_visit[group[0].visit_id], strict=True):
                    charge.pk = charge.id = pk
        lines = []
        for paid in settled:
            bill_lines = [line.as_bill_line(paid.bill) for line in paid.draft.lines]
            for line in bill_lines:
                line.bill_id = paid.bill.pk
                line.charge_id = line.charge.pk
            if paid.refund_line is not None:
                refunded = bill_lines[paid.refunded_line]
                refunded.refunded_quantity = paid.refund_line.quantity
                refunded.refunded_amount = paid.refund_line.amount
                refunded.refunded_insured_amount = paid.refund_line.insured_amount
                paid.refund_line.bill_line = refunded
            lines += bill_lines
        bulk_create(BillLine, lines, ("charge_id",))
        self.tally.charges += len(charges)

    def _write_money(self, settled: list[Settled]) -> None:
        """The tenders, the refunds with their lines, and the income records: a payment's
        on its day, a refund's (negative) on the refund's."""
        tz = timezone.get_default_timezone()
        tenders = []
        for paid in settled:
            for tender in paid.tenders:
                tender.bill_id = paid.bill.pk
                tender.shift_id = paid.bill.shift_id
            tenders += paid.tenders
        bulk_create(Tender, tenders)
        refunded = [paid for paid in settled if paid.refund is not None]
        for paid in refunded:
            paid.refund.bill_id = paid.bill.pk
            paid.refund.shift_id = paid.bill.shift_id
        bulk_create(Refund, [paid.refund for paid in refunded], ("number",))
        for paid in refunded:
            paid.refund_line.refund_id = paid.refund.pk
            paid.refund_line.bill_line_id = paid.refund_line.bill_line.pk
        bulk_create(RefundLine, [paid.refund_line for paid in refunded])
        income = []
        for paid in settled:
            bill = paid.bill
            payment = IncomeRecord(
                bill_id=bill.pk,
                department_id=bill.visit.department_id,
                doctor_id=bill.visit.schedule.doctor_id,
                amount=bill.total_amount,
                insurance_amount=bill.insurance_amount,
                self_pay_amount=bill.self_pay_amount,
                record_date=timezone.localdate(bill.pay_time, tz),
            )
            income.append(payment)
            refund = paid.refund
            if refund is not None:
                income.append(
                    IncomeRecord(
                        bill_id=bill.pk,
                        refund_id=refund.pk,
                        department_id=payment.department_id,
                        doctor_id=payment.doctor_id,
                        amount=-refund.amount,
                        insurance_amount=-refund.insurance_amount,
                        self_pay_amount=-refund.self_pay_amount,
                        record_date=refund.record_date,
                    )
                )
        bulk_create(IncomeRecord, income)
        self.tally.tenders += len(tenders)
        self.tally.refunds += len(refunded)

    # --- The cashier's day --------------------------------------------------------------

    def _tenders(self, bill: Bill) -> list[Tender]:
        """How the bill's self-pay part was paid (nothing to pay, no tender): cash with
        the change, an electronic method with its reference, or cash and WeChat."""
        rng = self.rng
        amount = bill.self_pay_amount
        if not amount:
            return []
        roll, way = rng.random(), TENDER_MIX[-1][0]
        for name, share in TENDER_MIX:
            if roll < share:
                way = name
                break
            roll -= share
        record_date = timezone.localdate(bill.pay_time)
        if way == "split" and amount > 20:
            # Some notes in cash (exactly, no change), the rest by WeChat.
            cash = min(
                (note for note in (Decimal(100), Decimal(50), Decimal(20), Decimal(10))
                 if note < amount),
                key=lambda note: abs(amount / 2 - note),
            )  # fmt: skip
            return [
                self._cash(cash, record_date, exact=True),
                self._electronic("wechat", amount - cash, record_date),
            ]
        if way in ("cash", "split"):
            return [self._cash(amount, record_date)]
        return [self._electronic(way, amount, record_date)]

    def _cash(self, amount: Decimal, record_date: dt.date, *, exact: bool = False) -> Tender:
        note = None if exact else self.rng.choice(CASH_NOTES)
        handed_over = (
            amount
            if note is None
            else (amount / note).to_integral_value(rounding=ROUND_CEILING) * note
        )
        return Tender(
            method=self.methods["cash"],
            amount=amount,
            handed_over=handed_over,
            change_given=handed_over - amount,
            record_date=record_date,
        )

    def _electronic(self, code: str, amount: Decimal, record_date: dt.date) -> Tender:
        """A fake but well-formed reference: WeChat's 28-digit transaction id, Alipay's
        trade number (date first), a card payment's 12-digit retrieval reference."""
        rng = self.rng
        reference = {
            "wechat": lambda: f"42000{rng.randrange(10**23):023d}",
            "alipay": lambda: f"{record_date:%Y%m%d}22001{rng.randrange(10**15):015d}",
            "card": lambda: f"{rng.randrange(10**CARD_REFERENCE_DIGITS):012d}",
        }[code]()
        return Tender(
            method=self.methods[code],
            amount=amount,
            handed_over=ZERO,
            change_given=ZERO,
            reference=reference,
            record_date=record_date,
        )

    def _refund(self, paid: Settled, number: int) -> None:
        """One line of the bill given back, whole or in part, later that day by the same
        cashier in the same shift: figures by billing.refunds.line_refund_figures (a
        refund that completes the bill takes what is left), paid back by cash, or by the
        method that paid the bill alone."""
        rng = self.rng
        bill = paid.bill
        choices = [index for index, line in enumerate(paid.draft.lines) if line.amount > 0]
        if not choices:
            return
        index = rng.choice(choices)
        line = paid.draft.lines[index]
        whole = line.quantity
        quantity = whole
        if whole >= 2 and whole == whole.to_integral_value() and rng.random() < 0.5:
            quantity = Decimal(rng.randrange(1, int(whole)))
        amount, insured = line_refund_figures(
            quantity=whole,
            amount=line.amount,
            insured=line.insured_amount,
            refunded_quantity=Decimal(0),
            refunded_amount=Decimal(0),
            refunded_insured=Decimal(0),
            refund=quantity,
        )
        completes = quantity == whole and len(paid.draft.lines) == 1
        insurance = bill.insurance_amount if completes else insured
        self_pay = amount - insurance
        method = None
        if self_pay:
            electronic = [t for t in paid.tenders if not t.method.is_cash]
            method = self.methods["cash"]
            if len(paid.tenders) == 1 and electronic:
                method = electronic[0].method
        refunded_at = min(
            bill.pay_time + dt.timedelta(minutes=rng.randrange(10, 120)),
            timezone.make_aware(
                dt.datetime.combine(timezone.localdate(bill.pay_time), dt.time(23, 0))
            ),
        )
        paid.refund = Refund(
            number=f"R{timezone.localdate(refunded_at):%Y%m%d}-{self.tag}{base31(number, 4)}",
            method=method,
            amount=amount,
            insurance_amount=insurance,
            self_pay_amount=self_pay,
            reason=rng.choice(REFUND_REASONS),
            reference=paid.tenders[0].reference if method and not method.is_cash else "",
            record_date=timezone.localdate(refunded_at),
            created_by=paid.cashier,
            created_at=refunded_at,
        )
        paid.refunded_line = index
        paid.refund_line = RefundLine(
            category=line.category,
            quantity=quantity,
            amount=amount,
            insured_amount=insured,
            self_pay_amount=amount - insured,
        )
        bill.refunded_amount = amount
        bill.refunded_insurance_amount = insurance
        bill.refunded_self_pay_amount = self_pay
        bill.pay_status = PayStatus.REFUNDED if completes else PayStatus.PARTIALLY_REFUNDED

    def _shifts(self, day: dt.date, settled: list[Settled]) -> list[CashierShift]:
        """One shift per cashier for the day, written closed: opened before the morning
        (or the day's first payment), closed at the day's end (after its last payment or
        refund), the drawer counted as expected but now and then a little over or short,
        with a note. Each bill gets its cashier's shift."""
        rng = self.rng
        tz = timezone.get_default_timezone()
        morning, _noon = slot_hours(TimeSlot.MORNING)
        _start, evening = slot_hours(TimeSlot.AFTERNOON)
        day_start = timezone.make_aware(dt.datetime.combine(day, dt.time.min), tz)
        day_end = timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59)), tz)
        opening = timezone.make_aware(dt.datetime.combine(day, morning), tz)
        closing = timezone.make_aware(dt.datetime.combine(day, evening), tz)
        shifts = []
        for cashier in self.cashiers:
            mine = [paid for paid in settled if paid.cashier is cashier]
            times = [paid.bill.pay_time for paid in mine] + [
                paid.refund.created_at for paid in mine if paid.refund is not None
            ]
            float_ = rng.choice(OPENING_FLOATS)
            cash = sum(
                (t.amount for paid in mine for t in paid.tenders if t.method.is_cash), ZERO
            ) - sum(
                (
                    paid.refund.self_pay_amount
                    for paid in mine
                    if paid.refund is not None
                    and paid.refund.method is not None
                    and paid.refund.method.is_cash
                ),
                ZERO,
            )
            expected = float_ + cash
            difference, note = ZERO, ""
            if rng.random() < OVER_SHORT_SHARE:
                difference, note = rng.choice(OVER_SHORT), rng.choice(OVER_SHORT_NOTES)
            shift = CashierShift(
                cashier=cashier,
                status=ShiftStatus.CLOSED,
                open_cashier=None,
                opened_at=max(
                    day_start,
                    min([opening - dt.timedelta(minutes=30)] + [
                        t - dt.timedelta(minutes=5) for t in times
                    ]),
                ),
                opening_float=float_,
                closed_at=min(
                    day_end,
                    max([closing + dt.timedelta(minutes=30)] + [
                        t + dt.timedelta(minutes=10) for t in times
                    ]),
                ),
                closed_by=cashier,
                expected_cash=expected,
                counted_cash=expected + difference,
                cash_difference=difference,
                close_note=note,
            )  # fmt: skip
            for paid in mine:
                paid.bill.shift = shift
            shifts.append(shift)
        return bulk_create(CashierShift, shifts, ("cashier_id", "opened_at"))

    def _appointment(
        self,
        patient: Patient,
        schedule: Schedule,
        expected: dt.datetime,
        status: str,
        window: ScheduleWindow,
    ) -> Appointment:
        cancelled = status == AppointmentStatus.CANCELLED
        return Appointment(
            reference=self._reference(),
            patient_name=patient.name,
            phone=patient.phone,
            id_card=patient.id_card or "",
            department_id=schedule.department_id,
            schedule=schedule,
            window=window,
            expected_time=expected,
            status=status,
            patient=patient,
            cancelled_at=expected - dt.timedelta(hours=self.rng.randrange(2, 48))
            if cancelled
            else None,
            cancel_reason="Patient called to cancel" if cancelled else "",
        )
