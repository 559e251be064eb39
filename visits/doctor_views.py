"""The doctor's workbench: today's queue, calling the next patient, the consultation with its
medical record; and the administrators' page for correcting a record.

Every page that shows a medical record's content records the view in the audit trail; every
write goes through visits.services, which audits it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from clinic.catalogue_search import matching_fee_items
from clinic.exceptions import ClinicError, PermissionDenied
from clinic.forms import apply_clinic_error
from clinic.models import AllergyClass, FeeCategory, FeeItem, IdType, Patient, Role
from clinic.privacy import mask_id_card, mask_phone
from clinic.roles import role_required
from clinic.templatetags.clinic_format import format_number
from clinic.validators import birth_date_from_resident_id
from visits.allergies import (
    REACTION_MAX,
    SUBSTANCE_MAX,
    active_allergies,
    add_allergy,
    confirm_no_known_allergies,
    may_change_allergies,
    no_known_allergies,
    remove_allergy,
)
from visits.charges import (
    NOTE_MAX,
    REASON_MAX,
    USAGE_MAX,
    add_order,
    charges_total,
    quantity_from_text,
    remove_order,
    update_order,
    visit_charges,
)
from visits.diagnoses import suggest_diagnoses
from visits.exceptions import AllergyWarning, OrdersFrozen
from visits.models import (
    RECORD_PARTS,
    AllergySeverity,
    Charge,
    ChargeKind,
    Frequency,
    MedicalRecord,
    PatientAllergy,
    Visit,
    VisitStatus,
)
from visits.records import get_record_for, write_refusal
from visits.selectors import doctor_day, get_visit_for_doctor, patient_history_for_doctor
from visits.services import (
    call_next,
    finish_consultation_with_record,
    record_medical_record_view,
    save_medical_record,
)
from visits.waits import attach_expected_waits


def _text(label: str, rows: int, **kwargs: Any) -> forms.CharField:
    return forms.CharField(
        label=label, required=False, widget=forms.Textarea(attrs={"rows": rows}), **kwargs
    )


class MedicalRecordForm(forms.Form):
    """The outpatient record's parts, in the order a doctor writes them."""

    chief_complaint = _text(gettext_lazy("Chief complaint"), 2)
    present_illness = _text(gettext_lazy("History of present illness"), 3)
    past_history = _text(gettext_lazy("Past history"), 2)
    physical_exam = _text(gettext_lazy("Physical examination"), 3)
    diagnosis = _text(gettext_lazy("Diagnosis"), 2)
    diagnosis_code = forms.CharField(
        label=gettext_lazy("Diagnosis code"),
        required=False,
        max_length=20,
        help_text=gettext_lazy(
            "Optional: a code of the diagnosis catalogue; type the beginning of a code or a "
            "name for suggestions."
        ),
        widget=forms.TextInput(attrs={"list": "diagnosis-codes", "autocomplete": "off"}),
    )
    plan = _text(gettext_lazy("Plan (treatment and prescription)"), 4)

    @classmethod
    def for_record(cls, record: MedicalRecord | None, data: Any = None) -> MedicalRecordForm:
        initial = {}
        if record is not None:
            initial = {name: getattr(record, name) for name in RECORD_PARTS}
            initial["diagnosis_code"] = record.diagnosis_code.code if record.diagnosis_code else ""
        form = cls(data, initial=initial)
        # The one search style: a prefix of the code or the name (visits:diagnosis-suggestions).
        form.fields["diagnosis_code"].widget.attrs.update(
            {
                "hx-get": reverse("visits:diagnosis-suggestions"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#diagnosis-codes",
                "hx-swap": "innerHTML",
            }
        )
        return form

    def focus_first_empty(self) -> None:
        """Autofocus where the doctor's hand goes next: the first field with an error, else
        the first empty part after the last one written (the chief complaint of a new
        record; the diagnosis once the history is written, even with a part of it left
        out), else the diagnosis while it is empty."""
        if self.is_bound:
            with_errors = [name for name in self.fields if self.errors.get(name)]
            if with_errors:
                self.fields[with_errors[0]].widget.attrs["autofocus"] = True
                return
        written = [bool(str(self[name].value() or "").strip()) for name in RECORD_PARTS]
        last = max((i for i, filled in enumerate(written) if filled), default=-1)
        after = [name for i, name in enumerate(RECORD_PARTS) if i > last and not written[i]]
        target = after[0] if after else None
        if target is None and not written[RECORD_PARTS.index("diagnosis")]:
            target = "diagnosis"
        if target is not None:
            self.fields[target].widget.attrs["autofocus"] = True

    def has_content(self) -> bool:
        return any(value.strip() for value in self.cleaned_data.values())

    def posted_parts(self) -> dict[str, str]:
        """The parts the page posted (cleaned): the bare "send to payment" button of a closed
        record posts none and writes nothing, and a page opened before a change of the
        record's parts never blanks the ones it does not know."""
        return {name: value for name, value in self.cleaned_data.items() if name in self.data}


class AllergyForm(forms.Form):
    substance = forms.CharField(
        label=gettext_lazy("Substance or drug class"), max_length=SUBSTANCE_MAX
    )
    reaction = forms.CharField(
        label=gettext_lazy("Reaction"), max_length=REACTION_MAX, required=False
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        choices=AllergySeverity.choices,
        initial=AllergySeverity.MODERATE,
    )
    allergy_class = forms.ModelChoiceField(
        label=gettext_lazy("Drug class"),
        queryset=AllergyClass.objects.all(),
        required=False,
        help_text=gettext_lazy("When the substance is a drug class: drug orders are checked."),
    )


def _record_of(visit: Visit) -> MedicalRecord | None:
    try:
        return visit.medical_record
    except MedicalRecord.DoesNotExist:
        return None


def _age(patient: Patient) -> int | None:
    """Age from the stored birth date, else from the resident ID number when there is one."""
    if patient.birth_date is None and patient.id_type == IdType.RESIDENT_ID and patient.id_card:
        birth_date = birth_date_from_resident_id(patient.id_card)
        return Patient(birth_date=birth_date).age if birth_date else None
    return patient.age


# --- Queue ------------------------------------------------------------------------------------


def _render_queue(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    now = timezone.now()
    template = "visits/doctor_queue.html"
    if request.htmx and request.method == "GET":
        template += "#queue-panel"
    day = doctor_day(request.user, day=timezone.localdate(now))
    # Each waiting patient's expected wait: a fixed number of queries, whatever the queue.
    attach_expected_waits(day.waiting, now=now)
    context = {"now": now, "day": day, "error": error}
    return render(request, template, context, status=status)


@role_required(Role.DOCTOR)
@require_GET
@vary_on_headers("HX-Request")
def doctor_queue(request: HttpRequest) -> HttpResponse:
    """Today's schedules with the waiting room, the patient in consultation and those sent
    to payment. The panel polls this URL and re-renders alone for htmx."""
    return _render_queue(request)


@role_required(Role.DOCTOR)
@require_POST
def call_next_patient(request: HttpRequest) -> HttpResponse:
    try:
        visit = call_next(by=request.user)
    except ClinicError as error:
        return _render_queue(request, error=error.message, status=error.status)
    messages.success(
        request,
        _("Number %(number)d, %(name)s, is called in.")
        % {"number": visit.queue_number, "name": visit.patient.name},
    )
    return redirect("visits:consultation", pk=visit.pk)


# --- Consultation -----------------------------------------------------------------------------


@role_required(Role.DOCTOR)
@require_http_methods(["GET", "POST"])
def consultation(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's summary and history, this visit's record — a form on the day of the
    visit, the record as written afterwards (later changes are an administrator's
    correction) — and its orders. "Finish" saves the record and sends the patient to pay
    (which freezes the orders). Query string, for the orders panel without JavaScript:
    `q` (search the catalogue), `item` (the form to order an item), `edit` (an order's)."""
    visit = get_visit_for_doctor(request.user, pk)
    return _consultation_page(request, visit)


def _consultation_page(
    request: HttpRequest,
    visit: Visit,
    *,
    orders: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    record = _record_of(visit)
    # What the rule of visits.records says now decides what the page offers; the service
    # decides again on the locked visit when something is saved.
    refusal = write_refusal(request.user, visit, now=timezone.now())
    if request.method == "POST" and orders is None:
        form = MedicalRecordForm.for_record(record, request.POST)
        finish = "finish" in request.POST
        if form.is_valid():
            fields = form.posted_parts()
            if record is None and not form.has_content():
                fields = {}  # nothing typed, nothing written
            try:
                if finish:
                    # One transaction: refused (no diagnosis), nothing is written either.
                    finish_consultation_with_record(visit=visit, by=request.user, **fields)
                elif fields:
                    save_medical_record(visit=visit, by=request.user, **fields)
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
                visit.refresh_from_db()
                record = MedicalRecord.objects.filter(visit=visit).first()
            else:
                if finish:
                    messages.success(
                        request,
                        _("Number %(number)d is sent to payment.") % {"number": visit.queue_number},
                    )
                    return redirect("visits:doctor-queue")
                messages.success(request, _("The medical record is saved."))
                return redirect("visits:consultation", pk=visit.pk)
        else:
            status = 400
    else:
        form = MedicalRecordForm.for_record(record)
        if record is not None:
            record_medical_record_view(record=record, by=request.user, request=request)
    if orders is None:
        orders = _orders_context(request, visit, **_order_state(request, visit))
    if not (orders["order_form"] or orders["order_query"]):
        # The doctor is not ordering now: the hand goes to the record.
        form.focus_first_empty()
    patient = visit.patient
    context = {
        "visit": visit,
        "record": record,
        "form": form,
        "can_write": refusal is None,
        "write_refusal": refusal.message if refusal is not None else "",
        # Text a refused write carried (the page was opened before midnight, say), shown
        # back so that it can be passed on to an administrator rather than lost.
        "unsaved": [
            (field.label, field.value())
            for field in form
            if refusal is not None and form.is_bound and field.value()
        ],
        "patient": patient,
        "age": _age(patient),
        "masked_phone": mask_phone(patient.phone),
        "history": patient_history_for_doctor(request.user, patient, exclude=visit),
        "can_finish": VisitStatus.AWAITING_PAYMENT in visit.allowed_transitions(),
        **_allergy_context(request, visit),
        **orders,
    }
    return render(request, "visits/consultation.html", context, status=status)


# --- Allergies (the patient's, on the consultation page) -------------------------------------


def _allergy_context(
    request: HttpRequest, visit: Visit, form: AllergyForm | None = None, error: str = ""
) -> dict[str, Any]:
    return {
        "allergy_error": error,
        "visit": visit,
        "allergies": list(active_allergies(visit.patient)),
        "no_known_allergies": no_known_allergies(visit.patient),
        "can_change_allergies": may_change_allergies(request.user, visit.patient),
        "allergy_form": form or AllergyForm(),
    }


def _render_allergies(
    request: HttpRequest,
    visit: Visit,
    *,
    form: AllergyForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if not request.htmx:
        # Without JavaScript: back to the page, a refusal as a message.
        problems = [error] if error else []
        if form is not None:
            problems += [
                str(message) for messages_ in form.errors.values() for message in messages_
            ]
        for problem in problems:
            messages.error(request, problem)
        return redirect(reverse("visits:consultation", args=[visit.pk]) + "#allergies")
    context = {**_allergy_context(request, visit, form, error), "patient": visit.patient}
    return render(request, "visits/consultation.html#allergies", context, status=status)


@role_required(Role.DOCTOR)
@require_POST
def allergy_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Record an allergy of the visit's patient; the panel re-renders (htmx) or the page
    reloads, so that what is typed in the record is kept with htmx."""
    visit = get_visit_for_doctor(request.user, pk)
    form = AllergyForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            add_allergy(patient=visit.patient, by=request.user, **form.cleaned_data)
        except ClinicError as error:
            apply_clinic_error(form, error)
            status = error.status
        else:
            return _render_allergies(request, visit)
    return _render_allergies(request, visit, form=form, status=status)


@role_required(Role.DOCTOR)
@require_POST
def allergy_remove(request: HttpRequest, pk: int, allergy_pk: int) -> HttpResponse:
    visit = get_visit_for_doctor(request.user, pk)
    allergy = get_object_or_404(PatientAllergy, pk=allergy_pk, patient_id=visit.patient_id)
    try:
        remove_allergy(allergy=allergy, by=request.user)
    except ClinicError as error:
        return _render_allergies(request, visit, error=error.message, status=error.status)
    return _render_allergies(request, visit)


@role_required(Role.DOCTOR)
@require_POST
def allergy_none_known(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient knows of no allergy: an explicit state, not just an empty list."""
    visit = get_visit_for_doctor(request.user, pk)
    try:
        confirm_no_known_allergies(patient=visit.patient, by=request.user)
    except ClinicError as error:
        return _render_allergies(request, visit, error=error.message, status=error.status)
    return _render_allergies(request, visit)


# --- Orders (医嘱: the visit's charges, on the consultation page) -----------------------------


def _number_field(
    label: Any, *, inputmode: str = "decimal", size: int = 6, max_length: int = 20
) -> forms.CharField:
    """An optional number typed as text (the service parses and checks it), with the
    phone keyboard for numbers."""
    return forms.CharField(
        label=label,
        required=False,
        max_length=max_length,
        widget=forms.TextInput(attrs={"inputmode": inputmode, "size": size}),
    )


class OrderForm(forms.Form):
    """One order: an item of the catalogue (chosen by the search) and, for a drug, its dose,
    frequency, days and usage; the quantity is computed when left empty where it can be.
    Every rule is the service's (visits.charges), reported on these fields."""

    fee_item = forms.CharField(widget=forms.HiddenInput, required=False)
    dose = _number_field(gettext_lazy("Dose"))
    frequency = forms.ChoiceField(
        label=gettext_lazy("Frequency"),
        required=False,
        choices=[("", "—"), *Frequency.choices],
    )
    days = _number_field(gettext_lazy("Days"), inputmode="numeric", size=4, max_length=10)
    usage = forms.CharField(label=gettext_lazy("Usage"), required=False, max_length=USAGE_MAX)
    quantity = _number_field(gettext_lazy("Quantity"))
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=NOTE_MAX)
    allergy_override_reason = forms.CharField(
        label=gettext_lazy("Reason to order despite the allergy"),
        required=False,
        max_length=REASON_MAX,
    )

    DRUG_ONLY = ("dose", "frequency", "days", "usage")

    def __init__(self, *args: Any, item: FeeItem, warned: bool = False, **kwargs: Any) -> None:
        # Its own ids: the page holds the record's and the allergy's forms too.
        kwargs.setdefault("auto_id", "order_%s")
        super().__init__(*args, **kwargs)
        self.item = item
        if not item.is_drug:
            for name in self.DRUG_ONLY:
                del self.fields[name]
        else:
            if item.dose_unit:
                self.fields["dose"].label = _("Dose (%(unit)s)") % {"unit": item.dose_unit}
            self.fields["quantity"].help_text = _(
                "In %(unit)s; left empty: computed from dose × frequency × days."
            ) % {"unit": item.unit}
        if not (warned or (self.is_bound and self.data.get("allergy_override_reason"))):
            self.fields["allergy_override_reason"].widget = forms.HiddenInput()
        first = "dose" if item.is_drug else "quantity"
        self.fields[first].widget.attrs["autofocus"] = True

    def service_fields(self) -> dict[str, Any]:
        """The cleaned fields the service takes (the item aside)."""
        return {name: value for name, value in self.cleaned_data.items() if name != "fee_item"}


def _orderable(pk: Any) -> FeeItem | None:
    try:
        return matching_fee_items("", orderable=True).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def _order_state(request: HttpRequest, visit: Visit) -> dict[str, Any]:
    """What the query string asks of the orders panel: a search, an item's form, an order's
    form (ignored once orders are closed)."""
    state: dict[str, Any] = {"query": request.GET.get("q", "")[:50]}
    if visit.status != VisitStatus.IN_CONSULTATION:
        return state
    if request.GET.get("edit"):
        charge = _visit_order(visit, request.GET["edit"])
        if charge is not None:
            state["editing"] = charge
            state["form"] = OrderForm(
                item=charge.fee_item,
                warned=bool(charge.allergy_warning),
                initial={
                    "quantity": format_number(charge.quantity),
                    "dose": format_number(charge.dose),
                    "frequency": charge.frequency,
                    "days": charge.days or "",
                    "usage": charge.usage,
                    "note": charge.note,
                    "allergy_override_reason": charge.allergy_override_reason,
                },
            )
        return state
    item = _orderable(request.GET.get("item"))
    if item is None and state["query"]:
        # The code picked from the suggestions (or typed whole): straight to its form.
        item = (
            matching_fee_items(state["query"], orderable=True)
            .filter(code__iexact=state["query"].strip())
            .first()
        )
    if item is not None:
        state["form"] = OrderForm(
            item=item, initial={"fee_item": item.pk, "usage": item.default_usage}
        )
    return state


def _visit_order(visit: Visit, pk: Any) -> Charge | None:
    try:
        return (
            Charge.objects.select_related("fee_item")
            .filter(visit=visit, kind=ChargeKind.ORDER, pk=int(pk))
            .first()
        )
    except (TypeError, ValueError):
        return None


def _visit_and_order_or_404(request: HttpRequest, pk: int, charge_pk: int) -> tuple[Visit, Charge]:
    """The doctor's visit and one of its orders; 404 when the order is not the visit's."""
    visit = get_visit_for_doctor(request.user, pk)
    charge = _visit_order(visit, charge_pk)
    if charge is None:
        raise Http404
    return visit, charge


def _orders_context(
    request: HttpRequest,
    visit: Visit,
    *,
    query: str = "",
    form: OrderForm | None = None,
    editing: Charge | None = None,
    error: str = "",
    allergy_matches: list[str] | None = None,
) -> dict[str, Any]:
    charges = visit_charges(visit)
    can_order = (
        visit.status == VisitStatus.IN_CONSULTATION
        and request.user.employee_id == visit.schedule.doctor_id
    )
    results = []
    if can_order and query.strip() and form is None:
        results = list(matching_fee_items(query, orderable=True)[:ORDER_RESULTS])
    return {
        "visit": visit,
        "charges": charges,
        "orders_total": charges_total(charges),
        "can_order": can_order,
        "order_query": query,
        "order_results": results,
        "order_form": form if can_order else None,
        "order_item": form.item if form is not None else None,
        "order_editing": editing,
        "orders_error": error,
        "allergy_matches": allergy_matches or [],
    }


ORDER_RESULTS = 20


def _render_orders(
    request: HttpRequest, visit: Visit, *, status: int = 200, **state: Any
) -> HttpResponse:
    """The orders panel (htmx), or the whole page: after a success the page again (a
    redirect), after a refusal the page with the form and its errors."""
    if request.method == "POST":
        # What the panel offers follows the visit as it is now (finished meanwhile?).
        visit.refresh_from_db(fields=["status"])
    if request.htmx:
        context = _orders_context(request, visit, **state)
        return render(request, "visits/consultation.html#orders", context, status=status)
    if status < 400:
        return redirect(reverse("visits:consultation", args=[visit.pk]) + "#orders")
    return _consultation_page(
        request, visit, orders=_orders_context(request, visit, **state), status=status
    )


@role_required(Role.DOCTOR)
@require_GET
@vary_on_headers("HX-Request")
def order_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The orders panel for htmx (search results, an item's form, an order's form); without
    JavaScript, the consultation page with the same query."""
    visit = get_visit_for_doctor(request.user, pk)
    if not request.htmx:
        query = request.GET.urlencode()
        url = reverse("visits:consultation", args=[visit.pk])
        return redirect(f"{url}?{query}#orders" if query else f"{url}#orders")
    return _render_orders(request, visit, **_order_state(request, visit))


def _order_refused(
    request: HttpRequest, visit: Visit, form: OrderForm, error: ClinicError, **state: Any
) -> HttpResponse:
    matches: list[str] = []
    if isinstance(error, AllergyWarning):
        # The warning, and the reason to go on where the doctor's hand goes next.
        matches = list(error.details.get("allergy_matches", []))
        for field in form.fields.values():
            field.widget.attrs.pop("autofocus", None)
        form.fields["allergy_override_reason"].widget = forms.TextInput(
            attrs={"autofocus": True, "required": True}
        )
    if isinstance(error, OrdersFrozen | PermissionDenied):
        return _render_orders(request, visit, status=error.status, error=error.message, **state)
    apply_clinic_error(form, error)
    return _render_orders(
        request, visit, status=error.status, form=form, allergy_matches=matches, **state
    )


@role_required(Role.DOCTOR)
@require_POST
def order_add(request: HttpRequest, pk: int) -> HttpResponse:
    visit = get_visit_for_doctor(request.user, pk)
    item = _orderable(request.POST.get("fee_item"))
    if item is None:
        return _render_orders(
            request, visit, status=400, error=_("Choose an item of the fee catalogue.")
        )
    form = OrderForm(request.POST, item=item)
    if not form.is_valid():
        return _render_orders(request, visit, status=400, form=form)
    try:
        result = add_order(visit=visit, by=request.user, fee_item=item, **form.service_fields())
    except ClinicError as error:
        return _order_refused(request, visit, form, error)
    if result.allergy_matches:
        messages.warning(
            request,
            _("Ordered despite the allergy: %(matches)s")
            % {"matches": "; ".join(result.allergy_matches)},
        )
    return _render_orders(request, visit)


@role_required(Role.DOCTOR)
@require_POST
def order_update(request: HttpRequest, pk: int, charge_pk: int) -> HttpResponse:
    visit, charge = _visit_and_order_or_404(request, pk, charge_pk)
    form = OrderForm(request.POST, item=charge.fee_item, warned=bool(charge.allergy_warning))
    if not form.is_valid():
        return _render_orders(request, visit, status=400, form=form, editing=charge)
    fields = form.service_fields()
    if not fields.get("quantity"):
        # An emptied quantity: computed again where it can be.
        fields["quantity"] = None
    try:
        update_order(charge=charge, by=request.user, **fields)
    except ClinicError as error:
        return _order_refused(request, visit, form, error, editing=charge)
    return _render_orders(request, visit)


@role_required(Role.DOCTOR)
@require_POST
def order_remove(request: HttpRequest, pk: int, charge_pk: int) -> HttpResponse:
    visit, charge = _visit_and_order_or_404(request, pk, charge_pk)
    try:
        remove_order(charge=charge, by=request.user)
    except ClinicError as error:
        return _render_orders(request, visit, status=error.status, error=error.message)
    return _render_orders(request, visit)


@role_required(Role.DOCTOR)
@require_GET
def order_suggestions(request: HttpRequest) -> HttpResponse:
    """`<option>`s of the orderable catalogue for the order search box (the one search rule,
    clinic.catalogue_search)."""
    text = request.GET.get("q", "")
    items = matching_fee_items(text, orderable=True)[:ORDER_RESULTS] if text.strip() else []
    return render(request, "visits/partials/fee_item_options.html", {"items": items})


@role_required(Role.DOCTOR)
@require_GET
def order_quantity(request: HttpRequest, pk: int) -> HttpResponse:
    """The quantity the order form's dose, frequency and days give (shown live as a hint;
    the quantity field stays the doctor's to type)."""
    visit = get_visit_for_doctor(request.user, pk)
    item = _orderable(request.GET.get("fee_item"))
    if item is None and request.GET.get("edit"):
        charge = _visit_order(visit, request.GET["edit"])
        item = charge.fee_item if charge is not None else None
    quantity = None
    if item is not None:
        quantity = quantity_from_text(
            item,
            dose=request.GET.get("dose"),
            frequency=request.GET.get("frequency", ""),
            days=request.GET.get("days"),
        )
    return render(
        request,
        "visits/partials/order_quantity.html",
        {"quantity": format_number(quantity) if quantity is not None else "", "item": item},
    )


@role_required(Role.DOCTOR, Role.ADMIN)
@require_GET
def diagnosis_suggestions(request: HttpRequest) -> HttpResponse:
    """`<option>`s of the diagnosis catalogue for the consultation's code field: active
    entries whose code or name begins with what is typed (prefixes on indexes)."""
    entries = suggest_diagnoses(request.GET.get("diagnosis_code", ""))
    return render(request, "visits/partials/diagnosis_options.html", {"entries": entries})


# --- Printing ---------------------------------------------------------------------------------


def _print(request: HttpRequest, pk: int, template: str, **extra: Any) -> HttpResponse:
    record = get_record_for(request.user, pk)
    record_medical_record_view(record=record, by=request.user, request=request)
    visit = record.visit
    context = {
        "record": record,
        "visit": visit,
        "patient": visit.patient,
        "age": _age(visit.patient),
        "masked_id_card": mask_id_card(visit.patient.id_card),
        "allergies": active_allergies(visit.patient),
        "no_known_allergies": no_known_allergies(visit.patient),
        **{name: value(visit) for name, value in extra.items()},
    }
    return render(request, template, context)


@role_required(Role.DOCTOR, Role.ADMIN)
@require_GET
def record_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The record on an A5 page, by the record's read rule, audited as a view."""
    return _print(request, pk, "visits/print/record.html")


@role_required(Role.DOCTOR, Role.ADMIN)
@require_GET
def prescription_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The prescription (处方笺) on an A5 page, by the record's read rule: the diagnosis, the
    visit's drug lines (examinations, tests and treatments are not a prescription's: they
    are on the orders panel and the bill) and the record's plan."""
    return _print(
        request,
        pk,
        "visits/print/prescription.html",
        drug_lines=lambda visit: list(
            Charge.objects.filter(visit=visit, category=FeeCategory.DRUG)
            .select_related("fee_item")
            .order_by("id")
        ),
    )


@role_required(Role.DOCTOR, Role.ADMIN)
@require_GET
def record_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One medical record, read-only (a doctor: patients they are seeing or have seen).
    Loaded into the consultation page's history by htmx, or as a page of its own."""
    record = get_record_for(request.user, pk)
    record_medical_record_view(record=record, by=request.user, request=request)
    template = "visits/doctor/record_detail.html"
    if request.htmx:
        template += "#record"
    context = {
        "record": record,
        "visit": record.visit,
        "allergies": active_allergies(record.visit.patient),
        "no_known_allergies": no_known_allergies(record.visit.patient),
    }
    return render(request, template, context)


# --- Administrators' correction ---------------------------------------------------------------


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def correct_record(request: HttpRequest, pk: int) -> HttpResponse:
    """An administrator corrects a record (reached from Django Admin); audited like any
    change, with who and when kept on the record."""
    record = get_record_for(request.user, pk)
    status = 200
    if request.method == "POST":
        form = MedicalRecordForm.for_record(record, request.POST)
        if form.is_valid():
            try:
                save_medical_record(visit=record.visit, by=request.user, **form.posted_parts())
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
            else:
                messages.success(request, _("The medical record is corrected."))
                return redirect(reverse("admin:visits_medicalrecord_change", args=[record.pk]))
        else:
            status = 400
    else:
        form = MedicalRecordForm.for_record(record)
        record_medical_record_view(record=record, by=request.user, request=request)
    return render(
        request,
        "visits/doctor/record_correct.html",
        {"record": record, "visit": record.visit, "form": form},
        status=status,
    )
