"""Appointment pages: patients book, see and cancel their own; the desk's day list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments import waitlist
from appointments.forms import (
    SERVICE_ERROR_FIELDS,
    BookingForm,
    CancelForm,
    DeskFilterForm,
    DeskWaitlistFilterForm,
    PhoneBookingForm,
)
from appointments.models import CHECKED_IN, Appointment, WaitlistEntry
from appointments.no_shows import lift_no_show_block, online_booking_blocked_until
from appointments.selectors import appointments_visible_to, get_appointment_for
from appointments.services import book_appointment
from clinic.exceptions import ClinicError
from clinic.forms import apply_clinic_error
from clinic.models import Patient, Role, User
from clinic.roles import DESK_ROLES, role_required
from clinic.urls_utils import id_param, safe_next_url
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule, TimeSlot, half_day_slot_at
from scheduling.selectors import WindowAvailability, window_availability

# What a desk row reads of a booking (the rest stays in the database).
DESK_ROW_FIELDS = (
    "reference",
    "patient_name",
    "department",
    "schedule",
    "window",
    "expected_time",
    "status",
    "visit__queue_number",
)


def _availability_for(
    data: dict, *, now: dt.datetime, for_patient: bool
) -> list[WindowAvailability]:
    """The windows of the department and date the form currently names (may be partial)."""
    form = BookingForm(data, now=now)
    form.is_valid()
    department, date = form.cleaned_data.get("department"), form.cleaned_data.get("date")
    if department is None or date is None:
        return []
    return window_availability(
        department=department, work_date=date, now=now, for_patient=for_patient
    )


@dataclass(frozen=True)
class HalfDay:
    """The windows shown under one heading: a morning's or an afternoon's."""

    label: str
    windows: list[WindowAvailability]


def _half_days(windows: list[WindowAvailability]) -> list[HalfDay]:
    """The windows under their half-day (those starting in the break cannot be booked)."""
    halves: dict[str, list[WindowAvailability]] = {}
    for window in windows:
        if window.time_slot is not None:
            halves.setdefault(window.time_slot, []).append(window)
    return [HalfDay(str(TimeSlot(half).label), rows) for half, rows in halves.items()]


def _doctors_of(windows: list[WindowAvailability]) -> list[dict]:
    """Each doctor working that day, with their free places that day (windows not ended)."""
    doctors: dict[int, dict] = {}
    for window in windows:
        for place in window.doctors:
            entry = doctors.setdefault(place.doctor_id, {"doctor": place, "remaining": 0})
            if not window.has_ended:
                entry["remaining"] += place.remaining
    return list(doctors.values())


def _booking_page(
    request: HttpRequest,
    *,
    form_class: type[BookingForm],
    template: str,
    book: Callable[[BookingForm, dt.datetime], Appointment],
    for_patient: bool,
    extra: dict | None = None,
) -> HttpResponse:
    """The booking page shared by patients and the desk's phone booking.

    GET shows the form with the availability of the chosen department and date; with htmx,
    only the availability panel is rendered (same URL), asked with those two fields alone.
    Patients see a window kept for the desk as full (`for_patient`); the desk may book it.
    POST books through the booking service (a domain error comes back on the form with its
    4xx status), or, from the "show free places" button of a browser without JavaScript,
    shows the availability again with what was typed: never through a GET, which would put
    the CSRF token and the caller's details into the address bar and the history.
    """
    now = timezone.now()
    status = 200
    alternatives: list[dict] = []
    waitlist_join = ""  # a full window ("2030-03-04 09:30–10:00"): offer to wait there
    if request.method == "POST" and "show" in request.POST:
        data = request.POST
        form = form_class(initial=data.dict(), now=now)
    elif request.method == "POST":
        form = form_class(request.POST, now=now)
        if form.is_valid():
            try:
                appointment = book(form, now)
            except ClinicError as error:
                apply_clinic_error(form, error, SERVICE_ERROR_FIELDS)
                if isinstance(error, NoCapacity):
                    alternatives = error.details.get("alternatives", [])
                    waitlist_join = " ".join(
                        str(error.details.get(key, "")) for key in ("date", "window")
                    ).strip()
                status = error.status
            else:
                messages.success(
                    request,
                    _("Booked: reference %(reference)s.") % {"reference": appointment.reference},
                )
                return redirect("appointments:detail", pk=appointment.pk)
        else:
            status = 400
        data = request.POST
    else:
        data = request.GET.copy()
        data.setdefault("date", timezone.localdate(now).isoformat())
        form = form_class(initial=data.dict(), now=now)
    windows = _availability_for(data, now=now, for_patient=for_patient)
    context = {
        "form": form,
        "half_days": _half_days(windows),
        "doctors": _doctors_of(windows),
        "show_desk_only": not for_patient,
        "selected_window": data.get("window", ""),
        "selected_doctor": data.get("doctor", ""),
        "alternatives": alternatives,
        "alternative_department": data.get("department", ""),
        # A one-click alternative re-posts what the caller already gave (name, phone, ...).
        "alternatives_carry": [
            (name, data.get(name, ""))
            for name in form.fields
            if name not in ("department", "date", "window", "doctor")
        ],
        "waitlist_join": waitlist_join,
        "waitlist_carry": [(name, data.get(name, "")) for name in form.fields],
        **(extra or {}),
    }
    if request.htmx and request.method == "GET":
        template = "appointments/partials/availability.html"
    return render(request, template, context, status=status)


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """Patients book for themselves."""
    return _booking_page(
        request,
        form_class=BookingForm,
        template="appointments/book.html",
        book=lambda form, now: book_appointment(
            by=request.user,
            department=form.cleaned_data["department"],
            expected_time=form.expected_time,
            doctor=form.cleaned_data["doctor"],
            now=now,
        ),
        for_patient=True,
        extra={
            **_own_booking_context(request),
            "waitlist_join_url": reverse("appointments:waitlist-join"),
        },
    )


def _own_booking_context(request: HttpRequest) -> dict:
    """The patient's record, and the date online booking opens again for them (None when it
    is open): the booking page and the list say so before the patient fills anything in."""
    patient = Patient.objects.filter(user=request.user).first()
    return {
        "patient": patient,
        "blocked_until": online_booking_blocked_until(patient, timezone.localdate()),
    }


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def phone_booking(request: HttpRequest) -> HttpResponse:
    """The desk books for a caller on the phone, by name and phone number."""
    return _booking_page(
        request,
        form_class=PhoneBookingForm,
        template="appointments/phone_booking.html",
        book=lambda form, now: book_appointment(
            by=request.user,
            department=form.cleaned_data["department"],
            expected_time=form.expected_time,
            doctor=form.cleaned_data["doctor"],
            patient_name=form.cleaned_data["patient_name"],
            phone=form.cleaned_data["phone"],
            id_card=form.cleaned_data["id_card"],
            now=now,
        ),
        for_patient=False,
        extra={"waitlist_join_url": reverse("appointments:desk-waitlist-join")},
    )


@role_required(Role.PATIENT)
def my_appointments(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    today_list, upcoming, past = [], [], []
    for appointment in appointments_visible_to(request.user).order_by("-expected_time", "-id"):
        # A booking checked in stays with today's until the visit is over (display_status).
        current = appointment.is_live or appointment.display_status == CHECKED_IN
        work_date = appointment.schedule.work_date
        if current and work_date == today:
            today_list.append(appointment)
        elif current and work_date > today:
            upcoming.append(appointment)
        else:
            past.append(appointment)
    today_list.reverse()  # soonest first
    upcoming.reverse()
    return render(
        request,
        "appointments/my_appointments.html",
        {
            **_own_booking_context(request),
            "today_appointments": today_list,
            "upcoming": upcoming,
            "past": past,
            "waitlist_entries": _my_waitlist(request.user),
        },
    )


@role_required(Role.PATIENT, *DESK_ROLES)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for(request.user, pk)
    return render(
        request,
        "appointments/detail.html",
        {
            "appointment": appointment,
            "check_in_early_minutes": settings.CLINIC_CHECK_IN_EARLY_MINUTES,
        },
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation step (GET), then the cancellation (POST), which frees the place."""
    appointment = get_appointment_for(request.user, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            appointment.cancel(by=request.user, reason=form.cleaned_data["reason"])
        except ClinicError as error:
            apply_clinic_error(form, error)
            status = error.status
        else:
            messages.success(request, _("Your appointment is cancelled."))
            return redirect("appointments:my-appointments")
    return render(
        request,
        "appointments/cancel.html",
        {"appointment": appointment, "form": form},
        status=status,
    )


@dataclass(frozen=True)
class DeskRow:
    """An appointment with the moves the desk may make on it now: its row's buttons."""

    appointment: Appointment
    actions: frozenset[str]
    # Read here, not in the template: a booking not checked in has no visit, and
    # `appointment.visit` would raise in every such row, a slow failed lookup for the template
    # (the exception, then a dir() of the instance).
    queue_number: int | None
    # A live booking whose window is over: the patient may still check in, and queues after
    # the window running then.
    late: bool = False

    @classmethod
    def of(cls, appointment: Appointment, now: dt.datetime) -> DeskRow:
        visit = getattr(appointment, "visit", None)
        return cls(
            appointment=appointment,
            actions=frozenset(appointment.desk_actions(now)),
            queue_number=visit.queue_number if visit is not None else None,
            late=appointment.is_live and appointment.is_late(now),
        )


def desk_labels() -> dict[str, str]:
    """The rows' button labels and the moves' addresses, translated and reversed once per
    answer rather than once per row (a day holds hundreds of rows); the row partial is also
    rendered alone, after a move."""
    return {
        "confirm_url": reverse("appointments:desk-confirm"),
        "no_show_url": reverse("appointments:desk-no-show"),
        "cancel_url": reverse("appointments:desk-cancel"),
        "check_in": _("Check in"),
        "confirm": _("Confirm"),
        "no_show": _("No-show"),
        "cancel": _("Cancel…"),
        "reason": _("Reason"),
        "cancel_submit": _("Cancel appointment"),
        "queue": _("Queue"),
        "late": _("Late"),
        "late_title": _("Their time window is over"),
    }


@role_required(*DESK_ROLES)
def desk(request: HttpRequest) -> HttpResponse:
    """The day's appointments with the moves that are legal now, row by row."""
    today = timezone.localdate()
    filters = DeskFilterForm(request.GET or None, initial={"date": today})
    filters.is_valid()
    chosen = filters.cleaned_data if filters.is_bound else {}
    day = chosen.get("date") or today
    appointments = (
        Appointment.objects.filter(schedule__work_date=day)
        .only(*DESK_ROW_FIELDS)
        .select_related("visit")
        # A day's bookings share a few dozen schedules and departments: fetched once each and
        # shared between rows, instead of joined and built again for every row.
        .prefetch_related(
            Prefetch("schedule", queryset=Schedule.objects.select_related("doctor", "room")),
            "department",
            "window",
        )
        .order_by("expected_time", "id")
    )
    if chosen.get("department"):
        appointments = appointments.filter(department=chosen["department"])
    if chosen.get("status"):
        appointments = appointments.filter(status=chosen["status"])
    now = timezone.now()
    return render(
        request,
        "appointments/desk.html",
        {
            "day": day,
            "filters": filters,
            "rows": [DeskRow.of(appointment, now) for appointment in appointments],
            "labels": desk_labels(),
            "next_url": request.get_full_path(),
            # The row partial, shared with the moves, shows a failed move's error: none here.
            "error": None,
        },
    )


def _desk_move(request: HttpRequest, move: Callable[[Appointment], None]) -> HttpResponse:
    """Run one desk move on the appointment the button names; htmx gets the re-rendered row
    (with the error, if any, and its 4xx status), a plain form post is redirected back to the
    list."""
    pk = id_param(request.POST.get("appointment"))
    if pk is None:
        raise Http404
    appointment = get_appointment_for(request.user, pk)
    error: ClinicError | None = None
    try:
        move(appointment)
    except ClinicError as caught:
        error = caught
    if not request.htmx:
        if error is not None:
            messages.error(request, error.message)
        return redirect(safe_next_url(request, default=reverse("appointments:desk")))
    appointment = get_appointment_for(request.user, int(pk))
    return render(
        request,
        "appointments/desk.html#appointment-row",
        {
            "row": DeskRow.of(appointment, timezone.now()),
            "labels": desk_labels(),
            "error": error,
            "next_url": safe_next_url(request, default=reverse("appointments:desk")),
        },
        status=error.status if error is not None else 200,
    )


@role_required(*DESK_ROLES)
@require_POST
def desk_confirm(request: HttpRequest) -> HttpResponse:
    return _desk_move(request, lambda appointment: appointment.confirm(by=request.user))


@role_required(*DESK_ROLES)
@require_POST
def desk_cancel(request: HttpRequest) -> HttpResponse:
    reason = CancelForm(request.POST)
    reason.is_valid()
    return _desk_move(
        request,
        lambda appointment: appointment.cancel(
            by=request.user, reason=reason.cleaned_data.get("reason", "")
        ),
    )


@role_required(*DESK_ROLES)
@require_POST
def desk_no_show(request: HttpRequest) -> HttpResponse:
    return _desk_move(request, lambda appointment: appointment.mark_no_show(by=request.user))


@role_required(*DESK_ROLES)
@require_POST
def lift_no_show_block_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk lets a patient blocked by the no-show policy book online again (the button
    of the desk's patient page, appointments/partials/no_show_history.html)."""
    patient = get_object_or_404(Patient, pk=pk)
    try:
        lift_no_show_block(patient=patient, by=request.user)
    except ClinicError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The patient can book online again."))
    return redirect(reverse("visits:patient", args=[patient.pk]) + "#no-shows")


# --- The waitlist -------------------------------------------------------------------------


def _my_waitlist(user: User) -> list[WaitlistEntry]:
    """A patient's waitlist entries from today on: offers and waiting first, then the rest."""
    entries = waitlist.entries_visible_to(user).filter(work_date__gte=timezone.localdate())
    return sorted(entries, key=lambda entry: (not entry.is_live, entry.work_date, entry.pk))


def _booking_again(name: str, data: dict) -> str:
    """The booking page for the department and date a join came from."""
    query = urlencode({key: data.get(key, "") for key in ("department", "date")})
    return f"{reverse(name)}?{query}"


def _join(
    request: HttpRequest,
    *,
    form_class: type[BookingForm],
    page: str,
    join: Callable[[BookingForm], WaitlistEntry],
    done: Callable[[WaitlistEntry], str],
) -> HttpResponse:
    """Join the waitlist of the window a booking found full (the booking page's form, sent
    again with the "Join the waitlist" button); back to the booking page with the reason
    when it cannot be done."""
    form = form_class(request.POST)
    if form.is_valid():
        try:
            entry = join(form)
        except ClinicError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("You are on the waitlist for %(date)s %(window)s.")
                % {"date": entry.work_date.isoformat(), "window": entry.window_label},
            )
            return redirect(done(entry))
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect(_booking_again(page, request.POST))


@role_required(Role.PATIENT)
@require_POST
def waitlist_join(request: HttpRequest) -> HttpResponse:
    """A patient waits for a place in the window their booking found full."""
    return _join(
        request,
        form_class=BookingForm,
        page="appointments:book",
        join=lambda form: waitlist.join(
            by=request.user,
            department=form.cleaned_data["department"],
            expected_time=form.expected_time,
            doctor=form.cleaned_data["doctor"],
        ),
        done=lambda entry: reverse("appointments:my-appointments") + "#waitlist",
    )


def _waitlist_move(
    request: HttpRequest, pk: int, move: Callable[[WaitlistEntry], object], success: str
) -> tuple[WaitlistEntry, ClinicError | None, object]:
    entry = waitlist.get_entry_for(request.user, pk)
    try:
        result = move(entry)
    except ClinicError as error:
        return entry, error, None
    messages.success(request, success)
    return entry, None, result


def _my_waitlist_answer(request: HttpRequest, error: ClinicError | None) -> HttpResponse:
    """htmx: the patient's waitlist section again (with the error); else back to the page."""
    if request.htmx:
        return render(
            request,
            "appointments/partials/waitlist_entries.html",
            {"waitlist_entries": _my_waitlist(request.user), "waitlist_error": error},
            status=error.status if error is not None else 200,
        )
    if error is not None:
        messages.error(request, error.message)
    return redirect(reverse("appointments:my-appointments") + "#waitlist")


@role_required(Role.PATIENT)
@require_POST
def waitlist_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """The offered place taken: it is the patient's appointment now."""
    _entry, error, appointment = _waitlist_move(
        request,
        pk,
        lambda entry: waitlist.accept(by=request.user, entry=entry),
        _("The place is yours: it is booked."),
    )
    if error is not None:
        return _my_waitlist_answer(request, error)
    if request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("appointments:detail", args=[appointment.pk])
        return response
    return redirect("appointments:detail", pk=appointment.pk)


@role_required(Role.PATIENT)
@require_POST
def waitlist_decline(request: HttpRequest, pk: int) -> HttpResponse:
    _entry, error, _result = _waitlist_move(
        request,
        pk,
        lambda entry: waitlist.decline(by=request.user, entry=entry),
        _("Offer declined: the place goes to the next person waiting."),
    )
    return _my_waitlist_answer(request, error)


@role_required(Role.PATIENT)
@require_POST
def waitlist_leave(request: HttpRequest, pk: int) -> HttpResponse:
    _entry, error, _result = _waitlist_move(
        request,
        pk,
        lambda entry: waitlist.leave(by=request.user, entry=entry),
        _("You have left the waitlist."),
    )
    return _my_waitlist_answer(request, error)


def _desk_waitlist_url(entry: WaitlistEntry) -> str:
    query = urlencode(
        {
            "department": entry.department_id,
            "date": entry.work_date.isoformat(),
            "slot": entry.time_slot,
        }
    )
    return f"{reverse('appointments:desk-waitlist')}?{query}"


@role_required(*DESK_ROLES)
@require_POST
def desk_waitlist_join(request: HttpRequest) -> HttpResponse:
    """The desk puts a caller on the waitlist of the window their phone booking found full."""
    return _join(
        request,
        form_class=PhoneBookingForm,
        page="appointments:phone-booking",
        join=lambda form: waitlist.join(
            by=request.user,
            department=form.cleaned_data["department"],
            expected_time=form.expected_time,
            doctor=form.cleaned_data["doctor"],
            patient_name=form.cleaned_data["patient_name"],
            phone=form.cleaned_data["phone"],
        ),
        done=_desk_waitlist_url,
    )


def _slot_entries(department: object, work_date: dt.date, slot: str) -> list[WaitlistEntry]:
    return list(
        WaitlistEntry.objects.filter(department=department, work_date=work_date, time_slot=slot)
        .select_related("doctor", "offered_schedule__doctor", "offered_window", "appointment")
        .order_by("created_at", "id")
    )


@role_required(*DESK_ROLES)
def desk_waitlist(request: HttpRequest) -> HttpResponse:
    """A slot's waitlist in order (first come first), with its offers and their expiry:
    accept for a caller on the phone, or take someone off the list."""
    data = request.GET.copy()
    data.setdefault("date", timezone.localdate().isoformat())
    data.setdefault("slot", half_day_slot_at(timezone.localtime().time()) or TimeSlot.MORNING)
    filters = DeskWaitlistFilterForm(data)
    entries: list[WaitlistEntry] = []
    if filters.is_valid():
        chosen = filters.cleaned_data
        entries = _slot_entries(chosen["department"], chosen["date"], chosen["slot"])
    return render(
        request,
        "appointments/desk_waitlist.html",
        {
            "filters": filters,
            "entries": entries,
            "now": timezone.now(),
            "next_url": request.get_full_path(),
        },
    )


def _desk_waitlist_move(
    request: HttpRequest, pk: int, move: Callable[[WaitlistEntry], object], success: str
) -> HttpResponse:
    entry, error, _result = _waitlist_move(request, pk, move, success)
    if error is not None:
        messages.error(request, error.message)
    return redirect(safe_next_url(request, default=_desk_waitlist_url(entry)))


@role_required(*DESK_ROLES)
@require_POST
def desk_waitlist_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """A caller on the phone takes the place offered to them."""
    return _desk_waitlist_move(
        request,
        pk,
        lambda entry: waitlist.accept(by=request.user, entry=entry),
        _("Offer accepted: the place is booked."),
    )


@role_required(*DESK_ROLES)
@require_POST
def desk_waitlist_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """Off the waitlist; a place held for them goes to the next in line."""
    return _desk_waitlist_move(
        request,
        pk,
        lambda entry: waitlist.leave(by=request.user, entry=entry),
        _("Taken off the waitlist."),
    )
