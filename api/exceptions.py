"""One error body for every failure of the API: {"error": {"code", "message", "details"}}.

Framework errors (REST framework's, simplejwt's, Django's validation, 404 and permission errors,
a database constraint lost to a race) are mapped here to one shape, so that a client reads
`error.code` whatever went wrong; the clinic's own domain errors are added to it by
`clinic.api_errors`, the project's EXCEPTION_HANDLER. Anything not mapped is left to Django
(a 500), which the schema fuzz test proves never happens for any input.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

logger = logging.getLogger(__name__)

NON_FIELD_ERRORS = "non_field_errors"


def error_body(code: str, message: Any, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": str(message), "details": details or {}}}


def error_response(
    code: str,
    message: Any,
    status: int,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(code, message, details), status=status, headers=headers)


def _plain(detail: Any) -> Any:
    """DRF's nested ErrorDetail structures as plain JSON (lists of strings by field)."""
    if isinstance(detail, dict):
        return {str(key): _plain(value) for key, value in detail.items()}
    if isinstance(detail, list | tuple):
        return [_plain(item) for item in detail]
    return str(detail)


def validation_details(detail: Any) -> dict[str, Any]:
    """Field errors as {field: [messages]}; errors not tied to a field under non_field_errors."""
    plain = _plain(detail)
    if isinstance(plain, dict):
        return plain
    return {NON_FIELD_ERRORS: plain if isinstance(plain, list) else [plain]}


def django_validation_details(error: DjangoValidationError) -> dict[str, Any]:
    if hasattr(error, "error_dict"):
        return {
            (NON_FIELD_ERRORS if field == "__all__" else field): messages
            for field, messages in error.message_dict.items()
        }
    return {NON_FIELD_ERRORS: error.messages}


# Framework exceptions and their codes, checked in order: subclasses come first.
_DRF_CODES: tuple[tuple[type[drf.APIException], str], ...] = (
    (InvalidToken, "token_not_valid"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.ParseError, "parse_error"),
    (drf.Throttled, "throttled"),
)


def _drf_response(exc: drf.APIException) -> Response:
    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    if isinstance(exc, drf.ValidationError):
        return error_response(
            "validation_error",
            _("Some of the details are not valid."),
            400,
            validation_details(exc.detail),
        )
    code = next((code for cls, code in _DRF_CODES if isinstance(exc, cls)), None)
    if code is None:
        code = str(exc.default_code)
    details: dict[str, Any] = {}
    message: Any = exc.detail
    if isinstance(exc, InvalidToken):
        # simplejwt puts the token checks it ran into a structured detail.
        message = _("The token is not valid or has expired.")
        if isinstance(exc.detail, dict):
            checks = exc.detail.get("messages") or [{"message": exc.detail.get("detail", "")}]
            reasons = [_plain(check.get("message", "")) for check in checks]
        else:
            reasons = [str(exc.detail)]
        details["messages"] = [reason for reason in reasons if reason]
    elif isinstance(exc, drf.Throttled):
        details["wait"] = exc.wait
    elif isinstance(exc, drf.AuthenticationFailed):
        # Why, in a word a client can act on: user_inactive, user_not_found, no_active_account…
        # (simplejwt's own exceptions carry {"detail", "code"} instead of a plain detail).
        if isinstance(exc.detail, dict):
            message = exc.detail.get("detail", exc.default_detail)
            reason = exc.detail.get("code")
        else:
            reason = exc.get_codes()
        if isinstance(reason, str):
            details["reason"] = reason
    elif isinstance(message, dict | list):
        details = validation_details(message)
        message = exc.default_detail
    return error_response(code, message, exc.status_code, details, headers or None)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every known framework failure as the one error body; None for anything else."""
    if isinstance(exc, TokenError):
        exc = InvalidToken(exc.args[0] if exc.args else None)
    elif isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        set_rollback()
        return error_response(
            "validation_error",
            _("Some of the details are not valid."),
            400,
            django_validation_details(exc),
        )
    elif isinstance(exc, IntegrityError):
        # A race lost against a database constraint (a unique code taken meanwhile): the
        # transaction is rolled back, the request changed nothing. Input alone never gets
        # here (validation comes first); the schema fuzz test checks exactly that.
        logger.warning("API request refused by a database constraint: %s", exc)
        set_rollback()
        return error_response(
            "conflict", _("The change conflicts with the current data; please retry."), 409
        )
    elif isinstance(exc, DataError):
        logger.warning("API request refused by the database: %s", exc)
        set_rollback()
        return error_response("value_out_of_range", _("A value is out of range."), 400)
    if isinstance(exc, drf.APIException):
        set_rollback()
        return _drf_response(exc)
    return None


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other path under /api/: the JSON 404 rather than the site's HTML page (for every
    method: nothing is changed, so there is nothing for CSRF to protect)."""
    return JsonResponse(error_body("not_found", _("There is nothing at this address.")), status=404)
