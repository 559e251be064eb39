from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError


class CannotResend(ClinicError):
    code = "cannot_resend"
    status = 409
    default_message = _("Only a message that failed can be sent again.")
