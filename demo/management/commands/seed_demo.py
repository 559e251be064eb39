"""Load the demo clinic: departments, rooms, staff, accounts, a week of schedules and some activity.

Idempotent by natural keys (department code, room number, staff code, username, schedule
doctor × date × slot, booking reference): a second run changes nothing, and a run on a later
day tops the schedule window up and adds that day's demo activity.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.reminders import REMINDER_RELATIONS, write_reminder
from billing.cashier import TenderInput, current_shift, open_shift, write_tenders
from billing.models import (
    Bill,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PaymentMethod,
    PayStatus,
)
from billing.pricing import manual_draft
from clinic.codes import READABLE_ALPHABET
from clinic.groups import ADMINISTRATORS, MANAGERS
from clinic.models import (
    Department,
    DoctorRank,
    Employee,
    Gender,
    InsurancePlan,
    Patient,
    Position,
    Role,
    Room,
    User,
)
from clinic.validators import resident_id_check_char
from demo.catalogue import INSURANCE_PLANS, seed_catalogue
from scheduling.models import Schedule, ScheduleWindow, TimeSlot, slot_bounds
from visits.displays import key_digest
from visits.models import (
    AllergySeverity,
    DiagnosisCatalogue,
    DisplayToken,
    MedicalRecord,
    PatientAllergy,
    Visit,
    VisitDailySummary,
    VisitStatus,
)

SCHEDULE_DAYS = 7
CAPACITY = {TimeSlot.MORNING: 20, TimeSlot.AFTERNOON: 15}

DEPARTMENTS = [
    # code, name, English name, description, rooms
    (
        "IM",
        "内科",
        "Internal Medicine",
        "Internal medicine: fever, cough, blood pressure, diabetes.",
        ["101", "102"],
    ),
    (
        "SURG",
        "外科",
        "Surgery",
        "General surgery: wounds, sprains, minor procedures.",
        ["201", "202"],
    ),
    ("PED", "儿科", "Paediatrics", "Children up to 14 years.", ["301"]),
    ("GYN", "妇科", "Gynaecology", "Gynaecology.", ["302"]),
    ("ENT", "耳鼻喉科", "ENT", "Ear, nose and throat.", ["401"]),
    ("DENT", "口腔科", "Dentistry", "Dentistry.", ["402", "403"]),
]

# A doctor's title and its English label.
TITLES_EN = {
    "主任医师": "Chief Physician",
    "副主任医师": "Associate Chief Physician",
    "主治医师": "Attending Physician",
    "医师": "Physician",
}

# A doctor's title and the rank its registration fee follows (clinic.RegistrationFee).
RANKS_BY_TITLE = {
    "主任医师": DoctorRank.CHIEF,
    "副主任医师": DoctorRank.ASSOCIATE_CHIEF,
    "主治医师": DoctorRank.ATTENDING,
    "医师": DoctorRank.RESIDENT,
}

DOCTORS = [
    # emp_id, name, gender, department code, room, title
    ("D001", "王建国", Gender.MALE, "IM", "101", "主任医师"),
    ("D002", "李秀英", Gender.FEMALE, "IM", "102", "主治医师"),
    ("D003", "张伟", Gender.MALE, "SURG", "201", "副主任医师"),
    ("D004", "刘洋", Gender.MALE, "SURG", "202", "主治医师"),
    ("D005", "陈静", Gender.FEMALE, "PED", "301", "主治医师"),
    ("D006", "杨丽", Gender.FEMALE, "GYN", "302", "副主任医师"),
    ("D007", "赵磊", Gender.MALE, "ENT", "401", "主治医师"),
    ("D008", "黄敏", Gender.FEMALE, "DENT", "402", "主治医师"),
    ("D009", "周强", Gender.MALE, "DENT", "403", "医师"),
]

OTHER_STAFF = [
    # emp_id, name, gender, position, department code, phone
    ("R001", "吴芳", Gender.FEMALE, Position.RECEPTIONIST, None, "13800000101"),
    ("A001", "郑海", Gender.MALE, Position.ADMIN, None, "13800000102"),
    ("N001", "孙婷", Gender.FEMALE, Position.NURSE, "IM", "13800000103"),
]

ACCOUNTS = [
    # username, password, role, staff code
    ("admin", "Admin-demo-2026", Role.ADMIN, "A001"),
    ("manager", "Manager-demo-2026", Role.ADMIN, None),
    ("reception", "Desk-demo-2026", Role.RECEPTIONIST, "R001"),
    ("doctor", "Doctor-demo-2026", Role.DOCTOR, "D001"),
    ("patient", "Patient-demo-2026", Role.PATIENT, None),
]

PATIENTS = [
    # name, gender, id number without its check digit (or None), phone
    ("张三", Gender.MALE, "11010519850314123", "13912345678"),
    ("李四", Gender.MALE, "31010419900722201", "13712345601"),
    ("王芳", Gender.FEMALE, "44030519780101302", "13612345602"),
    ("赵敏", Gender.FEMALE, "51010720150609404", "13512345603"),
    ("钱坤", Gender.MALE, None, "18812345604"),
    ("孙丽", Gender.FEMALE, "32010619921130505", "15912345605"),
    ("周杰", Gender.MALE, None, "17712345606"),
    ("吴霞", Gender.FEMALE, "42010219660818606", "15012345607"),
]
PATIENT_ACCOUNT_PHONE = "13912345678"

# The demo receptionist's cash float: her shift is open, so that the desk takes money at once.
DEMO_FLOAT = Decimal("200.00")


def demo_reference(day: dt.date, index: int) -> str:
    """A stable, non-sequential-looking booking reference for the day's n-th demo booking."""
    digest = hashlib.sha256(f"clinic-flow-demo:{day.isoformat()}:{index}".encode()).digest()
    return "".join(READABLE_ALPHABET[b % len(READABLE_ALPHABET)] for b in digest[:8])


