"""Writing the charges' reference data: the fee catalogue, insurance plans, the registration
fee of each doctor's rank and the drugs' allergy classes (Django Admin, the API, the CSV
import).

Every write is one service here, for administrators only: the record is validated
(`full_clean()`, field errors as InvalidInput), written under its row lock and recorded in
one audit event with the old and new values of what changed. The fee items' events are their
price history (`price_history`): who changed a price, a class or the active flag, and when.
An item's code is fixed once made: charges and bill lines copy it, and a code reused for
another thing would make them lie. A retired item is deactivated, not deleted (one that was
ever charged cannot be: the charges protect it).

The CSV import reads the export's own columns (`HEADER`), checks every line before writing
any, and writes all of them or none; a code already in the catalogue is updated, each item
with its own event (its price history).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, QuerySet
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from clinic.audit import audit_values, changed_values, record_event
from clinic.csv_import import as_written, decode_upload, has_control_characters
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied, RecordInUse
from clinic.fields import model_errors
from clinic.models import (
    AllergyClass,
    AuditEvent,
    FeeCategory,
    FeeItem,
    InsuranceClass,
    InsurancePlan,
    RegistrationFee,
    Role,
    User,
)
from clinic.roles import ensure_role

# What an audit event keeps of each record (its editable fields).
FEE_ITEM_FIELDS = (
    "code",
    "name",
    "category",
    "unit",
    "unit_price",
    "insurance_class",
    "specification",
    "dosage_form",
    "default_usage",
    "dose_unit",
    "doses_per_unit",
    "fractional_quantity",
    "is_active",
)
INSURANCE_PLAN_FIELDS = ("name", "name_en", "coverage_a", "coverage_b", "coverage_c", "is_active")
REGISTRATION_FEE_FIELDS = ("rank", "fee_item")
ALLERGY_CLASS_FIELDS = ("code", "name", "name_en")

CENT = Decimal("0.01")
THOUSANDTH = Decimal("0.001")


def ensure_catalogue_writer(by: User | None, model: type[models.Model]) -> None:
    """Administrators write the catalogue; a clinic manager (clinic.groups) reads it only."""
    ensure_role(by, Role.ADMIN)
    if not by.has_perm(f"{model._meta.app_label}.change_{model._meta.model_name}"):
        raise PermissionDenied(_("Only administrators change the fee catalogue and the plans."))


def _invalid(error: ValidationError) -> InvalidInput:
    return model_errors(error, field_map={})


def _locked_current(obj: models.Model) -> models.Model:
    """The row as it is now, locked: the old values of an event, never a stale copy's."""
    return type(obj)._default_manager.select_for_update().get(pk=obj.pk)


def _validate(obj: models.Model, *, exclude: Sequence[str] = ()) -> None:
    try:
        obj.full_clean(exclude=list(exclude) or None)
    except ValidationError as error:
        raise _invalid(error) from error


def _quantize(obj: models.Model, names: Sequence[str], step: Decimal) -> None:
    """Decimals as the column stores them (12.5 → 12.50): an unchanged price compares equal
    in the audit's old and new values."""
    for name in names:
        value = getattr(obj, name)
        if value is not None:
            setattr(obj, name, Decimal(value).quantize(step, rounding=ROUND_HALF_UP))


# The fee catalogue.


def _allergy_codes(item: FeeItem) -> list[str]:
    if item.pk is None:
        return []
    return sorted(item.allergy_classes.values_list("code", flat=True))


def _fee_item_values(item: FeeItem, allergy_codes: list[str]) -> dict[str, Any]:
    return {**audit_values(item, FEE_ITEM_FIELDS), "allergy_classes": allergy_codes}


def _check_code(item: FeeItem, current: FeeItem | None) -> None:
    item.code = (item.code or "").strip()
    if current is not None and current.code != item.code:
        # Charges and bill lines copy the code: a new code would make them name another item.
        raise InvalidInput(
            details={"code": [_("An item's code is fixed once made; add a new item.")]}
        )
    # One item per code whatever its case (MariaDB's collation compares them so).
    if current is None and item.code and FeeItem.objects.filter(code__iexact=item.code).exists():
        raise InvalidInput(details={"code": [_("Another item already has this code.")]})


