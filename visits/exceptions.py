from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError, PermissionDenied


class VerificationFailed(ClinicError):
    """The arriving person's details do not match the booking."""

    code = "verification_failed"
    status = 400
    default_message = _("The details given do not match the booking.")


class CheckInClosed(ClinicError):
    code = "check_in_closed"
    status = 409
    default_message = _("Check-in for this appointment is not open now.")


class SettlementRequired(ClinicError):
    code = "settlement_required"
    status = 409
    default_message = _("A visit leaves the clinic only by settling its bill at the desk.")


class AlreadyInQueue(ClinicError):
    """The patient already has a visit today in this department that is not over (waiting,
    with the doctor, or yet to pay): a second walk-in would queue them twice.
    `details["visit"]` is that visit, for the desk to open its slip or payment."""

    code = "already_in_queue"
    status = 409
    default_message = _("This patient already has an open visit in this department today.")


class ConsultationInProgress(ClinicError):
    code = "consultation_in_progress"
    status = 409
    default_message = _("Finish the current consultation before calling the next patient.")


class QueueEmpty(ClinicError):
    code = "queue_empty"
    status = 409
    default_message = _("Nobody is waiting.")


class RecordNotEditable(ClinicError):
    code = "record_not_editable"
    status = 409
    default_message = _("A medical record is written once the consultation has started.")


class RecordClosed(PermissionDenied):
    """A doctor's record of a past day: it stays as written, and only an administrator
    corrects it."""

    code = "record_closed"
    default_message = _(
        "A doctor writes the record of a visit on the day of the visit. To change it now, ask "
        "an administrator for a correction."
    )


class DiagnosisRequired(ClinicError):
    """A visit goes to payment only with a diagnosis in its record (the record is what the
    visit was for, and the bill and any later visit rely on it)."""

    code = "diagnosis_required"
    status = 400
    default_message = _("Write the diagnosis before sending the patient to payment.")

    def __init__(self, message: Any = None, *, details: dict[str, Any] | None = None):
        super().__init__(message, details=details)
        # On the diagnosis field: of the page's form, and in the API's error details.
        self.details.setdefault("diagnosis", [self.message])


class OrdersFrozen(ClinicError):
    """A visit's orders are written only while it is in consultation: finishing the
    consultation freezes them (later changes are an administrator's correction)."""

    code = "orders_frozen"
    status = 409
    default_message = _(
        "Orders are written only while the patient is in consultation; this visit's orders "
        "are closed."
    )


class AllergyWarning(ClinicError):
    """The ordered item matches one of the patient's allergies: ordered only with a reason
    (`allergy_override_reason`). `details["allergy_matches"]` lists what matched."""

    code = "allergy_warning"
    status = 409
    default_message = _(
        "This item matches an allergy of the patient. Give a reason to order it anyway."
    )


class ChargesClosed(ClinicError):
    """An administrator corrects a visit's charges only while it awaits payment (no bill yet)."""

    code = "charges_closed"
    status = 409
    default_message = _(
        "A visit's charges are corrected only while it awaits payment, before its bill."
    )
