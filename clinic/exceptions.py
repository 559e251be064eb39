"""The root of every domain error in Clinic Flow, and the errors shared by all apps.

Each app defines its own errors in its `exceptions.py` as subclasses of `ClinicError`. A
domain error carries a stable machine-readable `code` (what the API returns), a translated
human message, optional `details` (a JSON-serialisable dict), and the HTTP `status` (4xx)
with which views and the API answer it — never a 500.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import ProtectedError
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _


class ClinicError(Exception):
    code: str = "clinic_error"
    status: int = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message: Any = None, *, details: dict[str, Any] | None = None):
        self.message = str(message or self.default_message)
        self.details = details or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class InvalidTransition(ClinicError):
    """A state machine was asked for a move its transition table does not allow."""

    code = "invalid_transition"
    status = 409
    default_message = _("This change of status is not allowed.")

    @classmethod
    def for_move(
        cls, *, obj: Any, current: str, requested: str, allowed: Iterable[str]
    ) -> InvalidTransition:
        status_field = type(obj)._meta.get_field("status")
        labels = dict(status_field.choices)
        allowed = sorted(allowed)
        message = _(
            "%(object)s cannot go from “%(current)s” to “%(requested)s”. Allowed now: %(allowed)s."
        ) % {
            "object": type(obj)._meta.verbose_name.capitalize(),
            "current": labels.get(current, current),
            "requested": labels.get(requested, requested),
            "allowed": ", ".join(str(labels[s]) for s in allowed) or _("none"),
        }
        return cls(message, details={"from": current, "to": requested, "allowed": allowed})


class PermissionDenied(ClinicError):
    code = "permission_denied"
    status = 403
    default_message = _("You are not allowed to do this.")


class InvalidInput(ClinicError):
    """Input that fails validation; `details` maps field names to lists of messages."""

    code = "validation_error"
    status = 400
    default_message = _("Some of the details are not valid.")


class PatientNeedsDeskReview(ClinicError):
    """The person's ID number is on a record that an online account holds, and the desk has
    not verified it: the desk's matching never joins a person to such a record by itself."""

    code = "patient_review_needed"
    status = 409
    default_message = _(
        "This ID number is on an online account's record that the desk has not verified. "
        "Open the patient's record from the search, check the ID document, and verify or "
        "correct it."
    )


class PatientConflict(ClinicError):
    code = "patient_conflict"
    status = 409
    default_message = _(
        "This ID number belongs to a patient with another name. Check the identity at the "
        "desk before going on."
    )


class RecordInUse(ClinicError):
    """A record that others still point to (a protected foreign key): deleting it would
    leave them without it. `details["used_by"]` names what refers to it."""

    code = "in_use"
    status = 409
    default_message = _("Other records still refer to this one: it cannot be deleted.")

    @classmethod
    def protected(cls, obj: Any, error: ProtectedError, message: str) -> RecordInUse:
        """`obj` could not be deleted (`error`): `message`, formatted with the record's kind
        (%(record)s), its name (%(name)s) and what still refers to it (%(used_by)s)."""
        used_by = sorted({str(o._meta.verbose_name_plural) for o in error.protected_objects})
        return cls(
            message
            % {
                "record": capfirst(obj._meta.verbose_name),
                "name": obj,
                "used_by": ", ".join(used_by),
            },
            details={"used_by": used_by},
        )