def _write_fee_item(
    item: FeeItem, *, by: User, allergy_classes: Iterable[AllergyClass] | None
) -> bool:
    """Validate and write one item with its event, under its lock (inside the caller's
    transaction). False when nothing changed (no write, no event)."""
    adding = item._state.adding
    current = None if adding else _locked_current(item)
    _check_code(item, current)
    _validate(item)
    _quantize(item, ["unit_price"], CENT)
    _quantize(item, ["doses_per_unit"], THOUSANDTH)
    old_codes = [] if current is None else _allergy_codes(current)
    new_classes = None if allergy_classes is None else list(allergy_classes)
    new_codes = old_codes if new_classes is None else sorted(c.code for c in new_classes)
    old_values = {} if current is None else _fee_item_values(current, old_codes)
    old, new = changed_values(old_values, _fee_item_values(item, new_codes))
    if not new:
        return False
    changed_columns = [name for name in new if name != "allergy_classes"]
    if adding:
        try:
            with transaction.atomic():
                item.save(force_insert=True)
        except IntegrityError as error:
            raise InvalidInput(
                details={"code": [_("Another item already has this code.")]}
            ) from error
    elif changed_columns:
        item.save(update_fields=[*changed_columns, "updated_at"])
    if new_classes is not None and "allergy_classes" in new:
        item.allergy_classes.set(new_classes)
    action = "fee_item.created" if adding else "fee_item.changed"
    record_event(actor=by, action=action, obj=item, old=old, new=new)
    return True


@atomic_with_retry
def save_fee_item(
    *, item: FeeItem, by: User, allergy_classes: Iterable[AllergyClass] | None = None
) -> FeeItem:
    """Create a fee item, or save the changes made to it; `allergy_classes` (when given)
    replaces the item's. One `fee_item.created` / `fee_item.changed` event with the old and
    new values of what changed (the item's price history); nothing changed writes nothing.
    InvalidInput with field errors otherwise (the code is fixed once made)."""
    ensure_catalogue_writer(by, FeeItem)
    _write_fee_item(item, by=by, allergy_classes=allergy_classes)
    return item


def delete_reference(obj: models.Model, *, by: User, fields: Sequence[str], action: str) -> None:
    """Delete reference data `obj` (the catalogue's, billing's payment methods) with its
    event, inside the caller's transaction; RecordInUse when other records still point to
    it (a charged item, a plan patients have, a method that paid)."""
    ensure_catalogue_writer(by, type(obj))
    current = _locked_current(obj)
    record_event(actor=by, action=action, obj=current, old=audit_values(current, fields))
    try:
        with transaction.atomic():
            obj.delete()
    except ProtectedError as error:
        raise RecordInUse.protected(
            obj,
            error,
            _(
                "%(record)s “%(name)s” cannot be deleted: %(used_by)s still refer to it. "
                "Deactivate it instead."
            ),
        ) from error


@atomic_with_retry
def delete_fee_item(*, item: FeeItem, by: User) -> None:
    """Delete an item never charged (a mistake); RecordInUse otherwise: deactivate it."""
    delete_reference(item, by=by, fields=FEE_ITEM_FIELDS, action="fee_item.deleted")


def price_history(item: FeeItem) -> QuerySet[AuditEvent]:
    """The item's audit events, newest first: who created it, and each change of its price,
    class, name or active flag, with the old and new values."""
    return (
        AuditEvent.objects.filter(object_type=FeeItem._meta.label_lower, object_id=str(item.pk))
        .select_related("actor__employee", "actor__patient")
        .order_by("-created_at", "-id")
    )


# Insurance plans, registration fees, allergy classes.


def save_reference(obj: models.Model, *, by: User, fields: Sequence[str], kind: str) -> None:
    """Validate and write reference data `obj` (the catalogue's, billing's payment methods)
    under its lock, with its `<kind>.created` / `<kind>.changed` event when anything
    changed, inside the caller's transaction. The caller checks who may write it."""
    adding = obj._state.adding
    current = None if adding else _locked_current(obj)
    _validate(obj)
    old, new = changed_values(
        {} if current is None else audit_values(current, fields), audit_values(obj, fields)
    )
    if adding:
        obj.save(force_insert=True)
    elif new:
        obj.save(update_fields=list(new))
    if new:
        action = f"{kind}.created" if adding else f"{kind}.changed"
        record_event(actor=by, action=action, obj=obj, old=old, new=new)


@atomic_with_retry
def save_insurance_plan(*, plan: InsurancePlan, by: User) -> InsurancePlan:
    """Create an insurance plan, or save the changes made to it (coverages 0–100 %).
    A plan patients have is deactivated, not deleted: it cannot be chosen any more."""
    ensure_catalogue_writer(by, InsurancePlan)
    plan.name = (plan.name or "").strip()
    _quantize(plan, ["coverage_a", "coverage_b", "coverage_c"], CENT)
    save_reference(plan, by=by, fields=INSURANCE_PLAN_FIELDS, kind="insurance_plan")
    return plan


@atomic_with_retry
def delete_insurance_plan(*, plan: InsurancePlan, by: User) -> None:
    delete_reference(plan, by=by, fields=INSURANCE_PLAN_FIELDS, action="insurance_plan.deleted")


