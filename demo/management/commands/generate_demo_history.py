"""Generate months of realistic clinic history in bulk, to try the statistics at size.

    python manage.py generate_demo_history --days 365 --visits-per-day 200

For every day of the range (ending yesterday by default) each doctor gets a morning and an
afternoon schedule in their room; the day's visits spread over them, mostly settled (the
visit's charges — its doctor's registration fee and a few orders from the fee catalogue —,
a paid bill of their lines priced with the patient's plan, its income record, often a
medical record), some left unseen; about a third came from a booking (a completed
appointment), and some bookings were cancelled or missed. The rows obey the clinic's rules:
the bill identity, each bill the sum of its lines, one bill and one income record per
settled visit, unique queue numbers per schedule, places taken equal to the visits that
hold them. Rows are written with bulk inserts, a week per transaction; the daily income
summaries are rebuilt for the range at the end.

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
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models, transaction
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
)
from billing.pricing import price_visit
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
from scheduling.models import Schedule, TimeSlot, slot_bounds
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

    def handle(self, *args: Any, **options: Any) -> None:
        days, per_day = options["days"], options["visits_per_day"]
        if days < 1 or per_day < 0:
            raise CommandError("--days must be at least 1 and --visits-per-day at least 0.")
        end = options["end_date"] or timezone.localdate() - dt.timedelta(days=1)
        start = end - dt.timedelta(days=days - 1)
        self.rng = random.Random(options["seed"])
        self.tally = Tally()
        started = time.perf_counter()

        posts = self._posts()
        self._catalogue()
        self.cashier = (
            User.objects.filter(role=Role.RECEPTIONIST, is_active=True).order_by("pk").first()
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
                f"records, "
                f"{t.patients} new patients; {summary_rows} summary rows. "
                f"{elapsed:.1f} s ({t.visits / elapsed:.0f} visits/s)."
            )
        )

    # --- The clinic ---------------------------------------------------------------------

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
        for index, schedule in enumerate(schedules):
            held = sum(status != VisitStatus.CANCELLED for _p, status in plan[index])
            schedule.current_patients = held
            schedule.max_patients = max(schedule.max_patients, held)
        bulk_create(Schedule, schedules, ("doctor_id", "work_date", "time_slot"))

        appointments: list[Appointment] = []
        visits: list[Visit] = []
        for index, schedule in enumerate(schedules):
            start, end = slot_bounds(day, schedule.time_slot)
            minutes = int((end - start).total_seconds() // 60)
            arrivals = sorted(rng.randrange(-20, minutes - 10) for _ in plan[index])
            for queue, ((patient, status), offset) in enumerate(
                zip(plan[index], arrivals, strict=True), start=1
            ):
                check_in = start + dt.timedelta(minutes=offset, seconds=rng.randrange(60))
                called = check_in + dt.timedelta(minutes=rng.randrange(5, 60))
                appointment = None
                if rng.random() < BOOKED_SHARE:
                    appointment = self._appointment(
                        patient, schedule, check_in, AppointmentStatus.COMPLETED
                    )
                    appointments.append(appointment)
                visits.append(
                    Visit(
                        appointment=appointment,
                        patient=patient,
                        department_id=schedule.department_id,
                        schedule=schedule,
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
                expected = start + dt.timedelta(minutes=rng.randrange(0, minutes))
                lost = (
                    AppointmentStatus.CANCELLED if rng.random() < 0.7 else AppointmentStatus.NO_SHOW
                )
                appointments.append(
                    self._appointment(rng.choice(self.patients), schedule, expected, lost)
                )
        bulk_create(Appointment, appointments, ("reference",))
        for visit in visits:
            if visit.appointment is not None:
                visit.appointment_id = visit.appointment.pk
        bulk_create(Visit, visits, ("schedule_id", "queue_number"))

        bills: list[Bill] = []
        visit_charges: list[list[Charge]] = []
        records: list[MedicalRecord] = []
        # Bill numbers: the payment date, this run's tag and the day's count. Days that
        # already had schedules are skipped, so an earlier run never paid on the same date.
        for number, visit in enumerate(visits, start=1):
            if visit.status != VisitStatus.LEFT:
                continue
            charges = self._charges(visit, visit.schedule.doctor)
            visit_charges.append(charges)
            plan = self.plans.get(visit.patient.insurance_plan_id)
            draft = price_visit(charges, plan)
            pay_time = visit.finished_at + dt.timedelta(minutes=rng.randrange(2, 20))
            bills.append(
                Bill(
                    visit=visit,
                    number=f"B{timezone.localdate(pay_time, tz):%Y%m%d}-{self.tag}"
                    f"{base31(number, 4)}",
                    total_amount=draft.total,
                    insurance_amount=draft.insured,
                    self_pay_amount=draft.self_pay,
                    estimated_insurance_amount=draft.insured,
                    insurance_plan_name=draft.plan_name,
                    pay_status=PayStatus.PAID,
                    pay_time=pay_time,
                    cashier=self.cashier,
                )
            )
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
        bulk_create(Bill, bills, ("number",))
        self._write_charges_and_lines(bills, visit_charges)
        bulk_create(
            IncomeRecord,
            [
                IncomeRecord(
                    bill=bill,
                    department_id=bill.visit.department_id,
                    doctor_id=bill.visit.schedule.doctor_id,
                    amount=bill.total_amount,
                    record_date=timezone.localdate(bill.pay_time, tz),
                )
                for bill in bills
            ],
        )
        bulk_create(MedicalRecord, records)
        t = self.tally
        t.days += 1
        t.schedules += len(schedules)
        t.visits += len(visits)
        t.appointments += len(appointments)
        t.bills += len(bills)
        t.records += len(records)

    def _write_charges_and_lines(self, bills: list[Bill], visit_charges: list[list]) -> None:
        """The settled visits' charges, then each bill's lines priced from them (the
        bill's figures were priced from the same charges)."""
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
        for bill, group in zip(bills, visit_charges, strict=True):
            plan = self.plans.get(bill.visit.patient.insurance_plan_id)
            lines += [line.as_bill_line(bill) for line in price_visit(group, plan).lines]
        bulk_create(BillLine, lines)
        self.tally.charges += len(charges)

    def _appointment(
        self, patient: Patient, schedule: Schedule, expected: dt.datetime, status: str
    ) -> Appointment:
        cancelled = status == AppointmentStatus.CANCELLED
        return Appointment(
            reference=self._reference(),
            patient_name=patient.name,
            phone=patient.phone,
            id_card=patient.id_card or "",
            department_id=schedule.department_id,
            schedule=schedule,
            expected_time=expected,
            status=status,
            patient=patient,
            cancelled_at=expected - dt.timedelta(hours=self.rng.randrange(2, 48))
            if cancelled
            else None,
            cancel_reason="Patient called to cancel" if cancelled else "",
        )
