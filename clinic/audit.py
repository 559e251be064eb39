"""Writing the audit trail: one call for every state move, change, login and record view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest

from clinic.client_address import client_ip
from clinic.models import AuditEvent, Patient, User


def record_event(**event: Any) -> AuditEvent:
    """Append one audit event (see audit_event() for the arguments). Call it inside the
    transaction of the change it records."""
    event = audit_event(**event)
    event.save(force_insert=True)
    return event


def record_events(events: list[AuditEvent]) -> None:
    """Append several events made by audit_event() in one INSERT, inside the transaction of
    the change they record (a check-in completes a booking and creates a visit)."""
    AuditEvent.objects.bulk_create(events)


def audit_event(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    patient: Patient | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
    username: str = "",
) -> AuditEvent:
    """An audit event, not yet written."""
    if actor is not None and not actor.is_authenticated:
        actor = None
    return AuditEvent(
        actor=actor,
        actor_username=actor.username if actor is not None else username[:150],
        role=actor.role if actor is not None else "",
        action=action,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        patient=patient,
        old_values=old or {},
        new_values=new or {},
        client_ip=client_ip(request),
    )


def audit_values(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` as an audit event keeps them: a related record as its id, a
    date as ISO text, anything else JSON cannot hold (a Decimal) as text."""
    values: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, obj._meta.get_field(name).attname)
        if isinstance(value, dt.date | dt.time):
            value = value.isoformat()
        elif value is not None and not isinstance(value, bool | int | float | str):
            value = str(value)
        values[name] = value
    return values


def changed_values(
    old: dict[str, Any], new: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only what changed, as (old, new): an event shows the change, not the whole record."""
    changed = [name for name, value in new.items() if old.get(name) != value]
    return {name: old.get(name) for name in changed}, {name: new[name] for name in changed}
