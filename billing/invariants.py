"""The clinic's invariants, checked against the whole database (after a restore or a drill).

Each check is one aggregate query (each daily summary: two, summary and detail); the list
of problems is empty when everything holds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Round

from appointments.models import LIVE_STATUSES, Appointment, WaitlistEntry, WaitlistStatus
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
    Refund,
    RefundLine,
    ShiftStatus,
    Tender,
)
from scheduling.models import Schedule, ScheduleWindow
from visits.models import Visit, VisitDailySummary, VisitStatus

MONEY_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))
# A bill that was paid, whatever was refunded of it since.
PAID_STATUSES = (PayStatus.PAID, PayStatus.PARTIALLY_REFUNDED, PayStatus.REFUNDED)
CENT = Decimal("0.01")


def _sum_of(rows: QuerySet, field: str) -> Coalesce:
    """The sum of `field` over `rows` (a queryset filtered on an OuterRef and grouped by
    it with `values(...).order_by()`), 0 when there are none: a correlated subquery."""
    return Coalesce(Subquery(rows.annotate(s=Sum(field)).values("s")), MONEY_ZERO)


def _gap(left: str, right: str) -> Round:
    """left − right in whole cents (SQLite sums decimals as binary floats)."""
    return Round((F(left) - F(right)) * 100)


def _offers_held(relation: str) -> Count:
    """The places held for waitlist offers (an offer holds one until accepted or expired)."""
    offered = Q(**{f"{relation}__status": WaitlistStatus.OFFERED})
    return Count(relation, filter=offered, distinct=True)


def _window_problems() -> list[str]:
    """Time-sliced booking: each window counts the live bookings and visits held in it, and
    a schedule's counter and maximum are the sums of its windows'."""
    problems = []
    windows = ScheduleWindow.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
        seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        held=_offers_held("waitlist_offers"),
    ).filter(~Q(used=F("live") + F("seen") + F("held")))
    for window in windows.values("pk", "schedule_id", "used", "live", "seen", "held")[:20]:
        problems.append(
            "window {pk} of schedule {schedule_id}: {used} places counted, {live} live "
            "bookings + {seen} visits + {held} waitlist offers held".format(**window)
        )
    for pk in (
        WaitlistEntry.objects.filter(status=WaitlistStatus.OFFERED)
        .exclude(offered_window__schedule_id=F("offered_schedule_id"))
        .values_list("pk", flat=True)[:20]
    ):
        problems.append(f"waitlist entry {pk}: its offered window is not one of its schedule's")
    for model, name in ((Appointment, "booking"), (Visit, "visit")):
        for pk in model.objects.exclude(window__schedule_id=F("schedule_id")).values_list(
            "pk", flat=True
        )[:20]:
            problems.append(f"{name} {pk}: its window is not one of its schedule's")
    in_windows = ScheduleWindow.objects.filter(schedule=OuterRef("pk")).values("schedule")
    schedules = Schedule.objects.annotate(
        used=Coalesce(Subquery(in_windows.annotate(s=Sum("used")).values("s")), 0),
        quotas=Coalesce(Subquery(in_windows.annotate(s=Sum("quota")).values("s")), 0),
    ).filter(~Q(current_patients=F("used")) | ~Q(max_patients=F("quotas")))
    for schedule in schedules.values("pk", "current_patients", "used", "max_patients", "quotas")[
        :20
    ]:
        problems.append(
            "schedule {pk}: {current_patients} places counted, {used} in its windows; "
            "capacity {max_patients}, its windows' quotas {quotas}".format(**schedule)
        )
    return problems


def find_problems() -> list[str]:
    problems: list[str] = []
    # Places used: live bookings, visits not cancelled, and places held for waitlist offers.
    schedules = Schedule.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
        seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        held=_offers_held("waitlist_offers"),
    ).filter(
        ~Q(current_patients=F("live") + F("seen") + F("held"))
        | Q(current_patients__gt=F("max_patients"))
    )
    for schedule in schedules.values(
        "pk", "current_patients", "max_patients", "live", "seen", "held"
    )[:20]:
        problems.append(
            "schedule {pk}: {current_patients} places counted, {live} live bookings + {seen} "
            "visits + {held} waitlist offers held, capacity {max_patients}".format(**schedule)
        )
    problems += _window_problems()
    # In whole cents, as the bill's CHECK compares them (SQLite sums decimals as floats).
    broken_bills = Bill.objects.annotate(
        identity_gap=Round((F("total_amount") - F("insurance_amount") - F("self_pay_amount")) * 100)
    ).filter(
        ~Q(identity_gap=0)
        | Q(insurance_amount__gt=F("total_amount"))
        | Q(total_amount__lt=0)
        | Q(insurance_amount__lt=0)
        | Q(self_pay_amount__lt=0)
    )
    problems += [
        f"bill {pk}: amounts break the identity"
        for pk in broken_bills.values_list("pk", flat=True)[:20]
    ]
    # Every bill is the sum of its lines: total = Σ amounts, estimate = Σ insured parts.
    lines = BillLine.objects.filter(bill=OuterRef("pk")).values("bill").order_by()
    unbalanced = (
        Bill.objects.annotate(
            lines_amount=Coalesce(
                Subquery(lines.annotate(s=Sum("amount")).values("s")), MONEY_ZERO
            ),
            lines_insured=Coalesce(
                Subquery(lines.annotate(s=Sum("insured_amount")).values("s")), MONEY_ZERO
            ),
        )
        # In whole cents (SQLite sums decimals as binary floats).
        .annotate(
            amount_gap=Round((F("total_amount") - F("lines_amount")) * 100),
            insured_gap=Round((F("estimated_insurance_amount") - F("lines_insured")) * 100),
        )
        .filter(~Q(amount_gap=0) | ~Q(insured_gap=0))
        .values("pk", "total_amount", "lines_amount", "estimated_insurance_amount", "lines_insured")
    )
    problems += [
        "bill {pk}: total {total_amount} / estimate {estimated_insurance_amount}, its lines "
        "add up to {lines_amount} / {lines_insured}".format(**row)
        for row in unbalanced[:20]
    ]
    unpaid_left = Visit.objects.filter(status=VisitStatus.LEFT).exclude(
        bill__pay_status__in=PAID_STATUSES
    )
    problems += [
        f"visit {pk}: left without a paid bill"
        for pk in unpaid_left.values_list("pk", flat=True)[:20]
    ]
    paid_not_left = Bill.objects.filter(pay_status__in=PAID_STATUSES).exclude(
        visit__status=VisitStatus.LEFT
    )
    problems += [
        f"bill {pk}: paid but its visit has not left"
        for pk in paid_not_left.values_list("pk", flat=True)[:20]
    ]
    problems += _cashier_problems()
    problems += _income_problems()
    # The statistics' daily summaries equal what the income records and the visits add up to.
    for row in DailyIncomeSummary.differences()[:20]:
        problems.append(
            "income summary {record_date} department {department_id} doctor {doctor_key}: "
            "summary {summary}, income records {detail} "
            "(manage.py rebuild_income_summary)".format(**row)
        )
    for row in DailyCategoryIncome.differences()[:20]:
        problems.append(
            "income by category {record_date} department {department_id} doctor {doctor_key} "
            "{category}: summary {summary}, bill lines {detail} "
            "(manage.py rebuild_income_summary)".format(**row)
        )
    # The statistics' daily visit summary equals what the visits add up to.
    for row in VisitDailySummary.differences()[:20]:
        problems.append(
            "visit summary {visit_date} department {department_id} doctor {doctor_id}: "
            "summary {summary}, visits {detail} (manage.py rebuild_visit_summary)".format(**row)
        )
    return problems


def _cashier_problems() -> list[str]:
    """Tenders pay each bill's self-pay part; the refunded counters of bills and lines are
    their refunds' sums; each refund is its lines; a closed shift expected its cash."""
    problems: list[str] = []
    # Each bill with tenders (or a tendered amount: none for legacy bills): tendered =
    # the sum of its tenders = the self-pay amount.
    tenders = Tender.objects.filter(bill=OuterRef("pk")).values("bill").order_by()
    untendered = (
        Bill.objects.annotate(tenders_sum=_sum_of(tenders, "amount"), tendered=Exists(tenders))
        .filter(Q(tendered_amount__isnull=False) | Q(tendered=True))
        .annotate(
            sum_gap=_gap("tendered_amount", "tenders_sum"),
            self_pay_gap=_gap("tendered_amount", "self_pay_amount"),
        )
        .filter(Q(tendered_amount__isnull=True) | ~Q(sum_gap=0) | ~Q(self_pay_gap=0))
        .values("pk", "tendered_amount", "tenders_sum", "self_pay_amount")
    )
    problems += [
        "bill {pk}: tendered {tendered_amount}, its tenders add up to {tenders_sum}, "
        "self-pay {self_pay_amount}".format(**row)
        for row in _rounded(untendered)
    ]
    # A bill's refunded figures are the sums of its refunds.
    refunds = Refund.objects.filter(bill=OuterRef("pk")).values("bill").order_by()
    bills = (
        Bill.objects.annotate(
            refunds_amount=_sum_of(refunds, "amount"),
            refunds_insurance=_sum_of(refunds, "insurance_amount"),
            refunds_self_pay=_sum_of(refunds, "self_pay_amount"),
        )
        .annotate(
            amount_gap=_gap("refunded_amount", "refunds_amount"),
            insurance_gap=_gap("refunded_insurance_amount", "refunds_insurance"),
            self_pay_gap=_gap("refunded_self_pay_amount", "refunds_self_pay"),
        )
        .filter(~Q(amount_gap=0) | ~Q(insurance_gap=0) | ~Q(self_pay_gap=0))
        .values(
            "pk", "refunded_amount", "refunded_insurance_amount", "refunded_self_pay_amount",
            "refunds_amount", "refunds_insurance", "refunds_self_pay",
        )
    )  # fmt: skip
    problems += [
        "bill {pk}: refunded {refunded_amount} (insurance {refunded_insurance_amount}, "
        "self-pay {refunded_self_pay_amount}), its refunds add up to {refunds_amount} "
        "(insurance {refunds_insurance}, self-pay {refunds_self_pay})".format(**row)
        for row in _rounded(bills)
    ]
    # A line's refunded figures are the sums of its refund lines.
    refund_lines = RefundLine.objects.filter(bill_line=OuterRef("pk")).values("bill_line")
    lines = (
        BillLine.objects.annotate(
            refunds_quantity=Coalesce(
                Subquery(refund_lines.order_by().annotate(s=Sum("quantity")).values("s")),
                Value(Decimal(0), output_field=DecimalField(max_digits=13, decimal_places=3)),
            ),
            refunds_amount=_sum_of(refund_lines.order_by(), "amount"),
            refunds_insured=_sum_of(refund_lines.order_by(), "insured_amount"),
        )
        .annotate(
            # In thousandths: a quantity has three decimal places.
            quantity_gap=Round((F("refunded_quantity") - F("refunds_quantity")) * 1000),
            amount_gap=_gap("refunded_amount", "refunds_amount"),
            insured_gap=_gap("refunded_insured_amount", "refunds_insured"),
        )
        .filter(~Q(quantity_gap=0) | ~Q(amount_gap=0) | ~Q(insured_gap=0))
        .values(
            "pk", "bill_id", "refunded_quantity", "refunded_amount", "refunded_insured_amount",
            "refunds_quantity", "refunds_amount", "refunds_insured",
        )
    )  # fmt: skip
    problems += [
        "bill line {pk} (bill {bill_id}): refunded {refunded_quantity} for "
        "{refunded_amount} (insured {refunded_insured_amount}), its refund lines add up to "
        "{refunds_quantity} for {refunds_amount} (insured {refunds_insured})".format(**row)
        for row in _rounded(lines, quantities=("refunded_quantity", "refunds_quantity"))
    ]
    # Each refund is the sum of its lines. (Only the amount: its insured part is the
    # bill's, which for a bureau's figure or a refund that completes the bill is not the
    # lines' estimate.)
    of_refund = RefundLine.objects.filter(refund=OuterRef("pk")).values("refund").order_by()
    unbalanced = (
        Refund.objects.annotate(
            lines_amount=_sum_of(of_refund, "amount"), has_lines=Exists(of_refund)
        )
        .annotate(amount_gap=_gap("amount", "lines_amount"))
        .filter(~Q(amount_gap=0) | Q(has_lines=False))
        .values("pk", "bill_id", "amount", "lines_amount")
    )
    problems += [
        "refund {pk} (bill {bill_id}): amount {amount}, its lines add up to {lines_amount}".format(
            **row
        )
        for row in _rounded(unbalanced)
    ]
    # A closed shift expected its float, plus the cash taken, less the cash given back.
    cash_tenders = (
        Tender.objects.filter(shift=OuterRef("pk"), method__is_cash=True).values("shift").order_by()
    )
    cash_refunds = (
        Refund.objects.filter(shift=OuterRef("pk"), method__is_cash=True).values("shift").order_by()
    )
    shifts = (
        CashierShift.objects.filter(status=ShiftStatus.CLOSED)
        .annotate(
            cash_taken=_sum_of(cash_tenders, "amount"),
            cash_given_back=_sum_of(cash_refunds, "self_pay_amount"),
        )
        .annotate(
            cash_gap=Round(
                (F("expected_cash") - F("opening_float") - F("cash_taken") + F("cash_given_back"))
                * 100
            )
        )
        .filter(~Q(cash_gap=0))
        .values("pk", "expected_cash", "opening_float", "cash_taken", "cash_given_back")
    )
    problems += [
        "shift {pk}: expected cash {expected_cash}, but float {opening_float} + cash taken "
        "{cash_taken} − cash given back {cash_given_back} differ".format(**row)
        for row in _rounded(shifts)
    ]
    return problems


