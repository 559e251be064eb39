"""Patient records: finding the record for a person without ever merging two people, and
patients registering their own accounts."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PatientConflict
from clinic.models import IdentityLock, IdType, Patient, Role, User
from clinic.validators import normalize_phone, normalize_resident_id


def _locked_patients():
    """Patient rows, locked as they are read, oldest record first."""
    return Patient.objects.select_for_update().order_by("id")


def lock_patient(pk: int) -> Patient:
    """A patient record, locked (inside the caller's transaction)."""
    return Patient.objects.select_for_update().get(pk=pk)


def lock_own_patient(user: User) -> Patient | None:
    """A patient account's own record, locked; None when the account has none."""
    return Patient.objects.select_for_update().filter(user=user).first()


def validated_patient(
    *, name: str, phone: str, id_card: str | None, id_type: str, gender: str
) -> Patient:
    """An unsaved Patient with normalised, validated fields (InvalidInput otherwise)."""
    patient = Patient(
        name=(name or "").strip(),
        phone=normalize_phone(phone),
        id_card=normalize_resident_id(id_card),
        id_type=id_type or IdType.RESIDENT_ID,
        gender=gender or "",
    )
    try:
        # Uniqueness is the matcher's business (an existing ID number is a match, not an error).
        patient.full_clean(exclude=["user"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        raise InvalidInput(details=error.message_dict) from error
    return patient


def match_or_create_patient(
    *,
    name: str,
    phone: str,
    id_card: str | None = None,
    id_type: str = IdType.RESIDENT_ID,
    gender: str = "",
) -> Patient:
    """The existing record of this person, locked, or a new one.

    An ID number decides when given: the record with that number is the person, and a
    different name on it is a conflict for the desk to resolve, never an overwrite. Without
    an ID number, phone and name must both match (family members share phones). Runs inside
    the caller's transaction; the returned row is locked (Patient comes after Appointment
    and before Schedule in the lock order).
    """
    candidate = validated_patient(
        name=name, phone=phone, id_card=id_card, id_type=id_type, gender=gender
    )
    # Serialise decisions about people sharing this phone (a match may not exist yet).
    IdentityLock.acquire(f"phone:{candidate.phone}")
    if candidate.id_card:
        existing = _locked_patients().filter(id_card=candidate.id_card).first()
        if existing is not None:
            if existing.name != candidate.name:
                raise PatientConflict(
                    details={"id_card": [_("This ID number is registered to another name.")]}
                )
            return existing
        # A record of this person made without the ID number (same phone and name) gets it.
        same_person = list(
            _locked_patients().filter(
                phone=candidate.phone, name=candidate.name, id_card__isnull=True
            )[:2]
        )
        if len(same_person) == 1:
            existing = same_person[0]
            existing.id_card, existing.id_type = candidate.id_card, candidate.id_type
            existing.birth_date = candidate.birth_date
            existing.save(update_fields=["id_card", "id_type", "birth_date"])
            return existing
    else:
        existing = _locked_patients().filter(phone=candidate.phone, name=candidate.name).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        # The same ID number was registered meanwhile under another phone: decide again.
        existing = _locked_patients().filter(id_card=candidate.id_card).first()
        if existing is None:
            raise
        if existing.name != candidate.name:
            raise PatientConflict(
                details={"id_card": [_("This ID number is registered to another name.")]}
            ) from None
        return existing
    return candidate


@dataclass(frozen=True)
class Registration:
    user: User
    patient: Patient
    # A record made at the desk was found and attached (name, phone and ID all matched).
    linked_existing: bool
    # The ID number given is on another record: the desk must check and link it.
    needs_desk_review: bool


@atomic_with_retry
def register_patient_account(
    *,
    username: str,
    password: str,
    name: str,
    phone: str,
    gender: str,
    id_card: str | None = None,
) -> Registration:
    """Create a patient's own account and the patient record it acts for.

    A record made at the desk is attached only when name, phone and ID number all match and
    it has no account yet: attaching on a partial match would hand one person's history to
    another. When the ID number belongs to some other record, the account gets a record of
    its own without the number, and the desk verifies and links them later.
    """
    candidate = validated_patient(
        name=name, phone=phone, id_card=id_card, id_type=IdType.RESIDENT_ID, gender=gender
    )
    user = User(username=username, role=Role.PATIENT)
    user.set_password(password)
    user.save()
    existing = None
    if candidate.id_card:
        existing = Patient.objects.select_for_update().filter(id_card=candidate.id_card).first()
    if (
        existing is not None
        and existing.user_id is None
        and existing.name == candidate.name
        and existing.phone == candidate.phone
    ):
        existing.user = user
        existing.save(update_fields=["user"])
        record_event(actor=user, action="patient.account_linked", obj=existing, patient=existing)
        return Registration(user, existing, linked_existing=True, needs_desk_review=False)
    needs_review = existing is not None
    if needs_review:
        candidate.id_card = None
        candidate.birth_date = None
    candidate.user = user
    candidate.save()
    record_event(
        actor=user,
        action="patient.registered",
        obj=candidate,
        patient=candidate,
        new={"needs_desk_review": needs_review},
    )
    return Registration(user, candidate, linked_existing=False, needs_desk_review=needs_review)
