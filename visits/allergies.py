"""The patient's allergies (过敏史): the one place they are written.

An allergy is the patient's, not a visit's: recorded once by a doctor, shown at the top of
every consultation and on the doctor's queue, kept as structured entries (substance or drug
class, reaction, severity) so that drug orders can later be checked against them. Only a
doctor who may read the patient's records (visits.records: a patient they are seeing or have
seen) adds or removes one; an administrator reads them (Django Admin). Each change is one
transaction, locked on the patient (so two doctors' changes to one patient's list are
serialised), with its audit event. A removal keeps the row, marked removed.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AllergyClass, Patient, Role, User
from clinic.services import lock_patient
from visits.models import AllergySeverity, NoKnownAllergies, PatientAllergy
from visits.records import readable_visits

SUBSTANCE_MAX = PatientAllergy._meta.get_field("substance").max_length
REACTION_MAX = PatientAllergy._meta.get_field("reaction").max_length


def active_allergies(patient: Patient) -> QuerySet[PatientAllergy]:
    return (
        PatientAllergy.objects.active()
        .filter(patient=patient)
        .select_related("allergy_class")
        .order_by("recorded_at", "id")
    )


def may_change_allergies(user: User, patient: Patient) -> bool:
    """A doctor who may read the patient's records (one query)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.role == Role.DOCTOR
        and readable_visits(user).filter(patient=patient).exists()
    )


def _ensure_may_change(user: User, patient: Patient) -> None:
    if not may_change_allergies(user, patient):
        raise PermissionDenied()


def _validated(substance: str, reaction: str, severity: str) -> tuple[str, str, str]:
    substance, reaction = (substance or "").strip(), (reaction or "").strip()
    errors: dict[str, list[str]] = {}
    if not substance:
        errors["substance"] = [_("Name the substance or drug class.")]
    elif len(substance) > SUBSTANCE_MAX:
        errors["substance"] = [_("At most %(count)d characters.") % {"count": SUBSTANCE_MAX}]
    if len(reaction) > REACTION_MAX:
        errors["reaction"] = [_("At most %(count)d characters.") % {"count": REACTION_MAX}]
    if severity not in AllergySeverity.values:
        errors["severity"] = [_("Choose mild, moderate or severe.")]
    if errors:
        raise InvalidInput(details=errors)
    return substance, reaction, severity


def _allergy_class(value: AllergyClass | int | None) -> AllergyClass | None:
    """The drug class chosen (None for none); a field error for one that does not exist."""
    if value in (None, ""):
        return None
    pk = value.pk if isinstance(value, AllergyClass) else value
    try:
        found = AllergyClass.objects.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise InvalidInput(details={"allergy_class": [_("Choose a drug class from the list.")]})
    return found


def _values(allergy: PatientAllergy) -> dict[str, str]:
    values = {
        "substance": allergy.substance,
        "reaction": allergy.reaction,
        "severity": allergy.severity,
    }
    if allergy.allergy_class_id is not None:
        values["allergy_class"] = allergy.allergy_class.code
    return values


@atomic_with_retry
def add_allergy(
    *,
    patient: Patient,
    by: User,
    substance: str,
    reaction: str = "",
    severity: str = AllergySeverity.MODERATE,
    allergy_class: AllergyClass | int | None = None,
    now: dt.datetime | None = None,
) -> PatientAllergy:
    """Record an allergy of `patient` (InvalidInput with field errors, PermissionDenied).
    `allergy_class`, optional: the drug class it is (what drug orders are checked against,
    visits.charges.allergy_matches)."""
    substance, reaction, severity = _validated(substance, reaction, severity)
    drug_class = _allergy_class(allergy_class)
    patient = lock_patient(patient.pk)
    _ensure_may_change(by, patient)
    # An allergy on file ends "no known allergies".
    no_longer_none_known = NoKnownAllergies.objects.filter(patient=patient).delete()[0] > 0
    allergy = PatientAllergy.objects.create(
        patient=patient,
        substance=substance,
        reaction=reaction,
        severity=severity,
        allergy_class=drug_class,
        recorded_by=by,
        recorded_at=now or timezone.now(),
    )
    record_event(
        actor=by,
        action="allergy.added",
        obj=allergy,
        patient=patient,
        old={"no_known_allergies": True} if no_longer_none_known else {},
        new=_values(allergy),
    )
    return allergy


@atomic_with_retry
def remove_allergy(
    *, allergy: PatientAllergy, by: User, now: dt.datetime | None = None
) -> PatientAllergy:
    """Mark an allergy removed (entered by mistake, or no longer so); the row stays."""
    patient = lock_patient(allergy.patient_id)
    _ensure_may_change(by, patient)
    allergy = PatientAllergy.objects.select_for_update().get(pk=allergy.pk)
    if allergy.removed_at is not None:
        return allergy
    allergy.removed_at = now or timezone.now()
    allergy.removed_by = by
    allergy.save(update_fields=["removed_at", "removed_by"])
    record_event(
        actor=by,
        action="allergy.removed",
        obj=allergy,
        patient=patient,
        old=_values(allergy),
        new={"removed": True},
    )
    return allergy


def no_known_allergies(patient: Patient) -> NoKnownAllergies | None:
    return NoKnownAllergies.objects.filter(patient=patient).select_related("confirmed_by").first()


@atomic_with_retry
def confirm_no_known_allergies(
    *, patient: Patient, by: User, now: dt.datetime | None = None
) -> NoKnownAllergies:
    """The doctor asked and the patient knows of no allergy: said explicitly, audited.
    Refused (InvalidInput) while allergies are on file: remove them first."""
    patient = lock_patient(patient.pk)
    _ensure_may_change(by, patient)
    if active_allergies(patient).exists():
        raise InvalidInput(_("Allergies are on file: remove them first."))
    confirmed, _created = NoKnownAllergies.objects.update_or_create(
        patient=patient, defaults={"confirmed_by": by, "confirmed_at": now or timezone.now()}
    )
    record_event(
        actor=by,
        action="allergy.none_known",
        obj=confirmed,
        patient=patient,
        new={"no_known_allergies": True},
    )
    return confirmed
