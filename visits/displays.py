"""Keys of the waiting-room screens: made and revoked by administrators, audited, stored
hashed; a screen shows its department's board only with a live key of that department."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.models import Department, Role, User
from clinic.roles import ensure_role
from visits.models import DisplayToken


def key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@atomic_with_retry
def create_display_token(
    *, name: str, department: Department, by: User
) -> tuple[DisplayToken, str]:
    """A new screen key; returns it with the key itself, which is shown once and never
    stored."""
    ensure_role(by, Role.ADMIN)
    raw = secrets.token_urlsafe(24)
    token = DisplayToken(
        name=name, department=department, token_hash=key_digest(raw), created_by=by
    )
    token.full_clean(exclude=["token_hash", "created_by"])
    token.save()
    record_event(
        actor=by,
        action="display_token.created",
        obj=token,
        new={"name": token.name, "department": department.pk},
    )
    return token, raw


@atomic_with_retry
def revoke_display_token(*, token: DisplayToken, by: User) -> DisplayToken:
    ensure_role(by, Role.ADMIN)
    token = DisplayToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record_event(actor=by, action="display_token.revoked", obj=token)
    return token


def live_token(raw: str | None, *, department: Department) -> DisplayToken | None:
    """The live key of `department` that `raw` is, or None."""
    if not raw:
        return None
    return DisplayToken.objects.filter(
        token_hash=key_digest(raw), department=department, revoked_at__isnull=True
    ).first()


def any_screen_set_up() -> bool:
    return DisplayToken.objects.filter(revoked_at__isnull=True).exists()
