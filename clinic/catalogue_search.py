"""The one search of the fee catalogue: the doctor's order box, Django Admin and the API.

A typed text finds items whose code begins with it, or whose name begins with it (any case,
full-width letters and digits read as ASCII). Both are prefixes on indexed columns (the code's
unique index, `fee_item_name_idx`), written with `istartswith` so that MariaDB reads a range
of the index (see clinic.search.prefix_lookup). Latin letters (and spaces) also find items
one of whose stored pinyin keys begins with them (`FeeItemNameKey`, the same keys as patients':
full pinyin `amoxilin` or initials `amxl`, spaces and case ignored; clinic.pinyin), a range of
the key index. Codes first, then names, each alphabetical.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from clinic.models import ORDERABLE_CATEGORIES, FeeItem, FeeItemNameKey
from clinic.search import fold_text, pinyin_term, prefix_lookup

MAX_TEXT = 50


def fee_item_filter(text: str | None) -> Q | None:
    """Items whose code or name begins with the text; None when nothing was typed."""
    typed = fold_text(text)[:MAX_TEXT]
    if not typed:
        return None
    found = prefix_lookup("code", typed) | prefix_lookup("name", typed)
    pinyin = pinyin_term(typed)
    if pinyin is not None and not pinyin.phone:
        keys = FeeItemNameKey.objects.filter(prefix_lookup("key", pinyin.key))
        found |= Q(pk__in=keys.values("item"))
    return found


def matching_fee_items(
    text: str | None, *, orderable: bool = False, queryset: QuerySet[FeeItem] | None = None
) -> QuerySet[FeeItem]:
    """The items a text finds (all items when it is empty), codes matching first.

    `orderable`: only what a doctor may order now (active, not a registration fee)."""
    items = FeeItem.objects.all() if queryset is None else queryset
    if orderable:
        items = items.filter(is_active=True, category__in=ORDERABLE_CATEGORIES)
    found = fee_item_filter(text)
    if found is None:
        return items.order_by("category", "code")
    typed = fold_text(text)[:MAX_TEXT]
    return (
        items.filter(found)
        .annotate(
            code_first=Case(
                When(code__istartswith=typed, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("code_first", "code", "name")
    )
