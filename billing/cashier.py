"""The cashier's counter: shifts (opened with a float, closed with the drawer counted,
reopened by a manager), the tenders that pay a bill's self-pay part, and the shift and
day-end reports. Refunds are in billing.refunds; both write into the cashier's open shift.

Lock order (ARCHITECTURE.md): Visit → Charges → CashierShift → Bill → BillLines →
IncomeRecord → summary rows. Closing a shift locks only the shift: a payment that reaches
the shift's lock after the close commits finds it closed and is refused, one that got the
lock first is in the close's totals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.amounts import REFERENCE_LENGTH, TEXT_LENGTH, ZERO, clean_text, to_cents
from billing.exceptions import (
    InvalidAmounts,
    InvalidTenders,
    NoOpenShift,
    ShiftAlreadyOpen,
    ShiftClosed,
)
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    PaymentMethod,
    Refund,
    RefundLine,
    ShiftStatus,
    Tender,
)
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import FeeCategory, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.templatetags.clinic_format import format_money

# More tenders than this for one bill is a mistake, not a way to pay.
MAX_TENDERS = 6
NOTE_LENGTH = TEXT_LENGTH


# --- Shifts ---------------------------------------------------------------------------


# The people of a shift as pages name them (clinic_format.person_name: staff record, else
# patient record): read with the shift, never per row.
SHIFT_PEOPLE = (
    "cashier__employee", "cashier__patient", "closed_by__employee", "closed_by__patient",
)  # fmt: skip


def visible_shifts(user: User) -> QuerySet[CashierShift]:
    """The shifts a user may see (the one rule for pages and API): a cashier their own, a
    manager (administrator) every one. Others do not exist for them (404)."""
    shifts = CashierShift.objects.select_related(*SHIFT_PEOPLE)
    if user.role != Role.ADMIN:
        shifts = shifts.filter(cashier=user)
    return shifts


def current_shift(user: User) -> CashierShift | None:
    """The user's open shift, if any (not locked: for pages)."""
    if not user.is_authenticated:
        return None
    return CashierShift.objects.filter(open_cashier=user.pk).first()


def lock_open_shift(user: User) -> CashierShift:
    """The user's open shift, locked for the transaction: every tender and refund belongs
    to it. NoOpenShift when there is none (or it was closed meanwhile)."""
    shift = CashierShift.objects.select_for_update().filter(open_cashier=user.pk).first()
    if shift is None:
        raise NoOpenShift()
    return shift


def _amount(value: Any, name: str) -> Decimal:
    errors: dict[str, list[str]] = {}
    amount = to_cents(value, name, errors) if value not in (None, "") else None
    if amount is None and not errors:
        errors[name] = [_("Enter an amount such as 86.50.")]
    if errors:
        raise InvalidAmounts(details=errors)
    return amount


def _text(value: Any, name: str) -> str:
    errors: dict[str, list[str]] = {}
    text = clean_text(value, name, errors)
    if errors:
        raise InvalidAmounts(details=errors)
    return text


@atomic_with_retry
def open_shift(*, by: User, opening_float: Any, now: dt.datetime | None = None) -> CashierShift:
    """Open the cashier's shift with the cash float in the drawer. One open shift per
    cashier: the unique `open_cashier` refuses a second even under a race; the check
    before it gives the clear error (ShiftAlreadyOpen)."""
    ensure_role(by, *DESK_ROLES)
    amount = _amount(opening_float, "opening_float")
    # Serialises two opens by one cashier (two tabs): the second waits, then sees the first.
    User.objects.select_for_update().filter(pk=by.pk).first()
    if CashierShift.objects.filter(open_cashier=by.pk).exists():
        raise ShiftAlreadyOpen()
    shift = CashierShift.objects.create(
        cashier=by,
        status=ShiftStatus.OPEN,
        open_cashier=by.pk,
        opened_at=now or timezone.now(),
        opening_float=amount,
    )
    record_event(actor=by, action="shift.opened", obj=shift, new={"opening_float": str(amount)})
    return shift


