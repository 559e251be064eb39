"""The doctor's workbench: today's queue, calling the next patient, the consultation with its
medical record; and the administrators' page for correcting a record.

Every page that shows a medical record's content records the view in the audit trail; every
write goes through visits.services, which audits it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from clinic.exceptions import ClinicError
from clinic.forms import apply_clinic_error
from clinic.models import IdType, Patient, Role
from clinic.privacy import mask_phone
from clinic.roles import role_required
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
from visits.diagnoses import suggest_diagnoses
from visits.models import (
    RECORD_PARTS,
    AllergySeverity,
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
    """The patient's summary and history, and this visit's record: a form on the day of the
    visit, the record as written afterwards (later changes are an administrator's
    correction). "Finish" saves the record and sends the patient to pay."""
    visit = get_visit_for_doctor(request.user, pk)
    record = _record_of(visit)
    # What the rule of visits.records says now decides what the page offers; the service
    # decides again on the locked visit when something is saved.
    refusal = write_refusal(request.user, visit, now=timezone.now())
    status = 200
    if request.method == "POST":
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


@role_required(Role.DOCTOR, Role.ADMIN)
@require_GET
def diagnosis_suggestions(request: HttpRequest) -> HttpResponse:
    """`<option>`s of the diagnosis catalogue for the consultation's code field: active
    entries whose code or name begins with what is typed (prefixes on indexes)."""
    entries = suggest_diagnoses(request.GET.get("diagnosis_code", ""))
    return render(request, "visits/partials/diagnosis_options.html", {"entries": entries})


# --- Printing ---------------------------------------------------------------------------------


def _print(request: HttpRequest, pk: int, template: str) -> HttpResponse:
    record = get_record_for(request.user, pk)
    record_medical_record_view(record=record, by=request.user, request=request)
    visit = record.visit
    context = {
        "record": record,
        "visit": visit,
        "patient": visit.patient,
        "age": _age(visit.patient),
        "allergies": active_allergies(visit.patient),
        "no_known_allergies": no_known_allergies(visit.patient),
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
    """The prescription (the record's plan) on an A5 page, by the record's read rule."""
    return _print(request, pk, "visits/print/prescription.html")


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
