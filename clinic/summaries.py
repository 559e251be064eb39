"""What the daily summary tables (visits, income) share: a row per clinic-local day,
department and doctor, recomputable from the detail rows and comparable with them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, ClassVar

from django.db import models, router, transaction


class DailySummary(models.Model):
    """A summary model lists its key columns (`KEY`, the date first) and counters
    (`FIGURES`), and defines `detail_totals(start_date=, end_date=)`: its rows as computed
    from the detail, grouped in SQL (a queryset of dicts, or a list of them)."""

    KEY: ClassVar[tuple[str, ...]]
    FIGURES: ClassVar[tuple[str, ...]]

    class Meta:
        abstract = True

    @classmethod
    def _from_detail(cls, row: dict[str, Any]) -> dict[str, Any]:
        """A detail_totals() row as the summary row's field values."""
        return row

    @classmethod
    def _in_range(
        cls, rows: models.QuerySet, start_date: dt.date | None, end_date: dt.date | None
    ) -> models.QuerySet:
        """`rows` (the summary's, or detail rows with a date field of the same name) of
        the days from `start_date` to `end_date`, both included."""
        day = cls.KEY[0]
        if start_date is not None:
            rows = rows.filter(**{f"{day}__gte": start_date})
        if end_date is not None:
            rows = rows.filter(**{f"{day}__lte": end_date})
        return rows

    @classmethod
    def rebuild(
        cls,
        *,
        start_date: dt.date | None = None,
        end_date: dt.date | None = None,
        batch_size: int = 2000,
    ) -> int:
        """Recompute the rows of a date range (all dates by default) from the detail.

        One transaction: the old rows are deleted first (which waits for transactions
        still writing to them), then the detail is read and the new rows inserted. Meant
        for repairs and bulk loads; run it for past days, or when the desk is closed.
        Returns the number of rows written.
        """
        written = 0
        with transaction.atomic(using=router.db_for_write(cls)):
            cls._in_range(cls.objects.all(), start_date, end_date).delete()
            batch: list[DailySummary] = []
            rows = cls.detail_totals(start_date=start_date, end_date=end_date)
            if isinstance(rows, models.QuerySet):
                rows = rows.iterator(chunk_size=batch_size)
            for row in rows:
                batch.append(cls(**cls._from_detail(row)))
                if len(batch) >= batch_size:
                    cls.objects.bulk_create(batch)
                    written += len(batch)
                    batch = []
            if batch:
                cls.objects.bulk_create(batch)
                written += len(batch)
        return written

    rebuild.alters_data = True

    @classmethod
    def _as_stored(cls, values: dict[str, Any]) -> tuple:
        """The figures as the summary's columns hold them: money to its decimal places.
        SQLite sums decimals in binary floating point (1.15 - 1.05 gives 0.0999…), which
        saving a row rounds anyway (rebuild())."""
        figures = []
        for name in cls.FIGURES:
            value = values[name]
            field = cls._meta.get_field(name)
            if isinstance(field, models.DecimalField) and value is not None:
                value = Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places))
            figures.append(value)
        return tuple(figures)

    @classmethod
    def differences(
        cls, *, start_date: dt.date | None = None, end_date: dt.date | None = None
    ) -> list[dict]:
        """Where the summary and the detail disagree (empty when they agree): one dict per
        key (`KEY`'s names) with both sides' figures (`FIGURES` order). Both sides
        aggregate in SQL."""
        detail = {}
        for row in cls.detail_totals(start_date=start_date, end_date=end_date):
            values = cls._from_detail(row)
            detail[tuple(values[k] for k in cls.KEY)] = cls._as_stored(values)
        rows = cls._in_range(cls.objects.all(), start_date, end_date)
        summary = {
            tuple(row[: len(cls.KEY)]): tuple(row[len(cls.KEY) :])
            for row in rows.values_list(*cls.KEY, *cls.FIGURES)
        }
        return [
            {
                **dict(zip(cls.KEY, key, strict=True)),
                "detail": detail.get(key),
                "summary": summary.get(key),
            }
            for key in sorted(detail.keys() | summary.keys())
            if detail.get(key) != summary.get(key)
        ]
