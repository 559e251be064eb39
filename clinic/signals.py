"""Every login attempt, good or bad, is an audit event."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from clinic.audit import record_event
from clinic.sessions import LAST_ACTIVITY_KEY, SIGNED_IN_AT_KEY


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record_event(actor=user, action="auth.login", obj=user, request=request)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record_event(actor=user, action="auth.logout", obj=user, request=request)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender: Any, credentials: dict, request: Any = None, **kwargs: Any) -> None:
    # Never the password: Django already masks it, and only the username is kept.
    record_event(
        actor=None,
        action="auth.login_failed",
        username=str(credentials.get("username", "")),
        request=request,
    )


@receiver(user_logged_in, dispatch_uid="stamp_session_activity")
def stamp_session_activity(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """A new session starts active: its idle time and its absolute limit count from here."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SIGNED_IN_AT_KEY] = session[LAST_ACTIVITY_KEY] = time.time()
