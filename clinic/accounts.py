"""Writing accounts and the patient records they act for, whatever the door (Django Admin today).

The audit trail of an account keeps who it is and what it may do — username, role, active,
the staff record it belongs to, its groups — and of its password only that it changed,
never the hash. A change that touches several of these writes one event per kind, so that
the trail can be filtered by what happened (`user.role_changed`, `user.deactivated`, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from clinic.audit import audit_event, audit_values, changed_values, record_event, record_events
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent, Patient, Role, User
from clinic.privacy import mask_id_card
from clinic.roles import ensure_role
from clinic.staff import delete_with_event

ACCOUNT_FIELDS = ("username", "role", "is_active", "employee", "first_name", "last_name", "email")
PATIENT_FIELDS = ("name", "gender", "birth_date", "id_type", "id_card", "phone", "insurance_plan")


def _group_names(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


@atomic_with_retry
def save_account(*, user: User, by: User, groups: Iterable[Group] | None = None) -> User:
    """Create an account, or save the changes made to it (and, when given, set its groups to
    exactly `groups`).

    A new account's password is whatever its creator set on it (`set_password`, or unusable);
    a changed password hash is written and recorded as `user.password_changed`.
    """
    ensure_role(by, Role.ADMIN)
    current_role = (
        None
        if user._state.adding
        else User.objects.filter(pk=user.pk).values_list("role", flat=True).first()
    )
    if Role.ADMIN in (user.role, current_role) or groups is not None:
        _ensure_manages_administrators(by)
    if user._state.adding:
        user.full_clean()
        user.save()
        new = audit_values(user, ACCOUNT_FIELDS)
        if groups is not None:
            user.groups.set(groups)
            new["groups"] = _group_names(user)
        new["password_usable"] = user.has_usable_password()
        record_event(actor=by, action="user.created", obj=user, new=new)
        return user
    current = User.objects.select_for_update().get(pk=user.pk)
    user.full_clean()
    old, new = changed_values(
        audit_values(current, ACCOUNT_FIELDS), audit_values(user, ACCOUNT_FIELDS)
    )
    password_changed = user.password != current.password
    if new or password_changed:
        # Only what changed: a stale copy never writes back last_login or other columns.
        user.save(update_fields=[*new, *(["password"] if password_changed else [])])
    if groups is not None:
        old_groups = _group_names(user)
        user.groups.set(groups)
        if _group_names(user) != old_groups:
            old["groups"], new["groups"] = old_groups, _group_names(user)
    record_events(_account_events(user, by=by, old=old, new=new, password=password_changed))
    return user


def _ensure_manages_administrators(by: User) -> None:
    """Administrator accounts and groups hold every right: only an administrator with
    `clinic.manage_administrators` (not a clinic manager) creates or changes them."""
    if not by.has_perm("clinic.manage_administrators"):
        raise PermissionDenied(
            _("Only an administrator may create or change administrator accounts and groups.")
        )


def _account_events(
    user: User, *, by: User, old: dict[str, Any], new: dict[str, Any], password: bool
) -> list[AuditEvent]:
    """One event per kind of change, in a fixed order; none when nothing changed."""
    events = []

    def event(action: str, names: Iterable[str]) -> None:
        names = [name for name in names if name in new]
        if names:
            events.append(
                audit_event(
                    actor=by,
                    action=action,
                    obj=user,
                    old={name: old[name] for name in names},
                    new={name: new[name] for name in names},
                )
            )

    event("user.role_changed", ["role"])
    if "is_active" in new:
        event("user.deactivated" if not new["is_active"] else "user.reactivated", ["is_active"])
    event("user.updated", [name for name in new if name not in ("role", "is_active")])
    if password:
        events.append(_password_event(user, by=by))
    return events


def _password_event(user: User, *, by: User) -> AuditEvent:
    return audit_event(
        actor=by,
        action="user.password_changed",
        obj=user,
        new={"password_changed": True, "password_usable": user.has_usable_password()},
    )


@atomic_with_retry
def set_account_password(*, user: User, password: str | None, by: User) -> User:
    """Give an account a new password (checked by the site's password validators), or none
    at all (`None`: it can no longer sign in with a password)."""
    ensure_role(by, Role.ADMIN)
    if user.role == Role.ADMIN:
        _ensure_manages_administrators(by)
    User.objects.select_for_update().filter(pk=user.pk).values_list("pk").get()
    if password is None:
        user.set_unusable_password()
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as error:
            raise ValidationError({"password": error.messages}) from error
        user.set_password(password)
    user.save(update_fields=["password"])
    record_events([_password_event(user, by=by)])
    return user


@atomic_with_retry
def delete_account(*, user: User, by: User) -> None:
    """Delete an account; refused (RecordInUse) once it has acted or has a patient record."""
    if user.role == Role.ADMIN:
        _ensure_manages_administrators(by)
    delete_with_event(user, by=by, fields=ACCOUNT_FIELDS, kind="user")


def _patient_values(patient: Patient) -> dict[str, Any]:
    return audit_values(patient, PATIENT_FIELDS)


def _masked(values: dict[str, Any]) -> dict[str, Any]:
    # The trail keeps that an ID number changed, not a second copy of it.
    if values.get("id_card"):
        values = {**values, "id_card": mask_id_card(values["id_card"])}
    return values


@atomic_with_retry
def save_patient(*, patient: Patient, by: User) -> Patient:
    """Create a patient record, or save the changes made to it, including the account it is
    linked to.

    Events: `patient.created` / `patient.updated` with the details that changed (an ID
    number masked), and `patient.account_linked` / `patient.account_unlinked` with the old
    and new account when the link changes (a relink is one `patient.account_linked`).
    """
    ensure_role(by, Role.ADMIN)
    if patient._state.adding:
        patient.full_clean()
        patient.save()
        events = [
            audit_event(
                actor=by,
                action="patient.created",
                obj=patient,
                patient=patient,
                new=_masked(_patient_values(patient)),
            )
        ]
        if patient.user_id is not None:
            events.append(_link_event(patient, by=by, old_user=None))
        record_events(events)
        return patient
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    patient.full_clean()
    old, new = changed_values(_patient_values(current), _patient_values(patient))
    relinked = current.user_id != patient.user_id
    if not new and not relinked:
        return patient
    patient.save(update_fields=[*new, *(["user"] if relinked else [])])
    events = []
    if new:
        events.append(
            audit_event(
                actor=by,
                action="patient.updated",
                obj=patient,
                patient=patient,
                old=_masked(old),
                new=_masked(new),
            )
        )
    if relinked:
        events.append(_link_event(patient, by=by, old_user=current.user_id))
    record_events(events)
    return patient


def _link_event(patient: Patient, *, by: User, old_user: int | None) -> AuditEvent:
    return audit_event(
        actor=by,
        action="patient.account_linked" if patient.user_id else "patient.account_unlinked",
        obj=patient,
        patient=patient,
        old={"user": old_user},
        new={"user": patient.user_id},
    )


@atomic_with_retry
def link_patient_account(*, patient: Patient, account: User, by: User) -> Patient:
    """Link a patient record to a patient's account (moving it from any other account)."""
    return _relink(patient, account=account, by=by)


@atomic_with_retry
def unlink_patient_account(*, patient: Patient, by: User) -> Patient:
    """Take a patient record away from its account (the account stays, without a record)."""
    return _relink(patient, account=None, by=by)


def _relink(patient: Patient, *, account: User | None, by: User) -> Patient:
    """Only the link is written, on the locked row: nothing else of a stale copy."""
    ensure_role(by, Role.ADMIN)
    current = Patient.objects.select_for_update().get(pk=patient.pk)
    old_user = current.user_id
    current.user = account
    # The link's rules (a patient's account, one record per account) with the record's own.
    current.full_clean()
    if current.user_id != old_user:
        current.save(update_fields=["user"])
        record_events([_link_event(current, by=by, old_user=old_user)])
    return current


@atomic_with_retry
def delete_patient(*, patient: Patient, by: User) -> None:
    """Delete a patient record; refused (RecordInUse) once anything refers to it — any
    booking, visit or audit event."""
    delete_with_event(patient, by=by, fields=PATIENT_FIELDS, kind="patient", redact=_masked)
