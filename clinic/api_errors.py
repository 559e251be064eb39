"""The API's EXCEPTION_HANDLER: the clinic's domain errors answer with their own code, status,
message and details; a database or cache that cannot be reached answers 503 "service_unavailable";
everything else as `api.exceptions` maps it, in the same body."""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response
from rest_framework.views import set_rollback

from api.exceptions import exception_handler as framework_exception_handler
from clinic.availability import RETRY_AFTER_SECONDS, is_unavailable, unavailable_body
from clinic.exceptions import ClinicError

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ClinicError):
        set_rollback()
        return Response({"error": exc.as_dict()}, status=exc.status)
    if is_unavailable(exc):
        # REST framework hands this handler every error raised in a view (its
        # authentication and throttles included); errors before the view, in a middleware,
        # reach clinic.views.server_error, which answers with the same body.
        request = context.get("request")
        logger.error(
            "unavailable during %s %s: %r",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            exc,
        )
        set_rollback()
        return Response(
            unavailable_body(), status=503, headers={"Retry-After": RETRY_AFTER_SECONDS}
        )
    return framework_exception_handler(exc, context)
