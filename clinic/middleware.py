"""Cross-cutting request handling: no caching of personal data, the content security policy
and idle staff sessions."""

from __future__ import annotations

import functools
import http
import logging
import time
from collections.abc import Callable

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.signals import setting_changed
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from clinic.models import Role

logger = logging.getLogger(__name__)

# Requests that poll (the visit board, the doctor's queue, the waiting-room display) send
# this header: they are not a person at the keyboard, so they do not keep a session alive.
POLL_HEADER = "HTTP_X_CLINIC_POLL"
LAST_ACTIVITY_KEY = "clinic_last_activity"
STAFF_ROLES = {Role.RECEPTIONIST, Role.DOCTOR, Role.ADMIN}

# Server gone away, lost connection, cannot connect, too many connections, unknown host...
UNREACHABLE_MYSQL_ERRORS = {1040, 1053, 2002, 2003, 2005, 2006, 2013, 2055}


class NoStoreMiddleware:
    """Pages and API answers carry personal data: no browser or proxy keeps a copy.

    Static files never reach this middleware (WhiteNoise answers them above it).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Cache-Control", "no-store")
        return response


# What a view may set on its response to change the policy (django-csp's decorators).
_PER_RESPONSE_POLICY = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)


@functools.cache
def site_policies() -> tuple[tuple[str, str, str, tuple[str, ...]], ...]:
    """(header, policy, exemption attribute, excluded path prefixes) of the enforced and the
    report-only policy from the settings, each built by django-csp once."""
    result = []
    for header, setting, report_only, exempt in (
        (HEADER, "CONTENT_SECURITY_POLICY", False, "_csp_exempt"),
        (HEADER_REPORT_ONLY, "CONTENT_SECURITY_POLICY_REPORT_ONLY", True, "_csp_exempt_ro"),
    ):
        policy = build_policy(report_only=report_only)
        if policy:
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            result.append((header, policy, exempt, tuple(prefixes)))
    return tuple(result)


@receiver(setting_changed)
def _forget_site_policies(*, setting: str, **kwargs: object) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        site_policies.cache_clear()


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the site's policy built once per process instead of on
    every response (django-csp rebuilds it each time: a tenth of a millisecond per request).

    A response that carries a policy of its own (django-csp's decorators) or a request that
    used a nonce goes through django-csp unchanged.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _PER_RESPONSE_POLICY
        ):
            return super().process_response(request, response)
        if settings.DEBUG and response.status_code in (
            http.HTTPStatus.INTERNAL_SERVER_ERROR,
            http.HTTPStatus.NOT_FOUND,
        ):
            return response  # Django's debug pages have inline styles
        for header, policy, exempt, excluded in site_policies():
            if (
                header not in response
                and getattr(response, exempt, False) is False  # as django-csp tests it
                and not request.path_info.startswith(excluded)
            ):
                response[header] = policy
        # As django-csp does: a nonce asked for after the header is written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


class StaffIdleTimeoutMiddleware:
    """Staff sessions end after `CLINIC_STAFF_IDLE_MINUTES` without a person's request.

    The absolute limit is SESSION_COOKIE_AGE (12 hours); patients keep Django's default
    behaviour within it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.role in STAFF_ROLES:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY, now)
            if now - last > settings.CLINIC_STAFF_IDLE_MINUTES * 60:
                logout(request)
                if getattr(request, "htmx", False) or request.path.startswith("/api/"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = settings.LOGIN_URL
                    return response
                return redirect_to_login(request.path)
            polling = request.method == "GET" and request.META.get(POLL_HEADER)
            # Stamped at most once a minute: a session write on every request costs a query.
            if not polling and (LAST_ACTIVITY_KEY not in request.session or now - last > 60):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)


def is_database_unreachable(error: Exception) -> bool:
    if isinstance(error, InterfaceError):
        return True
    if isinstance(error, OperationalError):
        code = error.args[0] if error.args else None
        return code in UNREACHABLE_MYSQL_ERRORS or "unable to open database" in str(error)
    return False