def _lock_shift(shift: CashierShift | int) -> CashierShift:
    pk = shift.pk if isinstance(shift, CashierShift) else shift
    return CashierShift.objects.select_for_update().get(pk=pk)


@atomic_with_retry
def close_shift(
    *,
    shift: CashierShift | int,
    counted_cash: Any,
    note: Any = "",
    by: User,
    now: dt.datetime | None = None,
) -> CashierShift:
    """Close a shift: its expected cash (float + cash taken − cash given back), the cash
    counted, the difference (over when positive, short when negative; a note is required
    then). By its cashier or a manager. Nothing in a closed shift changes afterwards."""
    ensure_role(by, *DESK_ROLES)
    counted = _amount(counted_cash, "counted_cash")
    note = _text(note, "note")
    shift = _lock_shift(shift)
    if shift.cashier_id != by.pk and by.role != Role.ADMIN:
        raise PermissionDenied(_("Only the shift's cashier or a manager may close it."))
    if not shift.is_open:
        raise ShiftClosed(_("This shift is already closed."))
    report = shift_report(shift)
    difference = counted - report.expected_cash
    if difference and not note:
        raise InvalidAmounts(
            details={
                "note": [_("Say why the drawer is over or short (%s).") % format_money(difference)]
            }
        )
    shift.status = ShiftStatus.CLOSED
    shift.open_cashier = None
    shift.closed_at = now or timezone.now()
    shift.closed_by = by
    shift.expected_cash = report.expected_cash
    shift.counted_cash = counted
    shift.cash_difference = difference
    shift.close_note = note
    shift.save(
        update_fields=[
            "status", "open_cashier", "closed_at", "closed_by", "expected_cash",
            "counted_cash", "cash_difference", "close_note",
        ]
    )  # fmt: skip
    record_event(
        actor=by,
        action="shift.closed",
        obj=shift,
        old={"status": ShiftStatus.OPEN},
        new={
            "status": ShiftStatus.CLOSED,
            "expected_cash": str(report.expected_cash),
            "counted_cash": str(counted),
            "cash_difference": str(difference),
            "note": note,
            "bills": report.bill_count,
            "refunds": report.refund_count,
        },
    )
    return shift


@atomic_with_retry
def reopen_shift(*, shift: CashierShift | int, reason: Any, by: User) -> CashierShift:
    """A manager reopens a closed shift (a payment was forgotten, the count was wrong),
    with a reason; the close's figures go to the audit event and are counted again at
    the next close. Refused while the cashier has another shift open."""
    ensure_role(by, Role.ADMIN)
    reason = _text(reason, "reason")
    if not reason:
        raise InvalidAmounts(details={"reason": [_("Give the reason for reopening.")]})
    pk = shift.pk if isinstance(shift, CashierShift) else shift
    cashier_id = CashierShift.objects.filter(pk=pk).values_list("cashier_id", flat=True).first()
    # Lock order as open_shift's: the cashier's account, then the shift (a shift's cashier
    # never changes, so reading it unlocked first is safe).
    User.objects.select_for_update().filter(pk=cashier_id).first()
    shift = _lock_shift(pk)
    if shift.is_open:
        raise ShiftAlreadyOpen(_("This shift is open."))
    if CashierShift.objects.filter(open_cashier=shift.cashier_id).exists():
        raise ShiftAlreadyOpen(
            _("The cashier has another shift open: close it before reopening this one.")
        )
    old = {
        "status": ShiftStatus.CLOSED,
        "expected_cash": str(shift.expected_cash),
        "counted_cash": str(shift.counted_cash),
        "cash_difference": str(shift.cash_difference),
        "note": shift.close_note,
    }
    shift.status = ShiftStatus.OPEN
    shift.open_cashier = shift.cashier_id
    shift.closed_at = None
    shift.closed_by = None
    shift.expected_cash = shift.counted_cash = shift.cash_difference = None
    shift.close_note = ""
    shift.reopen_count += 1
    shift.save()
    record_event(
        actor=by,
        action="shift.reopened",
        obj=shift,
        old=old,
        new={"status": ShiftStatus.OPEN, "reason": reason},
    )
    return shift


