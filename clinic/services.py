"""Patient records: finding the record for a person without ever merging two people, and
patients registering their own accounts."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PatientConflict, PatientNeedsDeskReview
from clinic.models import IdentityLock, IdType, InsurancePlan, Patient, Role, User
from clinic.validators import normalize_phone, normalize_resident_id


def ensure_plan_choosable(plan: InsurancePlan | None) -> None:
    """A plan given to a patient anew is one the clinic still offers (none: self-pay)."""
    if plan is not None and not plan.is_active:
        raise InvalidInput(
            details={"insurance_plan": [_("This insurance plan cannot be chosen any more.")]}
        )


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
    insurance_plan: InsurancePlan | None = None,
) -> Patient:
    """The desk's matching: the existing record of the person in front of the desk, locked,
    or a new one. Runs inside the caller's transaction (Patient comes after Appointment and
    before Schedule in the lock order).

    An ID number decides when given: the record with that number is the person, and a
    different name on it is a conflict for the desk to resolve, never an overwrite. Without
    one, phone and name must both match (family members share phones).

    A record that an online account holds is never chosen, nor changed, on name and phone:
    anyone can register online with another person's name and mobile number, and a match
    would hand that person's visits to the account. It is chosen only on an ID number the
    desk has verified; on an unverified one the desk must look (PatientNeedsDeskReview), and
    otherwise it picks such a record explicitly from the search. Numbers typed here are
    verified: the desk has the person and the document in front of it.
    """
    ensure_plan_choosable(insurance_plan)
    candidate = validated_patient(
        name=name, phone=phone, id_card=id_card, id_type=id_type, gender=gender
    )
    candidate.id_verified = bool(candidate.id_card)
    # A new record's plan (`insurance_plan`; None: self-pay). An existing record keeps its
    # own: the desk changes it on the patient's page (correct_patient_details, audited).
    candidate.insurance_plan = insurance_plan
    # Serialise decisions about people sharing this phone (a match may not exist yet).
    IdentityLock.acquire(f"phone:{candidate.phone}")
    without_account = _locked_patients().filter(user__isnull=True)
    if candidate.id_card:
        existing = _locked_patients().filter(id_card=candidate.id_card).first()
        if existing is not None:
            return _known_number(existing, candidate)
        # A record of this person made at the desk without the number (same phone and
        # name, no account) gets it.
        same_person = list(
            without_account.filter(
                phone=candidate.phone, name=candidate.name, id_card__isnull=True
            )[:2]
        )
        if len(same_person) == 1:
            existing = same_person[0]
            existing.id_card, existing.id_type = candidate.id_card, candidate.id_type
            existing.birth_date, existing.id_verified = candidate.birth_date, True
            existing.save(update_fields=["id_card", "id_type", "birth_date", "id_verified"])
            return existing
    else:
        existing = without_account.filter(phone=candidate.phone, name=candidate.name).first()
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
        return _known_number(existing, candidate)
    return candidate


def _known_number(existing: Patient, candidate: Patient) -> Patient:
    """The record that has the candidate's ID number, if the desk may take it as theirs."""
    if existing.user_id is not None and not existing.id_verified:
        raise PatientNeedsDeskReview(
            details={
                "id_card": [str(PatientNeedsDeskReview.default_message)],
                "record": existing.pk,
            }
        )
    if existing.name != candidate.name:
        raise PatientConflict(
            details={"id_card": [_("This ID number is registered to another name.")]}
        )
    return existing


@dataclass(frozen=True)
class Registration:
    user: User
    patient: Patient


@atomic_with_retry
def register_patient_account(
    *,
    username: str,
    password: str,
    name: str,
    phone: str,
    gender: str,
    id_card: str | None = None,
    insurance_plan: InsurancePlan | None = None,
) -> Registration:
    """Create a patient's own account and the patient record it acts for.

    A record made at the desk is attached only when name, phone and ID number all match and
    it has no account yet (the desk sees the link on the patient's record and can undo it).
    Anything else gets a record of its own, and the answer is the same whatever was found:
    registering never tells whether someone is a patient. An ID number that is already on
    another record is left off the new one, for the desk to check in person.

    `insurance_plan`: the plan the person says they have (an active one; none is self-pay).
    A desk record that is attached keeps the plan the desk gave it, if any.
    """
    ensure_plan_choosable(insurance_plan)
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
        linked = {"account": user.pk, "by": "registration"}
        update_fields = ["user"]
        if insurance_plan is not None and existing.insurance_plan_id is None:
            existing.insurance_plan = insurance_plan
            update_fields.append("insurance_plan")
            linked["insurance_plan"] = insurance_plan.pk
        existing.save(update_fields=update_fields)
        record_event(
            actor=user,
            action="patient.account_linked",
            obj=existing,
            patient=existing,
            new=linked,
        )
        return Registration(user, existing)
    withheld = existing is not None
    if withheld:
        candidate.id_card = None
        candidate.birth_date = None
    candidate.user = user
    candidate.insurance_plan = insurance_plan
    candidate.save()
    record_event(
        actor=user,
        action="patient.registered",
        obj=candidate,
        patient=candidate,
        new={
            "id_card_withheld_for_the_desk": withheld,
            "insurance_plan": insurance_plan.pk if insurance_plan is not None else None,
        },
    )
    return Registration(user, candidate)
