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
from django.shortcuts import redirect, render
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
from visits.models import MedicalRecord, Visit, VisitStatus
from visits.records import get_record_for, write_refusal
from visits.selectors import doctor_day, get_visit_for_doctor, patient_history_for_doctor
from visits.services import (
    MEDICAL_RECORD_FIELDS,
    call_next,
    record_medical_record_view,
    save_medical_record,
)


class MedicalRecordForm(forms.Form):
    diagnosis = forms.CharField(
        label=gettext_lazy("Diagnosis"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    treatment = forms.CharField(
        label=gettext_lazy("Treatment"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    prescription = forms.CharField(
        label=gettext_lazy("Prescription"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    @classmethod
    def for_record(cls, record: MedicalRecord | None, data: Any = None) -> MedicalRecordForm:
        initial = {name: getattr(record, name) for name in MEDICAL_RECORD_FIELDS} if record else {}
        return cls(data, initial=initial)

    def has_content(self) -> bool:
        return any(value.strip() for value in self.cleaned_data.values())


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
    context = {
        "now": now,
        "day": doctor_day(request.user, day=timezone.localdate(now)),
        "error": error,
    }
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
        # The record form posts its fields; the bare "send to payment" button of a closed
        # record does not, and writes nothing.
        posts_record = any(name in request.POST for name in MEDICAL_RECORD_FIELDS)
        if form.is_valid():
            try:
                # A record is not required to finish: nothing typed, nothing written.
                if posts_record and (record is not None or form.has_content()):
                    save_medical_record(visit=visit, by=request.user, **form.cleaned_data)
                if finish:
                    visit.finish_consultation(by=request.user)
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
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
    }
    return render(request, "visits/consultation.html", context, status=status)


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
    return render(request, template, {"record": record, "visit": record.visit})


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
                save_medical_record(visit=record.visit, by=request.user, **form.cleaned_data)
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
