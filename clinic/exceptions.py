"""The root of every domain error in Clinic Flow.

Each app defines its errors in its own `exceptions.py` as subclasses of `ClinicError`. A
domain error carries a stable machine-readable `code` (what the API returns), a translated
human message, and optional `details` (a JSON-serialisable dict). Views turn it into a form
error or an error partial with `status` (4xx), never a 500.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class ClinicError(Exception):
    code: str = "clinic_error"
    status: int = 400
    default_message = _("The request could not be carried out.")

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
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


class PermissionDenied(ClinicError):
    code = "permission_denied"
    status = 403
    default_message = _("You are not allowed to do this.")
