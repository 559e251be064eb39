"""The shape every state machine in Clinic Flow shares.

A model lists its legal moves as data (`ALLOWED = {from_status: {to_status, ...}}`); its
transition methods lock the row, call `_check_move()`, assign the new status and save.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models

from clinic.exceptions import InvalidTransition
from clinic.prepared import PreparedQuery

# One prepared `SELECT ... FOR UPDATE` by primary key per state-machine model.
_LOCKING_READS: dict[type[models.Model], PreparedQuery] = {}


def _locking_read(model: type[models.Model]) -> PreparedQuery:
    query = _LOCKING_READS.get(model)
    if query is None:
        query = _LOCKING_READS.setdefault(
            model,
            PreparedQuery(
                lambda pk: model._default_manager.select_for_update().filter(pk=pk), pk=int
            ),
        )
    return query


class StateMachineMixin(models.Model):
    ALLOWED: ClassVar[dict[str, frozenset[str]]] = {}

    class Meta:
        abstract = True

    def allowed_transitions(self) -> frozenset[str]:
        return self.ALLOWED.get(self.status, frozenset())

    def _lock(self) -> None:
        """Re-read this row under an exclusive lock (a no-op lock on SQLite).

        What `refresh_from_db(from_queryset=...select_for_update())` does (every field
        re-read, cached relations dropped), through a prepared query: every transition
        starts here.
        """
        if self.get_deferred_fields():
            self.refresh_from_db(from_queryset=type(self)._default_manager.select_for_update())
            return
        fresh = _locking_read(type(self)).get(pk=self.pk)
        for field in self._meta.concrete_fields:
            setattr(self, field.attname, getattr(fresh, field.attname))
            if field.is_relation and field.is_cached(self):
                field.delete_cached_value(self)
        for relation in self._meta.related_objects:
            if relation.is_cached(self):
                relation.delete_cached_value(self)
        self._prefetched_objects_cache = {}
        self._state.db = fresh._state.db
        self._state.adding = False  # `Model(pk=...)` may stand for a row read only here

    def _check_move(self, to: str) -> None:
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
