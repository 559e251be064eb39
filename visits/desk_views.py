"""The front desk's visit pages: search, check-in with its slip, walk-ins, the live board."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments.selectors import get_appointment_for
from clinic.exceptions import ClinicError, InvalidInput
from clinic.forms import apply_clinic_error
from clinic.models import AuditEvent, Department, Patient, User, department_name_in_language
from clinic.privacy import mask_id_card, mask_phone
from clinic.roles import DESK_ROLES, role_required
from clinic.search import field_terms, matching_patients, parse_term
from clinic.templatetags.clinic_format import duration_since
from clinic.urls_utils import id_param
from notifications.views import patient_message_panel
from scheduling.models import OVERLAPPING_SLOTS, Schedule
from visits import arrival
from visits.exceptions import AlreadyInQueue
from visits.forms import (
    SERVICE_ERROR_FIELDS,
    CheckInForm,
    LinkAccountForm,
    PatientDetailsForm,
    PatientSearchForm,
    WalkInForm,
)
from visits.identity import (
    correct_patient_details,
    link_online_account,
    recent_links,
    unlink_online_account,
    verify_id_card,
    withdraw_unverified_id_card,
)
from visits.models import Visit, VisitStatus
from visits.search import SearchResults, desk_search
from visits.selectors import unfinished_visits_by_patient
from visits.services import check_in, register_walk_in, walk_in_slot
from visits.waits import attach_expected_waits

BOARD_COLUMNS = (
    VisitStatus.WAITING,
    VisitStatus.IN_CONSULTATION,
    VisitStatus.AWAITING_PAYMENT,
    VisitStatus.LEFT,
)
VISIT_RELATIONS = ("patient", "department", "schedule__doctor", "schedule__room", "window")


@role_required(*DESK_ROLES)
def search(request: HttpRequest) -> HttpResponse:
    """The desk's one search box: each result leads to its next action. A booking found by
    its whole phone or ID number carries the proof of that check to its check-in page."""
    results = desk_search(request.GET.get("q", ""))
    _sign_check_in_proofs(results, by=request.user)
    template = "visits/partials/search_results.html" if request.htmx else "visits/search.html"
    return render(request, template, {"results": results, "search_query": results.query})


def _sign_check_in_proofs(results: SearchResults, *, by: User) -> None:
    """Each booking open for check-in gets the proof of the checks this search made for it
    (`check_in_proof`, "" for none), for its "check in" link."""
    for appointment in results.appointments:
        checks = (
            arrival.checks_found_by_search(
                appointment, results.term, id_holder_ids=results.id_holder_ids
            )
            if appointment.check_in_open()
            else frozenset()
        )
        appointment.check_in_proof = arrival.make_proof(
            appointment_id=appointment.pk, by=by, checks=checks
        )


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def check_in_view(request: HttpRequest, appointment_pk: int) -> HttpResponse:
    """The patient tells their phone (and the last 4 characters of the ID number when booked
    with one); check_in() verifies them. Reached from the search box with a proof of what the
    search matched, the page asks only for what that search did not check."""
    appointment = get_appointment_for(request.user, appointment_pk)
    data = request.POST if request.method == "POST" else None
    # The search's link brings the proof; the form sends it back with what was typed.
    proof = (request.POST if data is not None else request.GET).get("proof", "")
    proven = arrival.proven_checks(proof, appointment_id=appointment.pk, by=request.user)
    form = CheckInForm(
        data,
        initial={"proof": proof},
        needs_phone=arrival.PHONE not in proven,
        needs_id=bool(appointment.id_card) and arrival.ID_NUMBER not in proven,
    )
    status = 200
    review_record = None
    if request.method == "POST":
        if form.is_valid():
            try:
                visit = check_in(
                    appointment_id=appointment.pk,
                    phone=form.cleaned_data.get("phone", ""),
                    id_card=form.cleaned_data.get("id_card", ""),
                    proof=form.cleaned_data["proof"],
                    by=request.user,
                )
            except ClinicError as error:
                apply_clinic_error(form, error, SERVICE_ERROR_FIELDS)
                status = error.status
                review_record = error.details.get("record")
            else:
                facts = {"number": visit.queue_number, "window": visit.window.label}
                messages.success(
                    request,
                    _(
                        "Checked in late: queue number %(number)d, booked for %(window)s; "
                        "queued after the patients of the window running now."
                    )
                    % facts
                    if visit.arrived_late
                    else _("Checked in: queue number %(number)d, time window %(window)s.") % facts,
                )
                return redirect("visits:slip", pk=visit.pk)
        else:
            status = 400
    form.focus()
    return render(
        request,
        "visits/check_in.html",
        {
            "appointment": appointment,
            "form": form,
            "review_record": review_record,
            "proven": proven,
            # A proof that no longer holds (too old, another desk user's): the page says why
            # it asks for the phone after all.
            "proof_expired": bool(proof) and not proven,
        },
        status=status,
    )


@role_required(*DESK_ROLES)
def slip(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_object_or_404(Visit.objects.select_related(*VISIT_RELATIONS), pk=pk)
    attach_expected_waits([visit])
    return render(request, "visits/slip.html", {"visit": visit})


def _doctors_with_places_now(department: Department | None) -> list[Schedule]:
    if department is None:
        return []
    now = timezone.now()
    try:
        half = walk_in_slot(now)
    except ClinicError:
        return []
    return list(
        Schedule.objects.filter(
            department=department,
            work_date=timezone.localdate(now),
            time_slot__in=OVERLAPPING_SLOTS[half],
        )
        .select_related("doctor", "room")
        .order_by("id")
    )


# The walk-in form offers a few of the patients on file that match what was typed.
WALK_IN_MATCHES = 5


@dataclass(frozen=True)
class WalkInMatch:
    """A patient on file for what the walk-in form has typed, with their visits that are not
    over: such a patient is shown with a link to their slip or payment, not offered to be
    registered again."""

    patient: Patient
    unfinished_visits: list[Visit]


def _patient_matches(phone: str, id_card: str) -> list[WalkInMatch]:
    """Patients on file for the walk-in form's phone and ID number, by the one search rule: the
    ID number when one is typed (it decides who someone is), else the phone (the whole number,
    or its beginning from 3 digits). Two queries, whatever the number of matches."""
    try:
        terms = field_terms(id_card=id_card) or field_terms(phone=phone)
    except ValidationError:
        # Not a phone yet (too few digits, or letters): nothing to offer, and the form's own
        # validation says what is wrong when it is sent.
        return []
    if not terms:
        return []
    patients = list(matching_patients(terms)[:WALK_IN_MATCHES])
    unfinished = unfinished_visits_by_patient([patient.pk for patient in patients])
    return [WalkInMatch(patient, unfinished.get(patient.pk, [])) for patient in patients]


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def walk_in(request: HttpRequest) -> HttpResponse:
    """Register a patient without a booking: find or enter them, choose a department (and
    optionally a doctor with places now), and queue them with a slip."""
    status = 200
    review_record = None
    queued_visit = None
    if request.method == "POST":
        form = WalkInForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                visit = register_walk_in(
                    by=request.user,
                    department=data["department"],
                    patient=data["patient"],
                    name=data["name"],
                    phone=data["phone"],
                    id_card=data["id_card"],
                    id_type=data["id_type"],
                    gender=data["gender"],
                    doctor=data["doctor"],
                    insurance_plan=data["insurance_plan"],
                )
            except ClinicError as error:
                apply_clinic_error(form, error, SERVICE_ERROR_FIELDS)
                status = error.status
                review_record = error.details.get("record")
                if isinstance(error, AlreadyInQueue):
                    queued_visit = (
                        Visit.objects.select_related("department")
                        .filter(pk=error.details["visit"])
                        .first()
                    )
            else:
                messages.success(
                    request,
                    _("Registered: queue number %(number)d, time window %(window)s.")
                    % {"number": visit.queue_number, "window": visit.window.label},
                )
                return redirect("visits:slip", pk=visit.pk)
        else:
            status = 400
        chosen_patient = form.cleaned_data.get("patient") if form.is_bound else None
        department = form.cleaned_data.get("department")
    else:
        chosen_patient = None
        if (patient_id := id_param(request.GET.get("patient"))) is not None:
            chosen_patient = Patient.objects.filter(pk=patient_id).first()
        initial = {"patient": chosen_patient.pk if chosen_patient else None}
        if chosen_patient is not None:
            # Shown, not sent (the record is used as it is): masked, so that stepping
            # through ?patient= numbers harvests no phone or ID number.
            initial.update(
                name=chosen_patient.name,
                phone=mask_phone(chosen_patient.phone),
                gender=chosen_patient.gender,
                id_type=chosen_patient.id_type,
                id_card=mask_id_card(chosen_patient.id_card),
            )
        initial["department"] = request.GET.get("department") or None
        form = WalkInForm(initial=initial)
        department = (
            Department.objects.filter(pk=initial["department"]).first()
            if id_param(str(initial["department"] or "")) is not None
            else None
        )
    # The cursor where the desk types first: the phone (it finds a record on file), or the
    # department when the record was chosen from the search (its fields are locked).
    form.fields["department" if chosen_patient else "phone"].widget.attrs["autofocus"] = True
    context = {
        "form": form,
        "chosen_patient": chosen_patient,
        "schedules_now": _doctors_with_places_now(department),
        # The record the desk must look at before this person can be registered
        # (PatientNeedsDeskReview: an unverified number on an online account's record).
        "review_record": review_record,
        # The patient's visit in this department today that is not over (AlreadyInQueue):
        # its slip or payment, instead of a second registration.
        "queued_visit": queued_visit,
    }
    if request.htmx and request.method == "GET":
        part = request.GET.get("part")
        if part == "matches":
            return render(
                request,
                "visits/walk_in.html#patient-matches",
                {
                    "matches": _patient_matches(
                        request.GET.get("phone", ""), request.GET.get("id_card", "")
                    )
                },
            )
        if part == "doctors":
            return render(request, "visits/walk_in.html#doctor-choices", context)
    return render(request, "visits/walk_in.html", context, status=status)


# The "left" column and the "left unseen" line show the latest few unless asked for all: by the
# afternoon they hold most of the day, and the board re-renders every 5 seconds.
BOARD_LEFT_SHOWN = 20


@dataclass
class BoardColumn:
    status: VisitStatus
    visits: list[dict]
    count: int

    @property
    def hidden(self) -> int:
        return self.count - len(self.visits)


def _board_visits(visits: QuerySet[Visit]) -> dict[str, list[dict]]:
    """The day's visits by status, with what their cards show, in one query.

    Rows rather than instances: the board is polled every 5 seconds by every desk, and a card
    needs a few columns of five tables, not five model instances.
    """
    by_status: dict[str, list[dict]] = {
        status: [] for status in (*BOARD_COLUMNS, VisitStatus.CANCELLED)
    }
    rows = visits.order_by("check_in_time", "id").values(
        "pk",
        "status",
        "queue_number",
        "schedule_id",
        "check_in_time",
        "called_at",
        "arrived_late",
        "queued_from",
        patient_name=F("patient__name"),
        department_name=department_name_in_language("department__"),
        doctor_name=F("schedule__doctor__name"),
        room_number=F("schedule__room__room_number"),
        bill_pk=F("bill__id"),
        window_start=F("window__start_time"),
        window_end=F("window__end_time"),
    )
    now = timezone.now()
    # The card's timer text, translated once per status rather than once per card.
    timers = {
        VisitStatus.WAITING: ("check_in_time", _("Waiting %(duration)s")),
        VisitStatus.IN_CONSULTATION: ("called_at", _("In for %(duration)s")),
    }
    for row in rows:
        since, text = timers.get(row["status"], (None, ""))
        # The clinic's one way to write a wait (clinic_format), as on the doctor's queue.
        row["timer"] = text % {"duration": duration_since(row[since], now)} if since else ""
        row["place"] = f"{row['department_name']} · {row['doctor_name']} · {row['room_number']}"
        row["window"] = f"{row['window_start']:%H:%M}–{row['window_end']:%H:%M}"
        by_status[row["status"]].append(row)
    return by_status


def _board_context(request: HttpRequest, params: QueryDict | None = None) -> dict:
    """The board's context; `params` are the board's own filters (department, left=all)."""
    params = request.GET if params is None else params
    today = timezone.localdate()
    visits = Visit.objects.filter(visit_date=today)
    department_id = params.get("department", "")
    if id_param(department_id) is not None:
        visits = visits.filter(department_id=department_id)
    show_all_left = params.get("left") == "all"
    by_status = _board_visits(visits)
    # Each doctor's queue in its own order, as the patients are called: by window turn (a late
    # arrival's is after the window running when they came), then by number.
    by_status[VisitStatus.WAITING].sort(
        key=lambda row: (row["schedule_id"], row["queued_from"], row["queue_number"])
    )
    columns = []
    for status in BOARD_COLUMNS:
        shown = by_status[status]
        if status == VisitStatus.LEFT and not show_all_left:
            shown = shown[-BOARD_LEFT_SHOWN:]
        columns.append(BoardColumn(VisitStatus(status), shown, len(by_status[status])))
    left_unseen = by_status[VisitStatus.CANCELLED]
    filters = {"department": department_id} if department_id.isdigit() else {}
    return {
        "today": today,
        "now": timezone.now(),
        "columns": columns,
        "left_unseen": left_unseen if show_all_left else left_unseen[-BOARD_LEFT_SHOWN:],
        "left_unseen_hidden": 0 if show_all_left else max(len(left_unseen) - BOARD_LEFT_SHOWN, 0),
        "departments": Department.objects.filter(is_active=True).order_by("name"),
        "department_id": department_id,
        "show_all_left": show_all_left,
        "left_shown": BOARD_LEFT_SHOWN,
        "board_query": urlencode({**filters, "left": "all"} if show_all_left else filters),
        "all_left_query": urlencode({**filters, "left": "all"}),
        "latest_left_query": urlencode(filters),
    }


@role_required(*DESK_ROLES)
def board(request: HttpRequest) -> HttpResponse:
    """The live visit board; htmx polls its columns from the same URL."""
    template = "visits/board.html#board-columns" if request.htmx else "visits/board.html"
    return render(request, template, _board_context(request))


def _board_move(request: HttpRequest, move_name: str) -> HttpResponse:
    """A card's button: the visit is the button's value (one action address per column)."""
    pk = request.POST.get("visit", "")
    visit = get_object_or_404(Visit, pk=pk) if pk.isdigit() else None
    if visit is None:
        raise Http404
    error: ClinicError | None = None
    try:
        if move_name == "advance":
            visit.advance(by=request.user)
        else:
            visit.leave_unseen(by=request.user)
    except ClinicError as caught:
        error = caught
    if not request.htmx:
        if error is not None:
            messages.error(request, error.message)
        return redirect("visits:board")
    # The board answered keeps the filters of the page it was asked from (department, all of
    # the left column), which htmx sends as the current URL.
    page_query = urlsplit(request.htmx.current_url or "").query
    context = _board_context(request, QueryDict(page_query))
    context["error"] = error
    return render(
        request,
        "visits/board.html#board-columns",
        context,
        status=error.status if error is not None else 200,
    )


@role_required(*DESK_ROLES)
@require_POST
def advance(request: HttpRequest) -> HttpResponse:
    return _board_move(request, "advance")


@role_required(*DESK_ROLES)
@require_POST
def leave_unseen(request: HttpRequest) -> HttpResponse:
    return _board_move(request, "leave_unseen")


@role_required(*DESK_ROLES)
def patients(request: HttpRequest) -> HttpResponse:
    form = PatientSearchForm(request.GET or None)
    query = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    found = matching_patients([parse_term(query)]).select_related("insurance_plan")
    page = Paginator(found, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "visits/patients.html",
        {"form": form, "page": page, "query": query, "recent_links": recent_links()},
    )


# The desk's identity actions on a record (visits.identity), by the form's `action`.
IDENTITY_ACTIONS = {
    "verify": (verify_id_card, _("The ID number is verified.")),
    "withdraw": (withdraw_unverified_id_card, _("The unverified ID number is taken off.")),
    "unlink": (unlink_online_account, _("The account no longer acts for this record.")),
}


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def patient(request: HttpRequest, pk: int) -> HttpResponse:
    """A patient's record at the desk: who it is, which account acts for it, and the
    audited identity actions that are legal for it now."""
    record = get_object_or_404(
        Patient.objects.select_related("user", "linked_from", "insurance_plan"), pk=pk
    )
    action = request.POST.get("action", "")
    link_form = LinkAccountForm(request.POST if action == "link" else None)
    details_form = PatientDetailsForm.for_record(
        record, request.POST if action == "details" else None
    )
    # The form the posted action fills in, if it has one.
    posted_form = {"link": link_form, "details": details_form}.get(action)
    status = 200
    if request.method == "POST" and posted_form is not None and not posted_form.is_valid():
        status = 400
    elif request.method == "POST":
        try:
            if action == "link":
                link_online_account(record=record, by=request.user, **link_form.cleaned_data)
                done = _("The account now acts for this record.")
            elif action == "details":
                correct_patient_details(
                    record=record,
                    by=request.user,
                    id_document_seen=details_form.cleaned_data["id_document_seen"],
                    **details_form.changes(record),
                )
                done = _("The patient's details are saved.")
            elif action in IDENTITY_ACTIONS:
                service, done = IDENTITY_ACTIONS[action]
                service(record=record, by=request.user)
            else:
                raise InvalidInput()
        except ClinicError as error:
            if posted_form is not None:
                apply_clinic_error(posted_form, error)
            else:
                messages.error(request, error.message)
            status = error.status
        else:
            messages.success(request, done)
            return redirect("visits:patient", pk=record.pk)
    return render(
        request,
        "visits/patient.html",
        {
            "record": record,
            "link_form": link_form,
            "details_form": details_form,
            "history": AuditEvent.objects.filter(
                patient=record, action__startswith="patient."
            ).select_related("actor__employee", "actor__patient")[:20],
            "message_panel": patient_message_panel(record),
        },
        status=status,
    )
