from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError


class InvalidAmounts(ClinicError):
    """The amounts break a bill rule; `details` maps each field to its messages."""

    code = "invalid_amounts"
    status = 400
    default_message = _("The amounts are not consistent.")


class AlreadySettled(ClinicError):
    code = "already_settled"
    status = 409
    default_message = _("This visit has already been paid.")


class AmountsDiffer(ClinicError):
    """The amounts sent for a visit with charges are not the ones its lines add up to;
    `details` names the expected figures."""

    code = "amounts_differ"
    status = 409
    default_message = _("The amounts sent differ from the bill's lines.")


class BillOutOfBalance(ClinicError):
    """The saved bill does not equal the sum of its lines: the settlement is undone."""

    code = "bill_out_of_balance"
    status = 409
    default_message = _(
        "The bill does not add up to its lines; nothing was saved. Try again or call support."
    )


class NoOpenShift(ClinicError):
    code = "no_open_shift"
    status = 409
    default_message = _("Open your cashier shift (with the cash float) before taking money.")


class ShiftAlreadyOpen(ClinicError):
    code = "shift_already_open"
    status = 409
    default_message = _("This cashier already has an open shift.")


class ShiftClosed(ClinicError):
    """The shift is closed: nothing in it changes (a manager may reopen it)."""

    code = "shift_closed"
    status = 409
    default_message = _("This shift is closed.")


class InvalidTenders(ClinicError):
    """The tenders do not pay the self-pay amount as the rules say; `details` names them."""

    code = "invalid_tenders"
    status = 400
    default_message = _("The payment methods do not add up to the amount to pay.")


class InvalidRefund(ClinicError):
    code = "invalid_refund"
    status = 400
    default_message = _("The refund is not valid.")


class AlreadyRefunded(ClinicError):
    code = "already_refunded"
    status = 409
    default_message = _("This has already been refunded in full.")


class RefundExceedsPaid(ClinicError):
    code = "refund_exceeds_paid"
    status = 409
    default_message = _("A refund cannot give back more than was paid.")


class BillNotPaid(ClinicError):
    code = "bill_not_paid"
    status = 409
    default_message = _("This bill is not paid: there is nothing to refund.")