def _income_problems() -> list[str]:
    """The income records are the paid bills less their refunds, in total and each record:
    a payment's parts are its bill's, a refund's the refund's, negative."""
    problems: list[str] = []
    income = _cents(IncomeRecord.objects.aggregate(total=Sum("amount"))["total"])
    paid = _cents(
        Bill.objects.filter(pay_status__in=PAID_STATUSES).aggregate(total=Sum("total_amount"))[
            "total"
        ]
    )
    refunded = _cents(Refund.objects.aggregate(total=Sum("amount"))["total"])
    if income != paid - refunded:
        problems.append(
            f"income records total {income}, paid bills total {paid} less refunds {refunded}"
        )
    payments = (
        IncomeRecord.objects.filter(refund__isnull=True)
        .annotate(
            amount_gap=_gap("amount", "bill__total_amount"),
            insurance_gap=_gap("insurance_amount", "bill__insurance_amount"),
        )
        .filter(~Q(amount_gap=0) | ~Q(insurance_gap=0))
        .values("pk", "bill_id", "amount", "insurance_amount")
    )
    problems += [
        "income record {pk}: {amount} (insurance {insurance_amount}) is not its bill "
        "{bill_id}'s figures".format(**row)
        for row in _rounded(payments)
    ]
    given_back = (
        IncomeRecord.objects.filter(refund__isnull=False)
        .annotate(
            amount_gap=Round((F("amount") + F("refund__amount")) * 100),
            insurance_gap=Round((F("insurance_amount") + F("refund__insurance_amount")) * 100),
        )
        .filter(~Q(amount_gap=0) | ~Q(insurance_gap=0) | ~Q(bill=F("refund__bill")))
        .values("pk", "refund_id", "amount", "insurance_amount")
    )
    problems += [
        "income record {pk}: {amount} (insurance {insurance_amount}) is not minus its refund "
        "{refund_id}'s figures".format(**row)
        for row in _rounded(given_back)
    ]
    return problems


def _cents(value: Decimal | None) -> Decimal:
    return (value or Decimal(0)).quantize(CENT)


def _rounded(rows: QuerySet, *, quantities: tuple[str, ...] = ()) -> list[dict]:
    """The first rows, their sums shown as the columns are (SQLite sums as floats): money
    to the cent, `quantities` to the thousandth."""
    shown = []
    for row in rows[:20]:
        row = dict(row)
        for name, value in row.items():
            if isinstance(value, float | Decimal) and name != "pk" and not name.endswith("_id"):
                step = Decimal("0.001") if name in quantities else CENT
                row[name] = Decimal(str(value)).quantize(step)
        shown.append(row)
    return shown
