"""Cross-cutting request handling: no caching of personal data, and the limits of a session."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from clinic.sessions import LAST_ACTIVITY_KEY, SIGNED_IN_AT_KEY, session_expired

logger = logging.getLogger(__name__)

# Requests that poll (the visit board, the doctor's queue, the waiting-room display) send
# this header: they are not a person at the keyboard, so they do not keep a session alive.
POLL_HEADER = "HTTP_X_CLINIC_POLL"


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


class SessionLimitsMiddleware:
    """A signed-in session ends SESSION_MAX_HOURS after its sign-in, however busy, and after
    its role's idle time without a person's request (`clinic.sessions.idle_limit`); polling
    requests do not count as activity."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            # Sessions begun before these keys existed start counting now.
            started = session.setdefault(SIGNED_IN_AT_KEY, now)
            last = session.get(LAST_ACTIVITY_KEY, now)
            if session_expired(user, signed_in_at=started, last_activity=last, now=now):
                logout(request)
                if getattr(request, "htmx", False) or request.path.startswith("/api/"):
                    response = HttpResponse(status=401)
                    response["HX-Redirect"] = settings.LOGIN_URL
                    return response
                return redirect_to_login(request.path)
            polling = request.method == "GET" and request.META.get(POLL_HEADER)
            # Stamped at most once a minute: a session write on every request costs a query.
            if not polling and (LAST_ACTIVITY_KEY not in session or now - last > 60):
                session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)
