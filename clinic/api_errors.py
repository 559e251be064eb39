"""The API's EXCEPTION_HANDLER: the clinic's domain errors answer with their own code, status,
message and details; everything else as `api.exceptions` maps it, in the same body."""

from __future__ import annotations

from typing import Any

from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.exceptions import exception_handler as framework_exception_handler
from clinic.exceptions import ClinicError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ClinicError):
        set_rollback()
        return Response({"error": exc.as_dict()}, status=exc.status)
    return framework_exception_handler(exc, context)
