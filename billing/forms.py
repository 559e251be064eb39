"""Forms of the billing pages for administrators: the statistics filter and its export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateField
from clinic.models import Department
from clinic.statistics import Grouping

# The statistics page's default range: the last 30 days, today included.
DEFAULT_DAYS = 30
# Ten years grouped by day is still a table a browser shows; more is a mistake.
MAX_DAYS = 3660


class StatisticsTable:
    INCOME = "income"
    VISITS = "visits"
    CATEGORIES = "categories"
    METHODS = "methods"
    WINDOWS = "windows"
    CHOICES = (
        (INCOME, _("Income")),
        (CATEGORIES, _("Income by category")),
        (METHODS, _("Income by payment method")),
        (VISITS, _("Visits")),
        (WINDOWS, _("Visits by window")),
    )


class StatisticsForm(forms.Form):
    start_date = DateField(label=_("From"))
    end_date = DateField(label=_("To (inclusive)"))
    group_by = forms.ChoiceField(label=_("Group by"), choices=Grouping.choices)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
        help_text=_("For the visits by window."),
    )

    @classmethod
    def from_query(cls, query: QueryDict, *, today: dt.date | None = None) -> StatisticsForm:
        """Bound to the query string, with the defaults for whatever it leaves out."""
        today = today or timezone.localdate()
        data: dict[str, Any] = {
            "start_date": (today - dt.timedelta(days=DEFAULT_DAYS - 1)).isoformat(),
            "end_date": today.isoformat(),
            "group_by": Grouping.DAY,
        }
        data.update({key: query[key] for key in query if key in cls.base_fields})
        return cls(data)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end:
            if start > end:
                self.add_error("end_date", _("The end date is before the start date."))
            elif (end - start).days + 1 > MAX_DAYS:
                self.add_error(
                    "end_date",
                    _("Choose at most %(days)d days.") % {"days": MAX_DAYS},
                )
        return cleaned


class StatisticsExportForm(StatisticsForm):
    table = forms.ChoiceField(label=_("Table"), choices=StatisticsTable.CHOICES)
