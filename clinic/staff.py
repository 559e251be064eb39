"""Writing the clinic's reference data: departments, rooms and staff.

Every door (Django Admin, the API) writes through these services: the record is validated
like everywhere else (`full_clean()`, raising Django's ValidationError with field errors, so
forms and the admin show them and the API maps them to its error body), written under its
row lock, and recorded in one audit event with the old and new values of what changed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from clinic.audit import audit_values, changed_values, record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import RecordInUse
from clinic.models import Department, Employee, Role, Room, User
from clinic.roles import ensure_role

# What an audit event keeps of each record (its editable fields).
DEPARTMENT_FIELDS = ("name", "name_en", "code", "description", "is_active")
ROOM_FIELDS = ("room_number", "department", "status")
EMPLOYEE_FIELDS = (
    "emp_id",
    "name",
    "gender",
    "phone",
    "position",
    "department",
    "title",
    "title_en",
    "rank",
    "status",
)


def _save(obj: models.Model, *, by: User, fields: Sequence[str], kind: str) -> None:
    """Create or change `obj` with its `<kind>.created` / `<kind>.updated` event. Inside the
    caller's transaction."""
    ensure_role(by, Role.ADMIN)
    if obj._state.adding:
        obj.full_clean()
        obj.save()
        record_event(actor=by, action=f"{kind}.created", obj=obj, new=audit_values(obj, fields))
        return
    # The old values are the row as it is now, locked, not as the door read it earlier.
    current = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    obj.full_clean()
    old, new = changed_values(audit_values(current, fields), audit_values(obj, fields))
    if not new:
        return
    # Only the fields that changed: a stale copy never writes back other columns.
    obj.save(update_fields=list(new))
    record_event(actor=by, action=f"{kind}.updated", obj=obj, old=old, new=new)


def delete_with_event(
    obj: models.Model,
    *,
    by: User,
    fields: Sequence[str],
    kind: str,
    redact: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> None:
    """Delete `obj` with its `<kind>.deleted` event (the old values, through `redact` when
    given). Inside the caller's transaction; RecordInUse when other records still point to
    it."""
    ensure_role(by, Role.ADMIN)
    current = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
    old = audit_values(current, fields)
    # Written first: the event needs the id, which deleting clears. A refused delete rolls
    # the event back with the rest of the transaction.
    record_event(
        actor=by, action=f"{kind}.deleted", obj=current, old=redact(old) if redact else old
    )
    try:
        obj.delete()
    except ProtectedError as error:
        raise RecordInUse.protected(
            obj,
            error,
            _("%(record)s “%(name)s” cannot be deleted: %(used_by)s still refer to it."),
        ) from error


@atomic_with_retry
def save_department(*, department: Department, by: User) -> Department:
    """Create a department, or save the changes made to it."""
    _save(department, by=by, fields=DEPARTMENT_FIELDS, kind="department")
    return department


@atomic_with_retry
def delete_department(*, department: Department, by: User) -> None:
    delete_with_event(department, by=by, fields=DEPARTMENT_FIELDS, kind="department")


@atomic_with_retry
def save_room(*, room: Room, by: User) -> Room:
    """Create a room, or save the changes made to it (Room.clean keeps a room with patients
    booked from today on in its department and active)."""
    _save(room, by=by, fields=ROOM_FIELDS, kind="room")
    return room


@atomic_with_retry
def delete_room(*, room: Room, by: User) -> None:
    delete_with_event(room, by=by, fields=ROOM_FIELDS, kind="room")


@atomic_with_retry
def save_employee(*, employee: Employee, by: User) -> Employee:
    """Create a staff record, or save the changes made to it."""
    _save(employee, by=by, fields=EMPLOYEE_FIELDS, kind="employee")
    return employee


@atomic_with_retry
def delete_employee(*, employee: Employee, by: User) -> None:
    delete_with_event(employee, by=by, fields=EMPLOYEE_FIELDS, kind="employee")