# --- Tenders --------------------------------------------------------------------------


@dataclass(frozen=True)
class TenderInput:
    method: PaymentMethod
    amount: Decimal
    handed_over: Decimal
    reference: str

    @property
    def change(self) -> Decimal:
        return self.handed_over - self.amount if self.method.is_cash else ZERO


def parse_tenders(raw: Any) -> list[TenderInput] | None:
    """The tenders sent (a list of {method, amount, handed_over, reference}), checked on
    their own; None when none were sent (the seed's body: one exact cash tender).
    InvalidTenders names each fault as `tenders.<n>.<field>`."""
    if raw is None:
        return None
    if not isinstance(raw, list | tuple):
        raise InvalidTenders(details={"tenders": [_("Send a list of tenders.")]})
    if len(raw) > MAX_TENDERS:
        raise InvalidTenders(details={"tenders": [_("At most %d tenders.") % MAX_TENDERS]})
    methods = {method.code: method for method in PaymentMethod.objects.filter(is_active=True)}
    errors: dict[str, list[str]] = {}
    tenders = []
    for index, item in enumerate(raw):
        prefix = f"tenders.{index}."
        if not isinstance(item, dict):
            errors[f"tenders.{index}"] = [_("Each tender is an object.")]
            continue
        method = methods.get(str(item.get("method") or ""))
        if method is None:
            errors[prefix + "method"] = [_("Choose an active payment method.")]
        amount = to_cents(item.get("amount"), prefix + "amount", errors)
        if amount is not None and amount <= 0 and prefix + "amount" not in errors:
            errors[prefix + "amount"] = [_("A tender pays more than 0.")]
        handed = item.get("handed_over")
        handed_over = ZERO
        if handed not in (None, ""):
            handed_over = to_cents(handed, prefix + "handed_over", errors) or ZERO
        reference = clean_text(
            item.get("reference"), prefix + "reference", errors, REFERENCE_LENGTH
        )
        if method is None or amount is None or errors:
            continue
        if method.is_cash:
            handed_over = handed_over or amount
            if handed_over < amount:
                errors[prefix + "handed_over"] = [
                    _("The cash handed over (%(handed)s) is less than %(amount)s.")
                    % {"handed": format_money(handed_over), "amount": format_money(amount)}
                ]
        else:
            if handed_over:
                errors[prefix + "handed_over"] = [_("Only cash is handed over with change.")]
            if method.requires_reference and not reference:
                errors[prefix + "reference"] = [
                    _("Type or scan the %s reference number.") % method.display_name
                ]
        tenders.append(TenderInput(method, amount, handed_over, reference))
    if errors:
        raise InvalidTenders(details=errors)
    return tenders


def tenders_for(tenders: list[TenderInput] | None, self_pay: Decimal) -> list[TenderInput]:
    """The tenders that pay `self_pay`: those sent, which must add up to it, or (none sent)
    one cash tender of the exact amount. Nothing to pay, nothing tendered."""
    if tenders is None:
        if not self_pay:
            return []
        cash = PaymentMethod.objects.filter(is_cash=True, is_active=True).first()
        if cash is None:
            raise InvalidTenders(details={"tenders": [_("No cash method is active.")]})
        return [TenderInput(cash, self_pay, self_pay, "")]
    paid = sum((tender.amount for tender in tenders), ZERO)
    if paid != self_pay:
        raise InvalidTenders(
            _("The tenders add up to %(paid)s; the patient pays %(self_pay)s.")
            % {"paid": format_money(paid), "self_pay": format_money(self_pay)},
            details={"tenders": [_("Expected %s in all.") % format_money(self_pay)]},
        )
    return tenders