@atomic_with_retry
def save_registration_fee(*, fee: RegistrationFee, by: User) -> RegistrationFee:
    """Map a doctor's rank to its registration fee item (a registration-category item)."""
    ensure_catalogue_writer(by, RegistrationFee)
    save_reference(fee, by=by, fields=REGISTRATION_FEE_FIELDS, kind="registration_fee")
    return fee


@atomic_with_retry
def delete_registration_fee(*, fee: RegistrationFee, by: User) -> None:
    delete_reference(fee, by=by, fields=REGISTRATION_FEE_FIELDS, action="registration_fee.deleted")


@atomic_with_retry
def save_allergy_class(*, allergy_class: AllergyClass, by: User) -> AllergyClass:
    """Create an allergy class, or save the changes made to it. Its code is fixed once made
    (the CSV import names classes by code)."""
    ensure_catalogue_writer(by, AllergyClass)
    allergy_class.code = (allergy_class.code or "").strip()
    if not allergy_class._state.adding:
        current = _locked_current(allergy_class)
        if current.code != allergy_class.code:
            raise InvalidInput(
                details={"code": [_("A class's code is fixed once made; add a new class.")]}
            )
    save_reference(allergy_class, by=by, fields=ALLERGY_CLASS_FIELDS, kind="allergy_class")
    return allergy_class


@atomic_with_retry
def delete_allergy_class(*, allergy_class: AllergyClass, by: User) -> None:
    delete_reference(
        allergy_class, by=by, fields=ALLERGY_CLASS_FIELDS, action="allergy_class.deleted"
    )


# CSV import and export of the fee catalogue.

HEADER = (
    "code",
    "name",
    "category",
    "unit",
    "unit_price",
    "insurance_class",
    "specification",
    "dosage_form",
    "default_usage",
    "dose_unit",
    "doses_per_unit",
    "fractional_quantity",
    "allergy_classes",
    "is_active",
)
ALLERGY_SEPARATOR = "|"
# A catalogue is a few thousand items: a bound on what one upload reads.
MAX_ROWS = 20_000
TRUE_WORDS = {"1", "true", "yes", "y", "是"}
FALSE_WORDS = {"0", "false", "no", "n", "否"}


