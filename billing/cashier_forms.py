"""Forms of the cashier's pages: the tenders on the payment page, the shift's open and close,
a manager's reopening, the day-end date and the refund.

The forms only read what was typed; the rules (tenders adding up to the self-pay part, a note
when the drawer is over or short, who may reopen) are the services' (billing.cashier), whose
refusals the views put back on these fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from billing.amounts import to_cents
from billing.cashier import MAX_TENDERS, NOTE_LENGTH, REFERENCE_LENGTH
from billing.exceptions import InvalidTenders
from billing.models import PaymentMethod
from billing.refunds import REASON_LENGTH
from clinic.forms import DateField
from clinic.urls_utils import id_param

ZERO = Decimal("0.00")
# Rows for methods other than cash on the payment page: enough for a split payment, few
# enough to Tab through. The service allows MAX_TENDERS in all (cash included).
OTHER_ROWS = min(2, MAX_TENDERS - 1)
MONEY_ATTRS = {"inputmode": "decimal", "step": "0.01", "min": "0"}


def money_field(label: Any, *, required: bool = True, **kwargs: Any) -> forms.DecimalField:
    field = forms.DecimalField(
        label=label,
        required=required,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        **kwargs,
    )
    field.widget.attrs.update(MONEY_ATTRS)
    return field


def cash_method() -> PaymentMethod | None:
    return PaymentMethod.objects.filter(is_cash=True, is_active=True).first()


def open_row_amount(self_pay: Decimal, typed: Decimal, handed: Decimal | None) -> Decimal:
    """What a method row without an amount pays: what the rows' typed amounts and the cash
    do not. Cash handed over pays first when typed (up to what is left); the rest goes to
    the method. Zero or less when nothing is left for it."""
    left = self_pay - typed
    return left - (min(handed, max(left, ZERO)) if handed else ZERO)


@dataclass(frozen=True)
class TenderPlan:
    """What the page will send to settle_visit: the tenders, and for each its fields on
    the form (so that the service's `tenders.<n>.<field>` refusals land on them)."""

    tenders: list[dict[str, Any]]
    fields: list[dict[str, str]]

    def field_for(self, key: str) -> str | None:
        parts = key.split(".")
        index = id_param(parts[1]) if len(parts) == 3 and parts[0] == "tenders" else None
        if index is None:
            return None
        if index >= len(self.fields):
            return None
        return self.fields[index].get(parts[2])


@dataclass(frozen=True)
class TenderSummary:
    """The figures the page shows while the cashier types: paid by the other methods, left
    to pay in cash, handed over and the change (None until something is handed over)."""

    self_pay: Decimal
    other: Decimal
    cash_due: Decimal
    handed_over: Decimal | None

    @property
    def change(self) -> Decimal | None:
        if self.handed_over is None or self.handed_over < self.cash_due:
            return None
        return self.handed_over - self.cash_due

    @property
    def short(self) -> Decimal | None:
        if self.handed_over is None or self.handed_over >= self.cash_due:
            return None
        return self.cash_due - self.handed_over

    @property
    def over_paid(self) -> bool:
        return self.other > self.self_pay


class TenderForm(forms.Form):
    """Cash first (the amount handed over; empty means exactly what is left to pay), then
    rows for the other methods: the method, the amount, the reference typed or scanned."""

    handed_over = money_field(
        gettext_lazy("Cash handed over (¥)"),
        required=False,
        help_text=gettext_lazy("Empty: exactly the cash left to pay."),
    )

    def __init__(self, *args: Any, methods: list[PaymentMethod] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if methods is None:
            methods = list(PaymentMethod.objects.filter(is_active=True, is_cash=False))
        self.methods = {method.code: method for method in methods}
        choices = [("", _("— choose —")), *[(m.code, m.display_name) for m in methods]]
        for row in self.rows:
            self.fields[f"method_{row}"] = forms.ChoiceField(
                label=_("Method"), choices=choices, required=False
            )
            self.fields[f"amount_{row}"] = money_field(
                _("Amount (¥)"),
                required=False,
                help_text=_("Empty with one method: all that is not paid in cash."),
            )
            self.fields[f"reference_{row}"] = forms.CharField(
                label=_("Reference (typed or scanned)"),
                max_length=REFERENCE_LENGTH,
                required=False,
            )
            self.fields[f"reference_{row}"].widget.attrs["autocomplete"] = "off"

    @property
    def rows(self) -> range:
        return range(1, OTHER_ROWS + 1)

    def row_fields(self) -> list[dict[str, forms.BoundField]]:
        """The other methods' rows, for the template (one fieldset each)."""
        return [
            {
                "number": row,
                "method": self[f"method_{row}"],
                "amount": self[f"amount_{row}"],
                "reference": self[f"reference_{row}"],
            }
            for row in self.rows
        ]

    @property
    def others_used(self) -> bool:
        """Whether the page should open the other methods' rows: something typed there or
        an error on them."""
        for row in self.rows:
            for name in (f"method_{row}", f"amount_{row}", f"reference_{row}"):
                if self.errors.get(name) or (self.data.get(name) or "").strip():
                    return True
        return False

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for row in self.rows:
            method = cleaned.get(f"method_{row}")
            amount = cleaned.get(f"amount_{row}")
            reference = (cleaned.get(f"reference_{row}") or "").strip()
            if not method and (amount is not None or reference):
                self.add_error(f"method_{row}", _("Choose the method of this payment."))
        return cleaned

    def _used_rows(self) -> list[tuple[int, PaymentMethod, Decimal | None, str]]:
        rows = []
        for row in self.rows:
            method = self.methods.get(self.cleaned_data.get(f"method_{row}") or "")
            if method is None:
                continue
            reference = (self.cleaned_data.get(f"reference_{row}") or "").strip()
            rows.append((row, method, self.cleaned_data.get(f"amount_{row}"), reference))
        return rows

    def plan(self, self_pay: Decimal) -> TenderPlan:
        """The tenders that pay `self_pay`: the other methods' rows, and cash for what is
        left. One row without an amount takes all that is not paid in cash. Faults the
        form can see (an amount missing, cash handed over with nothing left to pay in cash)
        are raised as the service would: InvalidTenders keyed by the form's fields."""
        handed = self.cleaned_data.get("handed_over")
        rows = self._used_rows()
        without_amount = [row for row in rows if row[2] is None]
        if len(without_amount) > 1:
            raise InvalidTenders(
                details={
                    f"amount_{row}": [_("Enter the amount paid this way.")]
                    for row, *_rest in without_amount
                }
            )
        typed = sum((row[2] for row in rows if row[2] is not None), ZERO)
        tenders: list[dict[str, Any]] = []
        fields: list[dict[str, str]] = []
        cash = cash_method()
        open_amount = None
        if without_amount:
            open_amount = open_row_amount(self_pay, typed, handed)
            if open_amount <= 0:
                raise InvalidTenders(
                    details={
                        f"amount_{without_amount[0][0]}": [_("Enter the amount paid this way.")]
                    }
                )
        cash_due = self_pay - typed - (open_amount or ZERO)
        if cash_due > 0:
            if cash is None:
                raise InvalidTenders(details={"tenders": [_("No cash method is active.")]})
            tenders.append(
                {
                    "method": cash.code,
                    "amount": str(cash_due),
                    "handed_over": "" if handed is None else str(handed),
                    "reference": "",
                }
            )
            fields.append({"amount": "handed_over", "handed_over": "handed_over"})
        elif handed:
            raise InvalidTenders(details={"handed_over": [_("Nothing is left to pay in cash.")]})
        for row, method, amount, reference in rows:
            tenders.append(
                {
                    "method": method.code,
                    "amount": str(open_amount if amount is None else amount),
                    "reference": reference,
                }
            )
            fields.append(
                {
                    "method": f"method_{row}",
                    "amount": f"amount_{row}",
                    "handed_over": f"amount_{row}",
                    "reference": f"reference_{row}",
                }
            )
        return TenderPlan(tenders=tenders, fields=fields)


def tender_summary(self_pay: Decimal, data: Any) -> TenderSummary:
    """The live figures from what is typed so far. An amount the services would refuse
    (not a number, negative, too large) counts as nothing typed: the form's own validation
    reports it when the page is sent."""

    def amount(name: str) -> Decimal | None:
        text = str(data.get(name) or "").strip()
        return to_cents(text, name, {}) if text else None

    rows = range(1, OTHER_ROWS + 1)
    typed = sum((amount(f"amount_{row}") or ZERO for row in rows), ZERO)
    handed = amount("handed_over")
    open_rows = [
        row for row in rows if data.get(f"method_{row}") and amount(f"amount_{row}") is None
    ]
    other = typed
    if len(open_rows) == 1:
        other += max(open_row_amount(self_pay, typed, handed), ZERO)
    return TenderSummary(
        self_pay=self_pay,
        other=other,
        cash_due=max(self_pay - other, ZERO),
        handed_over=handed,
    )


def add_tender_errors(form: forms.Form, error: InvalidTenders, plan: TenderPlan | None) -> None:
    """The service's `tenders.<n>.<field>` refusals on the fields that sent them; the others
    ("tenders": they do not add up, no cash method) as the form's own errors, after the
    error's message when it says more than its default."""
    general: list[str] = []
    for key, messages in error.details.items():
        field = key if key in form.fields else (plan.field_for(key) if plan else None)
        for message in messages if isinstance(messages, list) else [messages]:
            if field:
                form.add_error(field, str(message))
            else:
                general.append(str(message))
    if general or not error.details:
        if error.message != str(InvalidTenders.default_message) or not general:
            form.add_error(None, error.message)
        for message in general:
            form.add_error(None, message)


# --- Shifts -----------------------------------------------------------------------------


class OpenShiftForm(forms.Form):
    opening_float = money_field(
        gettext_lazy("Cash float in the drawer (¥)"),
        initial=ZERO,
        help_text=gettext_lazy("The cash in the drawer before the first payment."),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CloseShiftForm(forms.Form):
    counted_cash = money_field(
        gettext_lazy("Cash counted in the drawer (¥)"),
        help_text=gettext_lazy("All the cash in the drawer, the float included."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note (required when the drawer is over or short)"),
        max_length=NOTE_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # The day-end page's day, when a manager closes a shift left open from there.
    date = forms.CharField(required=False, widget=forms.HiddenInput)


class ReopenShiftForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for reopening"), max_length=NOTE_LENGTH, required=True
    )
    date = forms.CharField(required=False, widget=forms.HiddenInput)


class DayEndForm(forms.Form):
    date = DateField(label=gettext_lazy("Day"), required=False)

    def day(self) -> dt.date:
        if self.is_bound and self.is_valid() and self.cleaned_data.get("date"):
            return self.cleaned_data["date"]
        return timezone.localdate()


# --- Refunds ----------------------------------------------------------------------------


class RefundForm(forms.Form):
    """A refund of some of the bill's lines: a quantity per line (empty: not refunded), the
    reason, the method the patient's part goes back by, its reference."""

    reason = forms.CharField(label=gettext_lazy("Reason for the refund"), max_length=REASON_LENGTH)
    method = forms.ChoiceField(label=gettext_lazy("Paid back by"), required=False)
    reference = forms.CharField(
        label=gettext_lazy("Reference (typed or scanned)"),
        max_length=REFERENCE_LENGTH,
        required=False,
        help_text=gettext_lazy("The transaction number of an electronic refund."),
    )

    def __init__(self, *args: Any, lines: list[Any], methods: list[PaymentMethod], **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines
        self.fields["method"].choices = [(m.code, m.display_name) for m in methods]
        cash = next((m for m in methods if m.is_cash), None)
        if cash is not None:
            self.fields["method"].initial = cash.code
        self.fields["reference"].widget.attrs["autocomplete"] = "off"
        for line in lines:
            left = line.refundable_quantity
            field = forms.DecimalField(
                label=_("Quantity to refund: %(item)s") % {"item": line.description},
                required=False,
                min_value=0,
                max_value=left,
                max_digits=10,
                decimal_places=3,
                help_text=_("Empty: not refunded. At most %(left)s.")
                % {"left": f"{left.normalize():f}"},
            )
            field.widget.attrs.update({"inputmode": "decimal", "step": "any", "min": "0"})
            if not left:
                field.disabled = True
            self.fields[self.quantity_name(line)] = field
        # The reason is asked after the quantities, as the cashier works down the page.
        self.order_fields([self.quantity_name(line) for line in lines])

    @staticmethod
    def quantity_name(line: Any) -> str:
        return f"quantity_{line.pk}"

    def line_rows(self) -> list[tuple[Any, forms.BoundField]]:
        return [(line, self[self.quantity_name(line)]) for line in self.lines]

    def requested(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The lines to send to refund_bill, and the field of each (for its refusals)."""
        lines: list[dict[str, Any]] = []
        names: list[str] = []
        for line in self.lines:
            name = self.quantity_name(line)
            quantity = self.cleaned_data.get(name)
            if quantity:
                lines.append({"line": line.pk, "quantity": quantity})
                names.append(name)
        return lines, names


def add_refund_errors(form: RefundForm, error: Any, names: list[str]) -> None:
    """refund_bill's `lines.<n>.<field>` refusals on the n-th line sent; its own fields'
    on them; anything else (no line chosen, a line already refunded) as the form's error."""
    general = False
    for key, messages in error.details.items():
        field = key if key in form.fields else None
        parts = key.split(".")
        index = id_param(parts[1]) if parts[0] == "lines" and len(parts) >= 2 else None
        if index is not None:
            field = names[index] if index < len(names) else None
        for message in messages if isinstance(messages, list) else [messages]:
            if field:
                form.add_error(field, str(message))
            else:
                general = True
                form.add_error(None, str(message))
    says_more = error.message != str(type(error).default_message)
    if not error.details or (general and says_more):
        form.add_error(None, error.message)