def opening_time(today: dt.date) -> dt.datetime:
    """When the demo desk opened its shift: 07:30, or an hour ago when earlier (the day's
    demo bills were paid 25 minutes ago), but that same day."""
    at = dt.datetime.combine
    return max(
        timezone.make_aware(at(today, dt.time.min)),
        min(
            timezone.now() - dt.timedelta(hours=1),
            timezone.make_aware(at(today, dt.time(7, 30))),
        ),
    )


# The demo screens' keys (README: demo accounts).
DEMO_SCREEN_KEY = "demo-{code}"

# A few entries of the diagnosis catalogue (ICD-10 codes).
DEMO_DIAGNOSES = (
    ("J06.9", "急性上呼吸道感染", "Acute upper respiratory infection"),
    ("I10", "原发性高血压", "Essential hypertension"),
    ("E11.9", "2型糖尿病", "Type 2 diabetes mellitus"),
    ("K52.9", "急性胃肠炎", "Gastroenteritis"),
    ("J30.4", "过敏性鼻炎", "Allergic rhinitis"),
    ("S93.4", "踝关节扭伤", "Sprain of ankle"),
    ("K02.9", "龋齿", "Dental caries"),
    ("L30.9", "湿疹", "Dermatitis"),
)


class Command(BaseCommand):
    help = "Load idempotent demo data: departments, staff, accounts, schedules and activity."

    def handle(self, *args: Any, **options: Any) -> None:
        today = timezone.localdate()
        with transaction.atomic():
            departments = self._departments()
            self._screens(departments)
            doctors = self._staff(departments)
            self._accounts()
            patients = self._patients()
            created_schedules = self._schedules(today, doctors)
            self._diagnosis_catalogue()
            seed_catalogue()
            self._ranks()
            self._insurance(patients)
            self._desk_shift(today)
            self._activity(today, patients)
            self._reminders(today)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {Department.objects.count()} departments, "
                f"{Employee.objects.count()} staff, {Schedule.objects.count()} schedules "
                f"({created_schedules} new), {Appointment.objects.count()} appointments, "
                f"{Visit.objects.count()} visits."
            )
        )
        self.stdout.write("Demo accounts (username / password):")
        for username, password, role, _emp in ACCOUNTS:
            self.stdout.write(f"  {role.label:<14} {username} / {password}")
        self.stdout.write("Waiting-room screens (open once on the screen):")
        for code in departments:
            self.stdout.write(f"  /display/{code}/?key={DEMO_SCREEN_KEY.format(code=code)}")

    def _desk_shift(self, today: dt.date) -> CashierShift | None:
        """The demo receptionist's open shift (with the demo float): the one she has, else
        one opened now, as she would at the counter (billing.cashier). A shift she closed
        today stays closed: she opens the next one on the cashier's page."""
        cashier = User.objects.get(username="reception")
        shift = current_shift(cashier)
        # A range, not __date: MariaDB without time zone tables answers NULL to CONVERT_TZ.
        midnight = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
        opened_today = CashierShift.objects.filter(
            cashier=cashier,
            opened_at__gte=midnight,
            opened_at__lt=midnight + dt.timedelta(days=1),
        )
        if shift is None and not opened_today.exists():
            shift = open_shift(by=cashier, opening_float=DEMO_FLOAT, now=opening_time(today))
        return shift

    def _ranks(self) -> None:
        """Each demo doctor's rank, from their title (where none is set yet)."""
        for title, rank in RANKS_BY_TITLE.items():
            Employee.objects.filter(position=Position.DOCTOR, title=title, rank="").update(
                rank=rank
            )

    def _insurance(self, patients: list[Patient]) -> None:
        """Two demo patients in three have a plan (the others pay themselves); a plan the
        desk has set since is kept."""
        plans = [InsurancePlan.objects.get(name=name) for name, *_rest in INSURANCE_PLANS]
        for index, patient in enumerate(patients):
            if index % 3 == 2 or patient.insurance_plan_id is not None:
                continue
            patient.insurance_plan = plans[index % 3]
            patient.save(update_fields=["insurance_plan"])

    def _diagnosis_catalogue(self) -> None:
        """A few entries of the diagnosis catalogue (an administrator imports the real one
        from CSV in Django Admin)."""
        for code, name, name_en in DEMO_DIAGNOSES:
            DiagnosisCatalogue.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en}
            )

    def _screens(self, departments: dict[str, Department]) -> None:
        """A waiting-room screen per department, with a known demo key (like the demo
        passwords): a real clinic makes its keys in Django Admin."""
        for code, department in departments.items():
            DisplayToken.objects.get_or_create(
                token_hash=key_digest(DEMO_SCREEN_KEY.format(code=code)),
                defaults={"name": f"{department.name} · demo", "department": department},
            )

    def _departments(self) -> dict[str, Department]:
        departments = {}
        for code, name, name_en, description, rooms in DEPARTMENTS:
            department, _ = Department.objects.get_or_create(
                code=code, defaults={"name": name, "name_en": name_en, "description": description}
            )
            if not department.name_en:
                # A database seeded before departments had English names gets them once.
                department.name_en = name_en
                department.save(update_fields=["name_en"])
            departments[code] = department
            for room_number in rooms:
                Room.objects.get_or_create(
                    room_number=room_number, defaults={"department": department}
                )
        return departments

    def _staff(self, departments: dict[str, Department]) -> list[tuple[Employee, Room]]:
        doctors = []
        for index, (emp_id, name, gender, dept_code, room_number, title) in enumerate(DOCTORS):
            employee, _ = Employee.objects.get_or_create(
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
            if employee.title == title and not employee.title_en:
                employee.title_en = TITLES_EN[title]
                employee.save(update_fields=["title_en"])
            doctors.append((employee, Room.objects.get(room_number=room_number)))
        for emp_id, name, gender, position, dept_code, phone in OTHER_STAFF:
            Employee.objects.get_or_create(
                emp_id=emp_id,
                defaults={
                    "name": name,
                    "gender": gender,
                    "position": position,
                    "department": departments[dept_code] if dept_code else None,
                    "phone": phone,
                },
            )
        return doctors

    def _accounts(self) -> None:
        for username, password, role, emp_id in ACCOUNTS:
            if User.objects.filter(username=username).exists():
                continue
            user = User(username=username, role=role)
            if emp_id:
                user.employee = Employee.objects.get(emp_id=emp_id)
            user.set_password(password)
            user.save()
            if role == Role.ADMIN:
                group = MANAGERS if username == "manager" else ADMINISTRATORS
                user.groups.add(Group.objects.get(name=group))

    def _patients(self) -> list[Patient]:
        patients = []
        for name, gender, id17, phone in PATIENTS:
            id_card = f"{id17}{resident_id_check_char(id17)}" if id17 else None
            lookup = {"id_card": id_card} if id_card else {"phone": phone, "name": name}
            patient, created = Patient.objects.get_or_create(
                **lookup,
                defaults={"name": name, "gender": gender, "phone": phone, "id_card": id_card},
            )
            if created:
                patient.full_clean()  # derives the birth date and proves the demo IDs valid
                patient.save()
            patients.append(patient)
        account = User.objects.get(username="patient")
        if not Patient.objects.filter(user=account).exists():
            Patient.objects.filter(phone=PATIENT_ACCOUNT_PHONE, user__isnull=True).update(
                user=account
            )
        return patients

    def _schedules(self, today: dt.date, doctors: list[tuple[Employee, Room]]) -> int:
        created = 0
        for offset in range(SCHEDULE_DAYS):
            day = today + dt.timedelta(days=offset)
            for doctor, room in doctors:
                for slot, capacity in CAPACITY.items():
                    _, was_created = Schedule.objects.get_or_create(
                        doctor=doctor,
                        work_date=day,
                        time_slot=slot,
                        defaults={
                            "department_id": doctor.department_id,
                            "room": room,
                            "max_patients": capacity,
                            "window_minutes": settings.CLINIC_WINDOW_MINUTES,
                        },
                    )
                    created += was_created
        return created

    def _activity(self, today: dt.date, patients: list[Patient]) -> None:
        """Today's demo bookings and visits in several states (once per day)."""
        if Appointment.objects.filter(reference=demo_reference(today, 0)).exists():
            return
        now = timezone.now()
        tomorrow = today + dt.timedelta(days=1)
        schedules = {
            (s.doctor.emp_id, s.work_date, s.time_slot): s
            for s in Schedule.objects.filter(work_date__in=[today, tomorrow]).select_related(
                "doctor"
            )
        }

        def schedule(emp_id: str, day: dt.date, slot: str = TimeSlot.MORNING) -> Schedule:
            return schedules[(emp_id, day, slot)]

        def book(index: int, patient: Patient, sched: Schedule, status: str) -> Appointment:
            start, _end = slot_bounds(sched.work_date, sched.time_slot)
            return Appointment.objects.create(
                reference=demo_reference(today, index),
                patient_name=patient.name,
                phone=patient.phone,
                id_card=patient.id_card or "",
                department_id=sched.department_id,
                schedule=sched,
                expected_time=start + dt.timedelta(minutes=20 * index),
                status=status,
                patient=patient,
                cancelled_at=now if status == AppointmentStatus.CANCELLED else None,
                cancel_reason="Patient called to cancel" if status == "cancelled" else "",
            )

        queue: dict[int, int] = {}

        def visit(patient: Patient, sched: Schedule, status: str, appointment=None) -> Visit:
            queue[sched.pk] = queue.get(sched.pk, sched.visits.count()) + 1
            seen = status != VisitStatus.WAITING
            done = status in (VisitStatus.AWAITING_PAYMENT, VisitStatus.LEFT)
            return Visit.objects.create(
                appointment=appointment,
                patient=patient,
                department_id=sched.department_id,
                schedule=sched,
                queue_number=queue[sched.pk],
                status=status,
                visit_date=sched.work_date,
                check_in_time=now - dt.timedelta(minutes=60),
                called_at=now - dt.timedelta(minutes=45) if seen else None,
                finished_at=now - dt.timedelta(minutes=30) if done else None,
            )

        zhang, li, wang, zhao, qian, sun, zhou, wu = patients
        # Bookings still ahead: pending and confirmed, today and tomorrow; one cancelled.
        book(0, zhang, schedule("D001", tomorrow), AppointmentStatus.CONFIRMED)
        book(1, li, schedule("D001", today, TimeSlot.AFTERNOON), AppointmentStatus.PENDING)
        book(2, wang, schedule("D003", today, TimeSlot.AFTERNOON), AppointmentStatus.CONFIRMED)
        book(3, sun, schedule("D005", tomorrow), AppointmentStatus.PENDING)
        book(4, wu, schedule("D002", tomorrow), AppointmentStatus.CANCELLED)
        # Today's visits along the whole loop, two from checked-in bookings.
        checked_in = book(5, zhao, schedule("D001", today), AppointmentStatus.COMPLETED)
        visit(zhao, schedule("D001", today), VisitStatus.LEFT, checked_in)
        visit(qian, schedule("D001", today), VisitStatus.AWAITING_PAYMENT)
        visit(zhou, schedule("D001", today), VisitStatus.IN_CONSULTATION)
        checked_in = book(6, li, schedule("D001", today), AppointmentStatus.COMPLETED)
        visit(li, schedule("D001", today), VisitStatus.WAITING, checked_in)
        visit(wang, schedule("D002", today), VisitStatus.WAITING)
        left = visit(zhang, schedule("D003", today), VisitStatus.LEFT)
        # Patients who were sent to payment have a record with a diagnosis (the rule); the
        # one in consultation has an allergy on file.
        doctor = User.objects.get(username="doctor")
        for done in Visit.objects.filter(
            visit_date=today, status__in=(VisitStatus.AWAITING_PAYMENT, VisitStatus.LEFT)
        ):
            MedicalRecord.objects.get_or_create(
                visit=done,
                defaults={
                    "chief_complaint": "咳嗽、咽痛 2 天",
                    "present_illness": "2 天前受凉后出现咳嗽、咽痛，无发热。",
                    "physical_exam": "T 36.8℃，咽部充血，双肺呼吸音清。",
                    "diagnosis": "急性上呼吸道感染",
                    "diagnosis_code": DiagnosisCatalogue.objects.filter(code="J06.9").first(),
                    "plan": "多饮水，注意休息\n对乙酰氨基酚片 0.5g 必要时",
                    "updated_by": doctor,
                },
            )
        PatientAllergy.objects.get_or_create(
            patient=zhou,
            substance="青霉素",
            defaults={
                "reaction": "皮疹",
                "severity": AllergySeverity.SEVERE,
                "recorded_by": doctor,
                "recorded_at": now - dt.timedelta(days=30),
            },
        )

        cashier = User.objects.get(username="reception")
        # Today's bills are in her open shift (opened for them if she closed the last one).
        shift = current_shift(cashier) or open_shift(
            by=cashier, opening_float=DEMO_FLOAT, now=opening_time(today)
        )
        methods = {method.code: method for method in PaymentMethod.objects.all()}
        for paid_visit, total, insurance, paid_with in (
            (
                Visit.objects.get(appointment__reference=demo_reference(today, 5)),
                "86.50",
                "50.00",
                # Cash: ¥50 handed over for ¥36.50, ¥13.50 change.
                lambda self_pay: TenderInput(methods["cash"], self_pay, Decimal("50.00"), ""),
            ),
            (
                left,
                "120.00",
                "0.00",
                lambda self_pay: TenderInput(
                    methods["wechat"], self_pay, Decimal(0), "4200002026120600001234"
                ),
            ),
        ):
            self_pay = Decimal(total) - Decimal(insurance)
            bill = Bill.objects.create(
                visit=paid_visit,
                total_amount=Decimal(total),
                insurance_amount=Decimal(insurance),
                self_pay_amount=self_pay,
                estimated_insurance_amount=Decimal(insurance),
                pay_status=PayStatus.PAID,
                pay_time=now - dt.timedelta(minutes=25),
                cashier=cashier,
                shift=shift,
                tendered_amount=self_pay,
            )
            # One manual line of its figures, as a bill without charges gets at the desk.
            for line in manual_draft(
                total=bill.total_amount,
                insurance=bill.insurance_amount,
                reason="Demo bill typed at the desk",
            ).lines:
                line.as_bill_line(bill).save()
            write_tenders(bill, shift, [paid_with(self_pay)], today)
            IncomeRecord.objects.create(
                bill=bill,
                department_id=paid_visit.department_id,
                doctor_id=paid_visit.schedule.doctor_id,
                amount=bill.total_amount,
                insurance_amount=bill.insurance_amount,
                self_pay_amount=bill.self_pay_amount,
                record_date=today,
            )
        self._recount(Schedule.objects.filter(work_date__in=[today, tomorrow]))
        # The bills above were written directly: bring the statistics' daily summaries in
        # step (the visits counted themselves; a rebuild is cheap and leaves no doubt).
        DailyIncomeSummary.rebuild(start_date=today, end_date=today)
        DailyCategoryIncome.rebuild(start_date=today, end_date=today)
        VisitDailySummary.rebuild(start_date=today, end_date=today)

    def _reminders(self, today: dt.date) -> None:
        """Tomorrow's bookings' reminders, written as the evening's task writes them (the
        worker `make run` starts sends them; the desk's message log lists them)."""
        bookings = Appointment.objects.filter(
            schedule__work_date=today + dt.timedelta(days=1), status__in=LIVE_STATUSES
        ).select_related(*REMINDER_RELATIONS)
        for appointment in bookings:
            write_reminder(appointment, enqueue=False)

    def _recount(self, schedules) -> None:
        """Set each window's and schedule's counters to the places its bookings and visits
        hold (a window holding more than its share gets the quota it needs)."""
        windows = ScheduleWindow.objects.filter(schedule__in=schedules).annotate(
            live=Count(
                "appointments",
                filter=Q(appointments__status__in=LIVE_STATUSES),
                distinct=True,
            ),
            seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        )
        for window in windows:
            held = window.live + window.seen
            ScheduleWindow.objects.filter(pk=window.pk).update(
                quota=max(window.quota, held), used=held
            )
        for sched in schedules:
            Schedule.objects.filter(pk=sched.pk).update(
                max_patients=sched.windows.aggregate(total=Sum("quota"))["total"] or 0
            )
        for sched in schedules.annotate(
            live=Count(
                "appointments",
                filter=Q(appointments__status__in=LIVE_STATUSES),
                distinct=True,
            ),
            seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        ):
            Schedule.objects.filter(pk=sched.pk).update(current_patients=sched.live + sched.seen)
