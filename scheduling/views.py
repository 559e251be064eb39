"""Administrators' week planner: a week of schedules from a pattern, or last week's copied.

Both pages post the same three choices: check only, create all (nothing when any schedule
is invalid), or create the valid ones; both answer with one line per schedule.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from clinic.models import Role
from clinic.roles import role_required
from scheduling.forms import CopyWeekForm, PatternFormSet, WeekForm, next_monday, pattern_choices
from scheduling.models import Schedule
from scheduling.services import BatchMode, BatchResult, copy_week_forward, create_week


def _mode(request: HttpRequest) -> str:
    value = request.POST.get("mode", "")
    return value if value in BatchMode.values else BatchMode.CHECK


def _report(request: HttpRequest, result: BatchResult) -> int:
    """Tell the admin what happened; the status code of the page that shows it."""
    counts = {"created": result.created, "invalid": result.invalid, "total": len(result.rows)}
    if not result.rows:
        messages.warning(request, _("There is nothing to create for this week."))
        return 200
    if result.mode == BatchMode.CHECK:
        if result.invalid:
            messages.warning(
                request,
                _("%(invalid)d of %(total)d schedules have problems; nothing was created.")
                % counts,
            )
        else:
            messages.info(
                request,
                _("All %(total)d schedules can be created; nothing was created yet.") % counts,
            )
        return 200
    if result.mode == BatchMode.ALL_OR_NOTHING and result.invalid:
        messages.error(
            request,
            _(
                "Nothing was created: %(invalid)d of %(total)d schedules have problems. Fix "
                "them, or create only the valid ones."
            )
            % counts,
        )
        return 400
    if result.invalid:
        messages.warning(
            request,
            _("%(created)d schedules created; %(invalid)d with problems were left out.") % counts,
        )
    else:
        messages.success(request, _("%(created)d schedules created.") % counts)
    return 200


def _week_of(schedules: list[Schedule]) -> dict[str, Any]:
    if not schedules:
        return {}
    dates = [schedule.work_date for schedule in schedules]
    return {"start": min(dates), "end": max(dates)}


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def planner(request: HttpRequest) -> HttpResponse:
    """A week of schedules from a pattern: doctor × room × weekdays × slots × places."""
    choices = pattern_choices()
    result = None
    status = 200
    if request.method == "POST":
        week_form = WeekForm(request.POST)
        formset = PatternFormSet(request.POST, prefix="pattern", form_kwargs=choices)
        if week_form.is_valid() and formset.is_valid():
            result = create_week(
                week=week_form.cleaned_data["week"],
                lines=formset.lines(),
                mode=_mode(request),
                by=request.user,
            )
            status = _report(request, result)
        else:
            status = 400
    else:
        week_form = WeekForm(initial={"week": next_monday()})
        formset = PatternFormSet(prefix="pattern", form_kwargs=choices)
    return render(
        request,
        "scheduling/planner.html",
        {
            "week_form": week_form,
            "formset": formset,
            "result": result,
            "modes": BatchMode,
            "span": _week_of([row.schedule for row in result.rows]) if result else {},
        },
        status=status,
    )


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def copy_week(request: HttpRequest) -> HttpResponse:
    """The schedules of one week, copied one week forward."""
    result = None
    status = 200
    if request.method == "POST":
        form = CopyWeekForm(request.POST)
        if form.is_valid():
            result = copy_week_forward(
                week=form.cleaned_data["week"], mode=_mode(request), by=request.user
            )
            status = _report(request, result)
        else:
            status = 400
    else:
        form = CopyWeekForm(initial={"week": next_monday()})
    return render(
        request,
        "scheduling/copy_week.html",
        {
            "form": form,
            "result": result,
            "modes": BatchMode,
            "span": _week_of([row.schedule for row in result.rows]) if result else {},
        },
        status=status,
    )