@dataclass
class FeeCatalogueImport:
    """What an import found: errors by line number (nothing written), or the codes added
    and changed."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    allergy_codes: list[str]


def _flag(text: str, *, default: bool) -> bool:
    word = text.strip().lower()
    if not word:
        return default
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError


def _decimal(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation as error:
        raise ValueError from error
    if not value.is_finite():
        raise ValueError
    return value


def _parse_row(cells: list[str], number: int) -> tuple[_Row | None, str]:
    """One line's cells as field values, or the line's error."""
    if has_control_characters(cells):
        return None, _("A cell holds a line break or another control character.")
    if len(cells) != len(HEADER):
        return None, _("Expected %(expected)d columns (%(n)d found).") % {
            "expected": len(HEADER),
            "n": len(cells),
        }
    raw = dict(zip(HEADER, cells, strict=True))
    values: dict[str, Any] = {
        name: raw[name]
        for name in (
            "code",
            "name",
            "unit",
            "specification",
            "dosage_form",
            "default_usage",
            "dose_unit",
        )
    }
    if not values["code"]:
        return None, _("The code is empty.")
    values["category"] = raw["category"].lower()
    if values["category"] not in FeeCategory.values:
        return None, _("Unknown category “%(value)s” (one of %(choices)s).") % {
            "value": raw["category"],
            "choices": ", ".join(FeeCategory.values),
        }
    values["insurance_class"] = raw["insurance_class"].upper()
    if values["insurance_class"] not in InsuranceClass.values:
        return None, _("Unknown insurance class “%(value)s” (A, B or C).") % {
            "value": raw["insurance_class"]
        }
    for name in ("unit_price", "doses_per_unit"):
        try:
            values[name] = _decimal(raw[name])
        except ValueError:
            return None, _("%(column)s is not a number: “%(value)s”.") % {
                "column": name,
                "value": raw[name],
            }
    if values["unit_price"] is None:
        return None, _("The unit price is empty.")
    for name, default in (("fractional_quantity", False), ("is_active", True)):
        try:
            values[name] = _flag(raw[name], default=default)
        except ValueError:
            return None, _("%(column)s is neither 1 nor 0: “%(value)s”.") % {
                "column": name,
                "value": raw[name],
            }
    allergy_codes = sorted(
        {code.strip() for code in raw["allergy_classes"].split(ALLERGY_SEPARATOR) if code.strip()}
    )
    return _Row(number, values, allergy_codes), ""


def _read_rows(data: bytes, result: FeeCatalogueImport) -> list[_Row]:
    """Every line of the file parsed; errors by line go into `result`."""
    try:
        text = decode_upload(data)
    except ValueError:
        result.errors.append((0, _("The file is not UTF-8 (or GB18030) text.")))
        return []
    rows: list[_Row] = []
    seen: set[str] = set()
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            number = reader.line_num
            cells = [as_written(cell.strip()) for cell in cells]
            if not any(cells):
                continue
            if number == 1 and [cell.lower() for cell in cells] == list(HEADER):
                continue
            if number > MAX_ROWS:
                result.errors.append(
                    (number, _("Too many rows (at most %(n)d).") % {"n": MAX_ROWS})
                )
                break
            row, error = _parse_row(cells, number)
            if row is not None and row.values["code"].upper() in seen:
                error = _("The code %(code)s is in the file twice.") % {"code": row.values["code"]}
            if error:
                result.errors.append((number, error))
                continue
            seen.add(row.values["code"].upper())
            rows.append(row)
    except csv.Error:
        result.errors.append(
            (reader.line_num, _("This line cannot be read as CSV (a quote left open?)."))
        )
    if not rows and not result.errors:
        result.errors.append((0, _("The file has no rows.")))
    return rows


def _field_errors(error: ValidationError) -> str:
    labels = {f.name: str(f.verbose_name) for f in FeeItem._meta.get_fields() if f.concrete}
    parts = []
    for name, messages in error.message_dict.items():
        prefix = "" if name == "__all__" else f"{labels.get(name, name)}: "
        parts.append(prefix + " ".join(messages))
    return "; ".join(parts)


@atomic_with_retry
def import_fee_catalogue(*, data: bytes, by: User) -> FeeCatalogueImport:
    """Import a CSV file into the fee catalogue, all lines or none (see the module's doc).
    The result's errors say which lines are wrong; nothing is written then."""
    ensure_catalogue_writer(by, FeeItem)
    result = FeeCatalogueImport()
    rows = _read_rows(data, result)
    if not rows:
        return result
    # The items the file changes, locked, by code in capitals (MariaDB compares codes so).
    existing = {
        item.code.upper(): item
        for item in FeeItem.objects.select_for_update()
        .alias(code_upper=Upper("code"))
        .filter(code_upper__in=[row.values["code"].upper() for row in rows])
        .order_by("pk")
    }
    classes = {allergy.code: allergy for allergy in AllergyClass.objects.all()}
    planned: list[tuple[FeeItem, list[AllergyClass]]] = []
    for row in rows:
        unknown = [code for code in row.allergy_codes if code not in classes]
        if unknown:
            result.errors.append(
                (
                    row.number,
                    _("Unknown allergy class: %(codes)s.") % {"codes": ", ".join(unknown)},
                )
            )
            continue
        current = existing.get(row.values["code"].upper())
        item = FeeItem() if current is None else current
        for name, value in row.values.items():
            if name == "code" and current is not None:
                continue  # the item's own code, as stored
            setattr(item, name, value)
        try:
            item.full_clean(validate_unique=current is not None)
        except ValidationError as error:
            result.errors.append((row.number, _field_errors(error)))
            continue
        planned.append((item, [classes[code] for code in row.allergy_codes]))
    if result.errors:
        # Every wrong line at once, in the file's order; nothing is written.
        result.errors.sort(key=lambda error: error[0])
        return result
    for item, allergy_classes in planned:
        adding = item._state.adding
        try:
            written = _write_fee_item(item, by=by, allergy_classes=allergy_classes)
        except InvalidInput as error:
            # Another import added the code meanwhile: nothing of this one stays.
            raise RecordInUse(
                _("Another change added some of these codes meanwhile: upload the file again.")
            ) from error
        if written:
            (result.added if adding else result.changed).append(item.code)
    record_event(
        actor=by,
        action="fee_catalogue.imported",
        new={"added": result.added, "changed": result.changed},
    )
    return result


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def fee_catalogue_csv_rows(items: Iterable[FeeItem]) -> Iterable[tuple[str, ...]]:
    """The export, in the import's own columns (a file exported imports back unchanged).
    Give items with their allergy classes prefetched."""
    yield HEADER
    for item in items:
        codes = sorted(allergy.code for allergy in item.allergy_classes.all())
        yield (
            item.code,
            item.name,
            item.category,
            item.unit,
            _cell(item.unit_price),
            item.insurance_class,
            item.specification,
            item.dosage_form,
            item.default_usage,
            item.dose_unit,
            _cell(item.doses_per_unit),
            _cell(item.fractional_quantity),
            ALLERGY_SEPARATOR.join(codes),
            _cell(item.is_active),
        )
