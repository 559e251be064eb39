"""A visit's charges (收费明细): the one place they are written.

- The registration fee (挂号费): check-in and walk-in add it inside their own transaction,
  from the doctor's rank (clinic.RegistrationFee). No rank, no mapping or an inactive item:
  no charge (a clinic need not charge one).
- The doctor's orders (医嘱): prescription lines and examinations, tests, treatments …, written
  by the visit's doctor while the visit is in consultation. Finishing the consultation freezes
  them (the status check below, on the locked visit).
- Corrections: an administrator changes a charge's quantity or removes it while the visit
  awaits payment (before its bill), with a reason.

Code, name, category, unit, unit price and insurance class are copied from the fee item when
a charge is made: a later price change never touches it. Every write is one transaction that
locks the Visit, then its Charges (by id) — the order of ARCHITECTURE.md "Money" — checks,
writes and records its audit event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Sum
from django.utils.translation import gettext as _

from clinic.audit import audit_event, audit_values, changed_values, record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import (
    MAX_AMOUNT,
    MAX_QUANTITY,
    ORDERABLE_CATEGORIES,
    AllergyClass,
    AuditEvent,
    Employee,
    FeeItem,
    Patient,
    RegistrationFee,
    Role,
    User,
)
from clinic.roles import ensure_role
from clinic.search import fold_text
from visits.exceptions import AllergyWarning, ChargesClosed, OrdersFrozen
from visits.models import (
    DOSES_PER_DAY,
    MAX_DAYS,
    Charge,
    ChargeKind,
    Frequency,
    PatientAllergy,
    Visit,
    VisitStatus,
)
from visits.records import visits_of_doctor

USAGE_MAX = Charge._meta.get_field("usage").max_length
NOTE_MAX = Charge._meta.get_field("note").max_length
REASON_MAX = Charge._meta.get_field("allergy_override_reason").max_length
WARNING_MAX = Charge._meta.get_field("allergy_warning").max_length
CORRECTION_REASON_MAX = 200
# A dose is bounded like a quantity.
MAX_DOSE = MAX_QUANTITY
THOUSANDTH = Decimal("0.001")
CENT = Decimal("0.01")

# What an order carries besides its item; what an update may change.
ORDER_FIELDS = (
    "quantity",
    "dose",
    "frequency",
    "days",
    "usage",
    "note",
    "allergy_override_reason",
)
# What the audit trail keeps of a charge.
AUDITED_FIELDS = (
    "kind",
    "fee_item",
    "code",
    "name",
    "category",
    "unit",
    "unit_price",
    "insurance_class",
    "quantity",
    "dose",
    "dose_unit",
    "frequency",
    "days",
    "usage",
    "note",
    "allergy_warning",
    "allergy_override_reason",
)


def charge_amount(charge: Charge) -> Decimal:
    """Quantity × unit price, rounded to cents (as the bill line will be)."""
    return (charge.quantity * charge.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)


def visit_charges(visit: Visit) -> list[Charge]:
    """The visit's charges in the order they were made, each with `amount` set."""
    charges = list(Charge.objects.filter(visit=visit).order_by("id"))
    for charge in charges:
        charge.amount = charge_amount(charge)
    return charges


def locked_charges(visit: Visit) -> list[Charge]:
    """The visit's charges locked, by id, inside the caller's transaction, after the visit's
    own lock (lock order: … Visit → Charges → …): what settlement turns into bill lines."""
    return list(Charge.objects.select_for_update().filter(visit_id=visit.pk).order_by("id"))


def charges_total(charges: list[Charge]) -> Decimal:
    return sum((charge_amount(charge) for charge in charges), Decimal("0.00"))


# --- The registration fee ---------------------------------------------------------------------


