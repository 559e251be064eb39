"""Keeping the stored pinyin search keys (clinic.models.PatientNameKey, FeeItemNameKey) equal
to the names they are read from.

`Patient.save()` and `FeeItem.save()` keep them on every ordinary write (services, Django
Admin, the API). Writes that skip save() — `bulk_create`, `QuerySet.update(name=…)`, imports —
call `rebuild_name_keys(patients)` (or `rebuild_fee_item_name_keys(items)`) afterwards, and
the `rebuild_name_keys` command checks (`--check`) or repairs the keys of everything on file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db import models

from clinic.models import FeeItem, FeeItemNameKey, NameKey, Patient, PatientNameKey

BATCH_SIZE = 2000


def rebuild_name_keys(patients: Iterable[Patient]) -> int:
    """Replace the pinyin keys of these saved patients (after a bulk write of their names).
    Returns how many patients."""
    return PatientNameKey.rebuild(patients)


def rebuild_fee_item_name_keys(items: Iterable[FeeItem]) -> int:
    """Replace the pinyin keys of these saved fee items. Returns how many items."""
    return FeeItemNameKey.rebuild(items)


def _batches(model: type[models.Model]) -> Iterator[list[models.Model]]:
    """Every row's id and name, in batches along the primary key."""
    last = 0
    while True:
        batch = list(
            model.objects.filter(pk__gt=last).only("pk", "name").order_by("pk")[:BATCH_SIZE]
        )
        if not batch:
            return
        yield batch
        last = batch[-1].pk


# What holds names, and its keys.
KEYED: tuple[tuple[type[models.Model], type[NameKey]], ...] = (
    (Patient, PatientNameKey),
    (FeeItem, FeeItemNameKey),
)


def stale_name_keys(*, repair: bool = False) -> dict[str, int]:
    """How many rows of each model have keys other than their name's (by model label); with
    `repair`, their keys are rebuilt as well."""
    found: dict[str, int] = {}
    for model, keys in KEYED:
        count = 0
        for batch in _batches(model):
            stale = keys.stale(batch)
            count += len(stale)
            if repair and stale:
                keys.rebuild(stale)
        found[model._meta.label] = count
    return found
