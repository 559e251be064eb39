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