def write_tenders(
    bill: Bill, shift: CashierShift, tenders: list[TenderInput], record_date: dt.date
) -> None:
    Tender.objects.bulk_create(
        [
            Tender(
                bill=bill,
                shift=shift,
                method=tender.method,
                amount=tender.amount,
                handed_over=tender.handed_over if tender.method.is_cash else ZERO,
                change_given=tender.change,
                reference=tender.reference,
                record_date=record_date,
            )
            for tender in tenders
        ]
    )


# --- Reports --------------------------------------------------------------------------


@dataclass
class MethodTotal:
    """Money of one payment method (over a shift, a day or a range): the tenders taken, the
    refunds paid back by it, and the net (self-pay money only: the insurance part is
    settled with the bureau)."""

    method: PaymentMethod
    tenders: int = 0
    taken: Decimal = ZERO
    refunds: int = 0
    given_back: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.taken - self.given_back

    @property
    def label(self) -> str:
        return self.method.display_name


@dataclass
class CategoryTotal:
    category: str
    paid: Decimal = ZERO
    refunded: Decimal = ZERO

    @property
    def label(self) -> str:
        return str(FeeCategory(self.category).label)

    @property
    def net(self) -> Decimal:
        return self.paid - self.refunded


@dataclass
class ShiftReport:
    """What a shift took and gave back, per method and per fee category, with its counts;
    the expected cash is the float plus the cash methods' net."""

    shift: CashierShift
    methods: list[MethodTotal] = field(default_factory=list)
    categories: list[CategoryTotal] = field(default_factory=list)
    bill_count: int = 0
    billed: Decimal = ZERO
    insurance: Decimal = ZERO
    self_pay: Decimal = ZERO
    refund_count: int = 0
    refunded: Decimal = ZERO
    refunded_self_pay: Decimal = ZERO

    @property
    def taken(self) -> Decimal:
        return sum((row.taken for row in self.methods), ZERO)

    @property
    def given_back(self) -> Decimal:
        return sum((row.given_back for row in self.methods), ZERO)

    @property
    def net(self) -> Decimal:
        return self.taken - self.given_back

    @property
    def cash_net(self) -> Decimal:
        return sum((row.net for row in self.methods if row.method.is_cash), ZERO)

    @property
    def expected_cash(self) -> Decimal:
        return self.shift.opening_float + self.cash_net


def _sum(value: Any) -> Decimal:
    return (value or ZERO).quantize(Decimal("0.01"))


def shift_report(shift: CashierShift) -> ShiftReport:
    """One shift's figures (shift_reports of one)."""
    return shift_reports([shift])[0]


