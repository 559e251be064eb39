"""Cross-cutting request handling: no caching of personal data and idle staff sessions."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
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
