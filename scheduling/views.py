"""Administrators' week planner: a week of schedules from a pattern, or last week's copied.

Both pages post the same three choices: check only, create all (nothing when any schedule
is invalid), or create the valid ones; both answer with one line per schedule.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from clinic.models import Role
from clinic.roles import role_required
from scheduling.forms import (
    DOCTOR_FIELD_NAME,
    CopyWeekForm,
    PatternFormSet,
    PatternRowForm,
    PlannerWeekForm,
    pattern_choices,
)
from scheduling.models import Schedule
from scheduling.selectors import first_unscheduled_week, week_grid
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


def _shown_week(request: HttpRequest) -> tuple[PlannerWeekForm, dt.date, bool]:
    """The week a GET shows: the one asked for (?week=, any day of it), or else the proposal,
    the first week without schedules (scheduling.selectors.first_unscheduled_week). Returns
    the week form, the week's Monday and whether that is the proposal."""
    if "week" in request.GET:
        form = PlannerWeekForm(request.GET)
        if form.is_valid():
            return form, form.cleaned_data["week"], False
        return form, first_unscheduled_week(), True
    proposal = first_unscheduled_week()
    return PlannerWeekForm(initial={"week": proposal}), proposal, True


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def planner(request: HttpRequest) -> HttpResponse:
    """A week of schedules from a pattern: doctor × room × weekdays × slots × places, beside
    the week's existing schedules. An HTMX GET (another week chosen) answers with the grid."""
    choices = pattern_choices()
    result = None
    status = 200
    proposed = False
    if request.method == "POST":
        week_form = PlannerWeekForm(request.POST)
        formset = PatternFormSet(request.POST, prefix="pattern", form_kwargs=choices)
        if week_form.is_valid() and formset.is_valid():
            result = create_week(
                week=week_form.cleaned_data["week"],
                lines=formset.lines(),
                mode=_mode(request),
                by=request.user,
            )
            status = _report(request, result)
            week = week_form.cleaned_data["week"]
        else:
            status = 400
            week = week_form.cleaned_data.get("week") or first_unscheduled_week()
    else:
        week_form, week, proposed = _shown_week(request)
        if week_form.errors:
            status = 400
        formset = PatternFormSet(prefix="pattern", form_kwargs=choices)
    context = {
        "week_form": week_form,
        "formset": formset,
        "result": result,
        "modes": BatchMode,
        "span": _week_of([row.schedule for row in result.rows]) if result else {},
        "grid": week_grid(week=week),
        "proposed": proposed,
    }
    template = "scheduling/planner.html"
    if request.htmx and request.method == "GET":
        template += "#week-grid"
    return render(request, template, context, status=status)


@role_required(Role.ADMIN)
@require_GET
def planner_rooms(request: HttpRequest) -> HttpResponse:
    """A pattern line's room select, offering only the rooms of the doctor chosen on that line
    (the doctor's select asks on change, HTMX naming it in HX-Trigger-Name; ?field= names it
    otherwise). The choice is checked again when the pattern is posted."""
    name = (request.htmx.trigger_name if request.htmx else None) or request.GET.get("field", "")
    match = DOCTOR_FIELD_NAME.match(name)
    if match is None:
        return HttpResponseBadRequest(_("Which line's doctor was chosen is missing."))
    form = PatternRowForm(
        initial={"doctor": request.GET.get(name, "")}, prefix=match["prefix"], **pattern_choices()
    )
    return HttpResponse(str(form["room"]))


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
        form = CopyWeekForm(initial={"week": first_unscheduled_week()})
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
