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