def shift_reports(shifts: list[CashierShift]) -> list[ShiftReport]:
    """The shifts' figures, each aggregated in SQL grouped by shift: seven statements
    whatever the number of shifts or of their payments."""
    reports = {shift.pk: ShiftReport(shift=shift) for shift in shifts}
    if not reports:
        return []
    ids = list(reports)
    all_methods = list(PaymentMethod.objects.all())
    methods: dict[int, dict[int, MethodTotal]] = {
        pk: {method.pk: MethodTotal(method) for method in all_methods} for pk in ids
    }
    for row in (
        Tender.objects.filter(shift__in=ids)
        .values("shift_id", "method_id")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by()
    ):
        total = methods[row["shift_id"]][row["method_id"]]
        total.tenders = row["count"]
        total.taken = _sum(row["amount"])
    for row in (
        Refund.objects.filter(shift__in=ids, method__isnull=False)
        .values("shift_id", "method_id")
        .annotate(count=Count("id"), amount=Sum("self_pay_amount"))
        .order_by()
    ):
        total = methods[row["shift_id"]][row["method_id"]]
        total.refunds = row["count"]
        total.given_back = _sum(row["amount"])
    categories: dict[int, dict[str, CategoryTotal]] = {pk: {} for pk in ids}
    for row in (
        BillLine.objects.filter(bill__shift__in=ids)
        .values("bill__shift_id", "category")
        .annotate(amount=Sum("amount"))
        .order_by()
    ):
        categories[row["bill__shift_id"]][row["category"]] = CategoryTotal(
            row["category"], paid=_sum(row["amount"])
        )
    for row in (
        RefundLine.objects.filter(refund__shift__in=ids)
        .values("refund__shift_id", "category")
        .annotate(amount=Sum("amount"))
        .order_by()
    ):
        total = categories[row["refund__shift_id"]].setdefault(
            row["category"], CategoryTotal(row["category"])
        )
        total.refunded = _sum(row["amount"])
    for row in (
        Bill.objects.filter(shift__in=ids)
        .values("shift_id")
        .annotate(
            count=Count("id"),
            total=Sum("total_amount"),
            insurance=Sum("insurance_amount"),
            self_pay=Sum("self_pay_amount"),
        )
        .order_by()
    ):
        report = reports[row["shift_id"]]
        report.bill_count = row["count"]
        report.billed = _sum(row["total"])
        report.insurance = _sum(row["insurance"])
        report.self_pay = _sum(row["self_pay"])
    for row in (
        Refund.objects.filter(shift__in=ids)
        .values("shift_id")
        .annotate(count=Count("id"), total=Sum("amount"), self_pay=Sum("self_pay_amount"))
        .order_by()
    ):
        report = reports[row["shift_id"]]
        report.refund_count = row["count"]
        report.refunded = _sum(row["total"])
        report.refunded_self_pay = _sum(row["self_pay"])
    for pk, report in reports.items():
        report.methods = [
            row
            for row in methods[pk].values()
            if row.method.is_cash or row.tenders or row.refunds or row.method.is_active
        ]
        report.categories = [
            categories[pk][code] for code in FeeCategory.values if code in categories[pk]
        ]
    return [reports[shift.pk] for shift in shifts]


@dataclass
class DayReport:
    """The day's shifts (opened that clinic-local day) with their reports, the day's totals
    per method, and every shift still open (of that day or earlier: flagged)."""

    day: dt.date
    shifts: list[ShiftReport]
    left_open: list[CashierShift]

    @property
    def methods(self) -> list[MethodTotal]:
        totals: dict[int, MethodTotal] = {}
        for report in self.shifts:
            for row in report.methods:
                total = totals.setdefault(row.method.pk, MethodTotal(row.method))
                total.tenders += row.tenders
                total.taken += row.taken
                total.refunds += row.refunds
                total.given_back += row.given_back
        return sorted(totals.values(), key=lambda row: (row.method.sort_order, row.method.pk))

    @property
    def bill_count(self) -> int:
        return sum(report.bill_count for report in self.shifts)

    @property
    def refund_count(self) -> int:
        return sum(report.refund_count for report in self.shifts)

    @property
    def net(self) -> Decimal:
        return sum((report.net for report in self.shifts), ZERO)

    @property
    def cash_difference(self) -> Decimal:
        return sum((report.shift.cash_difference or ZERO for report in self.shifts), ZERO)


def day_report(day: dt.date) -> DayReport:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    end = start + dt.timedelta(days=1)
    shifts = CashierShift.objects.select_related(*SHIFT_PEOPLE)
    of_the_day = shifts.filter(opened_at__gte=start, opened_at__lt=end)
    left_open = shifts.filter(Q(status=ShiftStatus.OPEN), opened_at__lt=end)
    return DayReport(
        day=day,
        shifts=shift_reports(list(of_the_day.order_by("opened_at", "id"))),
        left_open=list(left_open.order_by("opened_at", "id")),
    )