def add_registration_charge(visit: Visit, *, doctor: Employee, by: User) -> AuditEvent | None:
    """Charge the registration fee of the doctor's rank to a visit just inserted. Runs inside
    the caller's transaction (check-in's or walk-in's: `visits.services`), after the Visit
    insert; one read (the mapping with its item) and one insert. Returns the audit event, not
    yet written, for the caller to write with its own (record_events); None when nothing is
    charged: no rank, no mapping for it, or an inactive item."""
    if not doctor.rank:
        return None
    mapping = (
        RegistrationFee.objects.select_related("fee_item")
        .filter(rank=doctor.rank, fee_item__is_active=True)
        .first()
    )
    if mapping is None:
        return None
    item = mapping.fee_item
    charge = Charge.objects.create(
        visit=visit,
        kind=ChargeKind.REGISTRATION,
        **Charge.copied_from(item),
        quantity=Decimal(1),
        ordered_by=by,
    )
    return audit_event(
        actor=by,
        action="charge.registration_added",
        obj=charge,
        patient=visit.patient,
        new={**audit_values(charge, AUDITED_FIELDS), "visit": visit.pk, "rank": doctor.rank},
    )


# --- Quantities ---------------------------------------------------------------------------------


def computed_quantity(
    fee_item: FeeItem, *, dose: Decimal | None, frequency: str, days: int | None
) -> Decimal | None:
    """The quantity a prescription line needs, where it can be counted: a drug whose unit says
    how many doses it holds (`doses_per_unit`), with a dose and a countable frequency —
    ceil(dose × doses a day × days / doses per unit); ST (once, now): ceil(dose / doses per
    unit). None otherwise (PRN, no dose, no days …): the doctor types the quantity. Whole units
    unless the item allows decimals (then rounded up to a thousandth)."""
    if not fee_item.is_drug or not fee_item.doses_per_unit or dose is None or dose <= 0:
        return None
    if frequency == Frequency.ST:
        doses = dose
    elif frequency in DOSES_PER_DAY and days:
        doses = dose * DOSES_PER_DAY[frequency] * days
    else:
        return None
    units = doses / fee_item.doses_per_unit
    step = THOUSANDTH if fee_item.fractional_quantity else Decimal(1)
    return units.quantize(step, rounding=ROUND_CEILING)


def quantity_from_text(
    fee_item: FeeItem, *, dose: Any, frequency: str, days: Any
) -> Decimal | None:
    """computed_quantity() from what a form holds as typed: None when a value does not read
    or is out of bounds (the order's own checks then say why)."""
    errors: dict[str, list[str]] = {}
    dose = _decimal(dose, "dose", errors)
    days = _whole(days, "days", errors)
    if errors or (dose is not None and not 0 < dose <= MAX_DOSE):
        return None
    if days is not None and not 1 <= days <= MAX_DAYS:
        return None
    return computed_quantity(fee_item, dose=dose, frequency=frequency or "", days=days)


