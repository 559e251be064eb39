"""The desk's decisions about who a patient record belongs to, each audited: correcting the
record's details, verifying an ID number with the document in hand, taking an unverified
number off an online record, and linking an online account to the record the desk made for
that person (and undoing it).

Nothing here is automatic. The desk's matching (clinic.services.match_or_create_patient)
never joins a person to an account's record by itself; these are the explicit actions it
points the desk to. Linking lives in `visits` because the account's own bookings and visits
move with it to the record it now acts for.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from appointments.models import LIVE_STATUSES, Appointment
from clinic.audit import audit_values, changed_values, record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput
from clinic.models import AuditEvent, Patient, Role, User
from clinic.privacy import mask_id_card
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import ensure_plan_choosable
from clinic.validators import normalize_phone, normalize_resident_id
from visits.models import Visit, VisitDailySummary

# What the desk may correct on a record, the insurance plan among them (None: self-pay);
# the account and the identity decisions have their own actions below.
CORRECTABLE_FIELDS = (
    "name",
    "phone",
    "gender",
    "birth_date",
    "id_type",
    "id_card",
    "insurance_plan",
)
# The patient's details a booking copies when it is made, and the booking's field for each.
BOOKING_COPIES = {"name": "patient_name", "phone": "phone", "id_card": "id_card"}


def _locked(*records: Patient) -> list[Patient]:
    """The records, locked in id order (the lock order among patients)."""
    locked = {
        record.pk: record
        for record in Patient.objects.select_for_update()
        .filter(pk__in=[record.pk for record in records])
        .order_by("pk")
    }
    return [locked[record.pk] for record in records]


@atomic_with_retry
def correct_patient_details(
    *, record: Patient, by: User, id_document_seen: bool = False, **changes: Any
) -> Patient:
    """The desk corrects a record's details: the fields given in `changes` (any of
    CORRECTABLE_FIELDS; a blank ID number takes it off; an active insurance plan, or None
    for self-pay), validated as registration does
    (phone format, the resident ID's checksum and birth date, one record per ID number).

    An ID number changed on a record an online account acts for needs `id_document_seen`:
    issue 18's rule, an account's record is never given a number nobody has checked, and a
    number the desk sets after seeing the document is verified. Nothing changed is no write
    and no event; otherwise one `patient.details_corrected` event with the old and new value
    of each changed field (ID numbers masked, as in every identity event). InvalidInput with
    field errors otherwise, with nothing written.
    """
    ensure_role(by, *DESK_ROLES)
    unknown = set(changes) - set(CORRECTABLE_FIELDS)
    if unknown:
        raise TypeError(f"fields the desk does not correct: {sorted(unknown)}")
    # Lock order: the record's live bookings (Appointment), then its Patient row. A booking
    # keeps a copy of its patient's name, phone and ID number (what the desk's search finds
    # and check-in verifies): the copies of a live booking follow the correction.
    live_bookings = list(
        Appointment.objects.select_for_update()
        .filter(patient_id=record.pk, status__in=LIVE_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    (record,) = _locked(record)
    before = audit_values(record, CORRECTABLE_FIELDS)
    _apply_changes(record, changes)
    old, new = changed_values(before, audit_values(record, CORRECTABLE_FIELDS))
    if not new:
        return record
    id_changed = "id_card" in new
    if id_changed and record.user_id is not None and not id_document_seen:
        raise InvalidInput(
            details={
                "id_document_seen": [
                    _(
                        "An online account acts for this record: confirm that you have seen "
                        "the ID document before changing its number."
                    )
                ]
            }
        )
    update_fields = list(new)
    if id_changed:
        # The desk typed it (the document in hand, confirmed for an account's record).
        record.id_verified = bool(record.id_card)
        update_fields.append("id_verified")
    try:
        with transaction.atomic():
            record.save(update_fields=update_fields)
    except IntegrityError as error:
        # The unique index, when another desk gave this number to another record between
        # the validation above and this write: the same answer as the validation's.
        raise InvalidInput(
            details={"id_card": [_("Another patient record already has this ID number.")]}
        ) from error
    copies = {
        booking_field: getattr(record, field) or ""
        for field, booking_field in BOOKING_COPIES.items()
        if field in new
    }
    if copies and live_bookings:
        Appointment.objects.filter(pk__in=live_bookings).update(**copies)
    for values in (old, new):
        if values.get("id_card"):
            values["id_card"] = mask_id_card(values["id_card"])
    if id_changed:
        new["id_verified"] = record.id_verified
    if copies and live_bookings:
        new["bookings_updated"] = live_bookings
    record_event(
        actor=by, action="patient.details_corrected", obj=record, patient=record, old=old, new=new
    )
    return record


def _apply_changes(record: Patient, changes: dict[str, Any]) -> None:
    """Set the given fields, normalised, and validate the record as registration does
    (InvalidInput with field errors otherwise)."""
    plan_before = record.insurance_plan_id
    for name, value in changes.items():
        if name in ("name", "phone", "gender", "id_type"):
            value = (value or "").strip()
        setattr(record, name, value)
    plan = record.insurance_plan if record.insurance_plan_id else None
    if plan is not None and plan.pk != plan_before:
        # A record keeps an old plan it has; a plan no longer offered is not given anew.
        ensure_plan_choosable(plan)
    record.phone = normalize_phone(record.phone)
    record.id_card = normalize_resident_id(record.id_card)
    given_birth_date = changes.get("birth_date", record.birth_date)
    try:
        # Patient.clean(): the phone's format, the resident ID's checksum and birth date
        # (which then sets birth_date); unique: the ID number is on no other record.
        record.full_clean(exclude=["user", "linked_from"])
    except ValidationError as error:
        raise InvalidInput(details=error.message_dict) from error
    if "birth_date" in changes and given_birth_date != record.birth_date:
        raise InvalidInput(
            details={
                "birth_date": [
                    _(
                        "The birth date is the one in the resident ID number: correct the ID "
                        "number instead."
                    )
                ]
            }
        )


@atomic_with_retry
def verify_id_card(*, record: Patient, by: User) -> Patient:
    """The desk has seen the ID document of the number on this record."""
    ensure_role(by, *DESK_ROLES)
    (record,) = _locked(record)
    if not record.id_card:
        raise InvalidInput(details={"id_card": [_("This record has no ID number to verify.")]})
    if not record.id_verified:
        record.id_verified = True
        record.save(update_fields=["id_verified"])
        record_event(
            actor=by,
            action="patient.id_verified",
            obj=record,
            patient=record,
            new={"id_card": mask_id_card(record.id_card)},
        )
    return record


@atomic_with_retry
def withdraw_unverified_id_card(*, record: Patient, by: User) -> Patient:
    """Take an ID number nobody has verified off an online account's record: someone
    registered with a number that is not theirs, and its owner is at the desk."""
    ensure_role(by, *DESK_ROLES)
    (record,) = _locked(record)
    if not record.id_card or record.id_verified:
        raise InvalidInput(
            details={"id_card": [_("Only an ID number nobody has verified can be taken off.")]}
        )
    old = mask_id_card(record.id_card)
    record.id_card, record.birth_date = None, None
    record.save(update_fields=["id_card", "birth_date"])
    record_event(
        actor=by,
        action="patient.id_card_withdrawn",
        obj=record,
        patient=record,
        old={"id_card": old},
        new={"id_card": None},
    )
    return record


@atomic_with_retry
def link_online_account(
    *, record: Patient, username: str, id_card: str, phone: str, by: User
) -> Patient:
    """Let the online account `username` act for `record`, a record the desk made.

    The desk types the ID number from the document and the phone the person gives: both must
    be this record's, and the phone the account registered with. The account's own record
    (made at registration) hands its bookings and visits over and stays behind, empty, for
    an undo. Lock order: the two Patient rows by id, their bookings, their visits, then the
    visit summary rows of the days moved.
    """
    ensure_role(by, *DESK_ROLES)
    account = User.objects.filter(username=(username or "").strip(), role=Role.PATIENT).first()
    online = Patient.objects.filter(user=account).first() if account is not None else None
    if online is None or online.pk == record.pk:
        raise InvalidInput(details={"username": [_("No online patient account has this name.")]})
    record, online = _locked(record, online)
    errors: dict[str, list[str]] = {}
    if record.user_id is not None:
        errors["username"] = [_("This record already belongs to an account.")]
    if not record.id_card or normalize_resident_id(id_card) != record.id_card:
        errors["id_card"] = [_("The ID number does not match this record.")]
    given_phone = normalize_phone(phone)
    if given_phone != record.phone or given_phone != online.phone:
        errors["phone"] = [_("The phone does not match this record and the account.")]
    if online.id_card and online.id_card != record.id_card:
        errors["id_card"] = [_("The account registered with another ID number.")]
    if errors:
        raise InvalidInput(details=errors)
    moved_bookings = Appointment.objects.filter(patient=online).update(patient=record)
    days = sorted(set(Visit.objects.filter(patient=online).values_list("visit_date", flat=True)))
    moved_visits = Visit.objects.filter(patient=online).update(patient=record)
    online.user, online.id_card = None, None
    online.save(update_fields=["user", "id_card"])
    record.user, record.linked_from, record.id_verified = account, online, True
    record.save(update_fields=["user", "linked_from", "id_verified"])
    _recount(days)
    record_event(
        actor=by,
        action="patient.account_linked",
        obj=record,
        patient=record,
        old={"user": None},
        new={
            "user": account.pk,
            "from_record": online.pk,
            "bookings_moved": moved_bookings,
            "visits_moved": moved_visits,
        },
    )
    return record


@atomic_with_retry
def unlink_online_account(*, record: Patient, by: User) -> Patient:
    """Undo a link: the account goes back to the record it came from. Bookings and visits
    stay on this record (the desk sees them and sorts them out): an account wrongly linked
    must lose, never gain, what it can read."""
    ensure_role(by, *DESK_ROLES)
    (record,) = _locked(record)
    if record.user_id is None:
        raise InvalidInput(details={"username": [_("No account acts for this record.")]})
    account_id, online = record.user_id, record.linked_from
    record.user, record.linked_from = None, None
    record.save(update_fields=["user", "linked_from"])
    if online is not None:
        (online,) = _locked(online)
        if online.user_id is None:
            online.user_id = account_id
            online.save(update_fields=["user"])
    record_event(
        actor=by,
        action="patient.account_unlinked",
        obj=record,
        patient=record,
        old={"user": account_id},
        new={"user": None, "account_back_to_record": online.pk if online else None},
    )
    return record


def _recount(days: list) -> None:
    """Visits that changed patient change who is first seen on their day: the visit
    summary's rows of those days are recomputed (VisitDailySummary.count_new_visit's rule)."""
    for day in days:
        VisitDailySummary.rebuild(start_date=day, end_date=day)


def recent_links(*, limit: int = 20) -> list[AuditEvent]:
    """The latest links of an account to a record, at registration or at the desk, with the
    record: what the desk checks and may undo."""
    return list(
        AuditEvent.objects.filter(action="patient.account_linked")
        .select_related("patient__user", "actor__employee", "actor__patient")
        .order_by("-created_at", "-id")[:limit]
    )
