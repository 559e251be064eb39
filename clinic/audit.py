"""Writing the audit trail: one call for every state move, change, login and record view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from clinic.client_address import client_ip
from clinic.models import AuditEvent, Patient, User

# What each action code means, in words, for people reading the audit trail (Django Admin,
# the patient page). Every code the application writes has its label here: a test scans the
# code for them (tests/test_audit_labels.py), so a new action is added here with its label.
ACTION_LABELS: dict[str, Promise] = {
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Sign-in failed"),
    "auth.logout": _("Signed out"),
    "user.created": _("Account created"),
    "user.updated": _("Account changed"),
    "user.deleted": _("Account deleted"),
    "user.role_changed": _("Account role changed"),
    "user.deactivated": _("Account deactivated"),
    "user.reactivated": _("Account reactivated"),
    "user.password_changed": _("Password changed"),
    "patient.registered": _("Patient registered online"),
    "patient.created": _("Patient record created"),
    "patient.updated": _("Patient details changed"),
    "patient.deleted": _("Patient record deleted"),
    "patient.account_linked": _("Patient account linked"),
    "patient.account_unlinked": _("Patient account unlinked"),
    "patient.id_verified": _("ID document checked"),
    "patient.id_card_withdrawn": _("ID number withdrawn"),
    "patient.details_corrected": _("Patient details corrected at the desk"),
    "patient.no_show_block_lifted": _("Online booking block lifted"),
    "patient.message_settings_changed": _("Message settings changed"),
    "department.created": _("Department created"),
    "department.updated": _("Department changed"),
    "department.deleted": _("Department deleted"),
    "room.created": _("Room created"),
    "room.updated": _("Room changed"),
    "room.deleted": _("Room deleted"),
    "employee.created": _("Staff member created"),
    "employee.updated": _("Staff member changed"),
    "employee.deleted": _("Staff member deleted"),
    "schedule.created": _("Schedule created"),
    "schedule.updated": _("Schedule changed"),
    "schedule.deleted": _("Schedule deleted"),
    "schedule.windows_changed": _("Booking windows changed"),
    "notification.resent": _("Message sent again"),
    "appointment.booked": _("Appointment booked"),
    "appointment.confirmed": _("Appointment confirmed"),
    "appointment.cancelled": _("Appointment cancelled"),
    "appointment.no_show": _("Appointment missed"),
    "appointment.completed": _("Appointment checked in"),
    "waitlist.joined": _("Joined the waitlist"),
    "waitlist.offered": _("Waitlist place offered"),
    "waitlist.accepted": _("Waitlist offer accepted"),
    "waitlist.declined": _("Waitlist offer declined"),
    "waitlist.expired": _("Waitlist offer expired"),
    "waitlist.left": _("Left the waitlist"),
    "visit.checked_in": _("Checked in"),
    "visit.walked_in": _("Walk-in registered"),
    "visit.consultation_started": _("Consultation started"),
    "visit.consultation_finished": _("Consultation finished"),
    "visit.left_unseen": _("Left unseen"),
    "visit.left": _("Visit closed"),
    "medical_record.created": _("Medical record written"),
    "medical_record.updated": _("Medical record changed"),
    "medical_record.corrected": _("Medical record corrected"),
    "medical_record.viewed": _("Medical record viewed"),
    "allergy.added": _("Allergy recorded"),
    "allergy.removed": _("Allergy removed"),
    "allergy.none_known": _("No known allergies confirmed"),
    "diagnosis_catalogue.added": _("Diagnosis added to the catalogue"),
    "diagnosis_catalogue.changed": _("Diagnosis in the catalogue changed"),
    "diagnosis_catalogue.imported": _("Diagnosis catalogue imported"),
    "charge.registration_added": _("Registration fee charged"),
    "charge.ordered": _("Order written"),
    "charge.changed": _("Order changed"),
    "charge.removed": _("Order removed"),
    "charge.corrected": _("Charge corrected"),
    "charge.removed_by_admin": _("Charge removed by an administrator"),
    "fee_item.created": _("Fee item created"),
    "fee_item.changed": _("Fee item changed"),
    "fee_item.deleted": _("Fee item deleted"),
    "fee_catalogue.imported": _("Fee catalogue imported"),
    "insurance_plan.created": _("Insurance plan created"),
    "insurance_plan.changed": _("Insurance plan changed"),
    "insurance_plan.deleted": _("Insurance plan deleted"),
    "registration_fee.created": _("Registration fee of a rank set"),
    "registration_fee.changed": _("Registration fee of a rank changed"),
    "registration_fee.deleted": _("Registration fee of a rank removed"),
    "allergy_class.created": _("Allergy class created"),
    "allergy_class.changed": _("Allergy class changed"),
    "allergy_class.deleted": _("Allergy class deleted"),
    "payment_method.created": _("Payment method created"),
    "payment_method.changed": _("Payment method changed"),
    "payment_method.deleted": _("Payment method deleted"),
    "bill.settled": _("Bill paid"),
    "bill.insurance_overridden": _("Bureau's insurance figure used"),
    "bill.refunded": _("Refund given"),
    "shift.opened": _("Cashier shift opened"),
    "shift.closed": _("Cashier shift closed"),
    "shift.reopened": _("Cashier shift reopened"),
    "display_token.created": _("Waiting-room screen created"),
    "display_token.revoked": _("Waiting-room screen revoked"),
}


def action_label(action: str) -> str:
    """The action's label in the page's language; the code itself if it has none (an event
    written by an older version keeps its code rather than vanishing)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


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
