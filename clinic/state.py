"""The shape every state machine in Clinic Flow shares.

A model lists its legal moves as data (`ALLOWED = {from_status: {to_status, ...}}`); its
transition methods lock the row (`lock_for_update()`), check the move
(`ensure_move_allowed()`), assign the new status and save.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from clinic.exceptions import InvalidTransition


class StateMachineMixin(models.Model):
    ALLOWED: ClassVar[dict[str, frozenset[str]]] = {}

    class Meta:
        abstract = True

    def allowed_transitions(self) -> frozenset[str]:
        return self.ALLOWED.get(self.status, frozenset())

    def lock_for_update(self) -> None:
        """Re-read this row under an exclusive lock, inside the caller's transaction (a no-op
        lock on SQLite): every transition decides on the row as it is now, not as it was
        read before."""
        self.refresh_from_db(from_queryset=type(self)._default_manager.select_for_update())

    lock_for_update.alters_data = True

    def ensure_move_allowed(self, to: str) -> None:
        """InvalidTransition unless the transition table allows moving to `to` now."""
        if to not in self.allowed_transitions():
            raise InvalidTransition.for_move(
                obj=self, current=self.status, requested=to, allowed=self.allowed_transitions()
            )

    def _status_change(self, to: str, **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Assign the new status (and extra fields); return (old, new) for the audit event."""
        old = {"status": self.status}
        new: dict[str, Any] = {"status": to}
        self.status = to
        for field, value in extra.items():
            setattr(self, field, value)
            new[field] = value.isoformat() if hasattr(value, "isoformat") else value
        self.save(update_fields=["status", *extra])
        return old, new
