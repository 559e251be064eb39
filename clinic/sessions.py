"""How long a sign-in lasts, on the site and through the API: one rule for both.

Every sign-in ends SESSION_MAX_HOURS after it was made, however busy it has been; before
that, it ends after its role's idle time without a person's request: STAFF_IDLE_MINUTES for
the clinic's staff, PATIENT_IDLE_MINUTES for patients. On the site the session keeps both
times; through the API the refresh token carries the time of the original sign-in
(`auth_time`), and each refresh token lives only the role's idle time, so that a client
that stops refreshing is signed out, and no chain of refreshes outlives the sign-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings

from clinic.models import Role

SIGNED_IN_AT_KEY = "clinic_signed_in_at"
LAST_ACTIVITY_KEY = "clinic_last_activity"
STAFF_ROLES = frozenset({Role.RECEPTIONIST, Role.DOCTOR, Role.ADMIN})
# The refresh token's claim with the original sign-in (seconds since the epoch, as iat).
AUTH_TIME_CLAIM = "auth_time"


def idle_limit(user: Any) -> dt.timedelta:
    minutes = (
        settings.CLINIC_STAFF_IDLE_MINUTES
        if user.role in STAFF_ROLES
        else settings.CLINIC_PATIENT_IDLE_MINUTES
    )
    return dt.timedelta(minutes=minutes)


def absolute_limit() -> dt.timedelta:
    return dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


def session_expired(user: Any, *, signed_in_at: float, last_activity: float, now: float) -> bool:
    """Whether a site session is over (times in seconds since the epoch)."""
    return (
        now - signed_in_at > absolute_limit().total_seconds()
        or now - last_activity > idle_limit(user).total_seconds()
    )


def refresh_lifetime(user: Any, *, signed_in_at: int, now: int) -> dt.timedelta:
    """How long a refresh token issued at `now` may live: the role's idle time, never past
    the sign-in's absolute end. Zero or less: the sign-in is over."""
    ends_at = signed_in_at + int(absolute_limit().total_seconds())
    return min(idle_limit(user), dt.timedelta(seconds=ends_at - now))