def _decimal(value: Any, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    """A number from a form, the API or a caller (None or "" for none); a field error else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        errors[name] = [_("Enter a number.")]
        return None
    if not number.is_finite():
        errors[name] = [_("Enter a number.")]
        return None
    return number


def _whole(value: Any, name: str, errors: dict[str, list[str]]) -> int | None:
    number = _decimal(value, name, errors)
    if number is None:
        return None
    if number.adjusted() > 6 or number != number.to_integral_value():
        errors[name] = [_("Enter a whole number.")]
        return None
    return int(number)


def _text(value: Any, name: str, limit: int, errors: dict[str, list[str]]) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        errors[name] = [_("At most %(count)d characters.") % {"count": limit}]
    return text


def quantity_problem(
    quantity: Decimal, *, unit: str, unit_price: Decimal, fractional: bool
) -> str | None:
    """What is wrong with a charge's quantity (None when nothing): the one rule for the
    doctor's orders and the administrator's corrections. Positive, bounded, whole units
    unless the item says otherwise, three decimals at most, and a line amount a bill can
    hold."""
    if not (0 < quantity <= MAX_QUANTITY):
        return _("A quantity is more than 0 and at most %(max)s.") % {"max": MAX_QUANTITY}
    if not fractional and quantity != quantity.to_integral_value():
        return _("%(unit)s is counted in whole units.") % {"unit": unit}
    if quantity != quantity.quantize(THOUSANDTH, rounding=ROUND_HALF_UP):
        return _("At most 3 decimal places.")
    if quantity * unit_price > MAX_AMOUNT:
        return _("The line would cost more than %(max)s.") % {"max": MAX_AMOUNT}
    return None


def ensure_visit_total_within_bounds(visit: Visit, *, charge: Charge) -> None:
    """The visit's charges, with `charge` as it is about to be saved, still add up to an
    amount a bill can hold (the visit is locked: its charges do not change meanwhile)."""
    others = (
        Charge.objects.filter(visit=visit)
        .exclude(pk=charge.pk)
        .aggregate(total=Sum(F("quantity") * F("unit_price")))["total"]
    )
    if (others or 0) + charge.quantity * charge.unit_price > MAX_AMOUNT:
        raise InvalidInput(
            details={"quantity": [
                _("The visit's charges would cost more than %(max)s.") % {"max": MAX_AMOUNT}
            ]}
        )  # fmt: skip


def _validated_order(fee_item: FeeItem, values: dict[str, Any]) -> dict[str, Any]:
    """The order's fields, checked against the item; InvalidInput with every field error."""
    errors: dict[str, list[str]] = {}
    quantity = _decimal(values.get("quantity"), "quantity", errors)
    dose = _decimal(values.get("dose"), "dose", errors)
    days = _whole(values.get("days"), "days", errors)
    frequency = str(values.get("frequency") or "").strip()
    usage = _text(values.get("usage"), "usage", USAGE_MAX, errors)
    note = _text(values.get("note"), "note", NOTE_MAX, errors)
    reason_field = "allergy_override_reason"
    reason = _text(values.get(reason_field), reason_field, REASON_MAX, errors)
    if fee_item.is_drug:
        if frequency and frequency not in Frequency.values:
            errors["frequency"] = [_("Choose a frequency from the list.")]
        if dose is not None and not (0 < dose <= MAX_DOSE):
            errors["dose"] = [_("A dose is more than 0 and at most %(max)s.") % {"max": MAX_DOSE}]
        elif dose is not None and dose != dose.quantize(THOUSANDTH, rounding=ROUND_HALF_UP):
            errors["dose"] = [_("At most 3 decimal places.")]
        if days is not None and not (1 <= days <= MAX_DAYS):
            errors["days"] = [_("From 1 to %(max)d days.") % {"max": MAX_DAYS}]
    else:
        for name, given in (("dose", dose), ("frequency", frequency), ("days", days)):
            if given not in (None, "") and name not in errors:
                errors[name] = [_("Only a drug takes a dose, a frequency and days.")]
    if quantity is None and not errors:
        quantity = computed_quantity(fee_item, dose=dose, frequency=frequency, days=days)
        if quantity is None:
            errors["quantity"] = [
                _("Give the quantity (it is computed only from a dose, a frequency and days).")
            ]
    if quantity is not None and "quantity" not in errors:
        problem = quantity_problem(
            quantity, unit=fee_item.unit, unit_price=fee_item.unit_price,
            fractional=fee_item.fractional_quantity,
        )  # fmt: skip
        if problem:
            errors["quantity"] = [problem]
    if errors:
        raise InvalidInput(details=errors)
    # Stored with three decimals: the audit trail then reads as the database does.
    return {
        "quantity": quantity.quantize(THOUSANDTH),
        "dose": dose.quantize(THOUSANDTH) if fee_item.is_drug and dose is not None else None,
        "dose_unit": fee_item.dose_unit if fee_item.is_drug and dose is not None else "",
        "frequency": frequency if fee_item.is_drug else "",
        "days": days if fee_item.is_drug else None,
        "usage": usage,
        "note": note,
        "allergy_override_reason": reason,
    }


# --- Allergies ----------------------------------------------------------------------------------


def _names_of(allergy_class: AllergyClass) -> list[str]:
    """The class's names as a free-text allergy may write them, folded: its name and
    English name, also without the class word's ending ("青霉素类" → "青霉素",
    "Penicillins" → "penicillin")."""
    names = [fold_text(name).casefold() for name in (allergy_class.name, allergy_class.name_en)]
    names += [name[:-1] for name in names if name.endswith(("类", "s")) and len(name) > 2]
    return [name for name in names if len(name) >= 2]


def _text_matches(substance: str, names: list[str]) -> bool:
    """A free-text allergy names a class or an item: one contains the other (any case). Too
    short a text names nothing: two Chinese characters, four letters of other scripts."""
    shortest = 2 if any(ord(char) >= 0x2E80 for char in substance) else 4
    if len(substance) < shortest:
        return False
    return any(substance in name or name in substance for name in names)


def _class_matches(allergy: PatientAllergy, substance: str, allergy_class: AllergyClass) -> bool:
    """The allergy names the class: chosen as its drug class, its code written whole, or its
    name in the text."""
    return (
        allergy.allergy_class_id == allergy_class.pk
        or substance == allergy_class.code.casefold()
        or _text_matches(substance, _names_of(allergy_class))
    )


def allergy_matches(patient: Patient, fee_item: FeeItem) -> list[str]:
    """What of the patient's ACTIVE allergies the item matches, in words ("青霉素 → 青霉素类"):
    an allergy naming one of the item's allergy classes (PatientAllergy.allergy_class), or a
    free-text allergy whose substance contains, or is contained in, a class's name or English
    name (or is its code), or the item's name (any case). Two queries."""
    allergies = list(
        PatientAllergy.objects.active()
        .filter(patient=patient)
        .select_related("allergy_class")
        .order_by("recorded_at", "id")
    )
    if not allergies:
        return []
    classes = list(fee_item.allergy_classes.all())
    item_names = [name for name in [fold_text(fee_item.name).casefold()] if len(name) >= 2]
    matches: list[str] = []
    for allergy in allergies:
        substance = fold_text(allergy.substance).casefold()
        found = [cls.name for cls in classes if _class_matches(allergy, substance, cls)]
        if not found and _text_matches(substance, item_names):
            found = [fee_item.name]
        for name in found:
            match = f"{allergy.substance} → {name}"
            if match not in matches:
                matches.append(match)
    return matches


def _warning_text(matches: list[str]) -> str:
    text = "; ".join(matches)
    return text if len(text) <= WARNING_MAX else text[: WARNING_MAX - 1] + "…"


# --- The doctor's orders ----------------------------------------------------------------------


@dataclass
class OrderResult:
    """An order as written, and the allergies it matched (empty when none)."""

    charge: Charge
    allergy_matches: list[str] = field(default_factory=list)


def _ensure_visit_doctor(by: User, visit: Visit) -> None:
    """Only the doctor the visit is scheduled with (PermissionDenied otherwise): the records'
    rule of whose visits a doctor's are (visits.records.visits_of_doctor), one query."""
    if by is None or not visits_of_doctor(by).filter(pk=visit.pk).exists():
        raise PermissionDenied()


def _locked_visit(visit_id: int) -> Visit:
    return Visit.objects.select_for_update().select_related("patient").get(pk=visit_id)


def _open_for_orders(by: User, visit_id: int) -> Visit:
    """The visit, locked, after the doctor and status checks (lock order: Visit first)."""
    visit = _locked_visit(visit_id)
    _ensure_visit_doctor(by, visit)
    if visit.status != VisitStatus.IN_CONSULTATION:
        raise OrdersFrozen(details={"status": visit.status})
    return visit


def _orderable_item(fee_item: FeeItem | int | str | None) -> FeeItem:
    """The item as it is now (its price is what the charge copies); a field error when it
    cannot be ordered."""
    pk = fee_item.pk if isinstance(fee_item, FeeItem) else fee_item
    item = None
    if pk not in (None, ""):
        try:
            item = FeeItem.objects.filter(pk=int(pk)).first()
        except (TypeError, ValueError):
            item = None
    if item is None:
        raise InvalidInput(details={"fee_item": [_("Choose an item of the fee catalogue.")]})
    if not item.is_active:
        raise InvalidInput(details={"fee_item": [_("This item is no longer charged.")]})
    if item.category not in ORDERABLE_CATEGORIES:
        raise InvalidInput(details={"fee_item": [_("This item is not ordered by a doctor.")]})
    return item


def _check_allergies(patient: Patient, item: FeeItem, reason: str) -> tuple[list[str], str]:
    """(matches, warning text); AllergyWarning when something matches and no reason is given."""
    matches = allergy_matches(patient, item)
    if matches and not reason:
        raise AllergyWarning(
            details={
                "allergy_matches": matches,
                "allergy_override_reason": [_("Give the reason to order it despite the allergy.")],
            }
        )
    return matches, _warning_text(matches)


@atomic_with_retry
def add_order(
    *,
    visit: Visit,
    by: User,
    fee_item: FeeItem | int | None,
    quantity: Any = None,
    dose: Any = None,
    frequency: str = "",
    days: Any = None,
    usage: str = "",
    note: str = "",
    allergy_override_reason: str = "",
) -> OrderResult:
    """The visit's doctor orders an item during the consultation. Refusals, with nothing
    written: PermissionDenied (not the visit's doctor), OrdersFrozen (the visit is not in
    consultation), InvalidInput with field errors (the item, quantity, dose, days …),
    AllergyWarning (the item matches an allergy and no reason is given)."""
    visit = _open_for_orders(by, visit.pk)
    item = _orderable_item(fee_item)
    values = _validated_order(
        item,
        {
            "quantity": quantity,
            "dose": dose,
            "frequency": frequency,
            "days": days,
            "usage": usage,
            "note": note,
            "allergy_override_reason": allergy_override_reason,
        },
    )
    matches, warning = _check_allergies(visit.patient, item, values["allergy_override_reason"])
    if not matches:
        values["allergy_override_reason"] = ""
    charge = Charge(
        visit=visit,
        kind=ChargeKind.ORDER,
        **Charge.copied_from(item),
        allergy_warning=warning,
        ordered_by=by,
        **values,
    )
    ensure_visit_total_within_bounds(visit, charge=charge)
    charge.save()
    record_event(
        actor=by,
        action="charge.ordered",
        obj=charge,
        patient=visit.patient,
        new={**audit_values(charge, AUDITED_FIELDS), "visit": visit.pk},
    )
    return OrderResult(charge=charge, allergy_matches=matches)


def _locked_charge(visit: Visit, charge_id: int) -> Charge:
    """The visit's charge, locked after the visit (Charge.DoesNotExist when it is not
    this visit's: the caller's 404)."""
    return Charge.objects.select_for_update().get(pk=charge_id, visit_id=visit.pk)


UNSET: Any = object()


@atomic_with_retry
def update_order(
    *,
    charge: Charge,
    by: User,
    quantity: Any = UNSET,
    dose: Any = UNSET,
    frequency: Any = UNSET,
    days: Any = UNSET,
    usage: Any = UNSET,
    note: Any = UNSET,
    allergy_override_reason: Any = UNSET,
) -> OrderResult:
    """Change an order (fields left out keep their value; the item stays: to order another,
    remove this one). The same rules and refusals as add_order(); the quantity is computed
    again when the dose, frequency or days change and no quantity is given. The unit price
    stays the one copied when it was ordered."""
    visit = _open_for_orders(by, charge.visit_id)
    charge = _locked_charge(visit, charge.pk)
    if charge.kind != ChargeKind.ORDER:
        raise PermissionDenied(_("The registration fee is not an order; it is not changed here."))
    given = {
        "quantity": quantity,
        "dose": dose,
        "frequency": frequency,
        "days": days,
        "usage": usage,
        "note": note,
        "allergy_override_reason": allergy_override_reason,
    }
    given = {name: value for name, value in given.items() if value is not UNSET}
    values = {name: getattr(charge, name) for name in ORDER_FIELDS}
    recount = any(
        name in given and given[name] != values[name] for name in ("dose", "frequency", "days")
    )
    values.update(given)
    if recount and "quantity" not in given:
        values["quantity"] = None
    item = FeeItem.objects.get(pk=charge.fee_item_id)
    checked = _validated_order(item, values)
    # The unit the dose is counted in is the one copied when ordered, unless a dose is new.
    if checked["dose"] is not None and charge.dose_unit:
        checked["dose_unit"] = charge.dose_unit
    matches, warning = _check_allergies(visit.patient, item, checked["allergy_override_reason"])
    if not matches:
        checked["allergy_override_reason"] = ""
    checked["allergy_warning"] = warning
    old = audit_values(charge, AUDITED_FIELDS)
    for name, value in checked.items():
        setattr(charge, name, value)
    new = audit_values(charge, AUDITED_FIELDS)
    old_changed, new_changed = changed_values(old, new)
    if new_changed:
        ensure_visit_total_within_bounds(visit, charge=charge)
        charge.save(update_fields=[*checked, "updated_at"])
        record_event(
            actor=by,
            action="charge.changed",
            obj=charge,
            patient=visit.patient,
            old=old_changed,
            new={**new_changed, "visit": visit.pk},
        )
    return OrderResult(charge=charge, allergy_matches=matches)


def _delete_with_event(
    charge: Charge, visit: Visit, *, by: User, action: str, **event: Any
) -> None:
    """Delete a locked charge with its event: its old values and visit (the event keeps the
    charge's id, which deleting clears)."""
    old = audit_values(charge, AUDITED_FIELDS)
    pk = charge.pk
    charge.delete()
    charge.pk = pk
    record_event(
        actor=by,
        action=action,
        obj=charge,
        patient=visit.patient,
        old={**old, "visit": visit.pk},
        **event,
    )


@atomic_with_retry
def remove_order(*, charge: Charge, by: User) -> None:
    """Take an order back during the consultation (the same doctor and status rules)."""
    visit = _open_for_orders(by, charge.visit_id)
    charge = _locked_charge(visit, charge.pk)
    if charge.kind != ChargeKind.ORDER:
        raise PermissionDenied(_("The registration fee is not an order; it is not removed here."))
    _delete_with_event(charge, visit, by=by, action="charge.removed")


# --- Administrators' corrections -------------------------------------------------------------


def _correctable(by: User, charge: Charge, reason: str) -> tuple[Visit, Charge, str]:
    """An administrator, a reason, the visit awaiting payment and the charge on no bill
    line; the visit and the charge locked (in that order)."""
    ensure_role(by, Role.ADMIN)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(details={"reason": [_("Give the reason for the correction.")]})
    if len(reason) > CORRECTION_REASON_MAX:
        message = _("At most %(count)d characters.") % {"count": CORRECTION_REASON_MAX}
        raise InvalidInput(details={"reason": [message]})
    visit = _locked_visit(charge.visit_id)
    charge = _locked_charge(visit, charge.pk)
    # After settlement the visit has left; a charge on a bill line is the bill's (billing
    # is above this app: asked through the reverse relation's name only).
    if (
        visit.status != VisitStatus.AWAITING_PAYMENT
        or Charge.objects.filter(pk=charge.pk, bill_line__isnull=False).exists()
    ):
        raise ChargesClosed(details={"status": visit.status})
    return visit, charge, reason


@atomic_with_retry
def correct_charge(*, charge: Charge, by: User, quantity: Any, reason: str) -> Charge:
    """An administrator corrects a charge's quantity before the bill (audited
    `charge.corrected` with the reason)."""
    visit, charge, reason = _correctable(by, charge, reason)
    errors: dict[str, list[str]] = {}
    number = _decimal(quantity, "quantity", errors)
    if number is None and not errors:
        errors["quantity"] = [_("Give the quantity.")]
    elif number is not None:
        item = FeeItem.objects.only("fractional_quantity").get(pk=charge.fee_item_id)
        problem = quantity_problem(
            number, unit=charge.unit, unit_price=charge.unit_price,
            fractional=item.fractional_quantity,
        )  # fmt: skip
        if problem:
            errors["quantity"] = [problem]
    if errors:
        raise InvalidInput(details=errors)
    if number == charge.quantity:
        return charge
    old = {"quantity": str(charge.quantity)}
    charge.quantity = number.quantize(THOUSANDTH)
    ensure_visit_total_within_bounds(visit, charge=charge)
    charge.save(update_fields=["quantity", "updated_at"])
    record_event(
        actor=by,
        action="charge.corrected",
        obj=charge,
        patient=visit.patient,
        old=old,
        new={"quantity": str(charge.quantity), "reason": reason, "visit": visit.pk},
    )
    return charge


@atomic_with_retry
def remove_charge_by_admin(*, charge: Charge, by: User, reason: str) -> None:
    """An administrator removes a charge before the bill (audited with the reason)."""
    visit, charge, reason = _correctable(by, charge, reason)
    _delete_with_event(
        charge, visit, by=by, action="charge.removed_by_admin", new={"reason": reason}
    )
