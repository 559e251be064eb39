from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateField, PhoneField, ResidentIdField
from clinic.models import (
    Department,
    Employee,
    EmployeeStatus,
    Gender,
    IdType,
    InsurancePlan,
    Patient,
    Position,
)
from clinic.search import PATIENT_SEARCH_HELP
from clinic.validators import normalize_resident_id
from visits.services import ID_TAIL_LENGTH

# Where the services' error fields are on these forms.
SERVICE_ERROR_FIELDS = {"id_type": "id_card", "doctor_id": "doctor"}


class IdNumberCheckField(forms.CharField):
    """The ID check at check-in: the last 4 characters of the booking's ID number, or the
    whole number (typed or scanned). Whether it matches is the check-in service's rule."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("label", _("Last 4 characters of the ID number"))
        kwargs.setdefault("help_text", _("Or scan the whole ID card."))
        super().__init__(**kwargs)
        self.widget.attrs.update(
            {"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}
        )

    def to_python(self, value: Any) -> str:
        return normalize_resident_id(super().to_python(value)) or ""

    def validate(self, value: str) -> None:
        super().validate(value)
        if value and len(value) < ID_TAIL_LENGTH:
            raise forms.ValidationError(
                _("Type the last 4 characters of the ID number, or scan the whole number."),
                code="id_too_short",
            )


class CheckInForm(forms.Form):
    """What the arriving patient tells the desk; never pre-filled from the booking. A check
    the desk's search already made (`proof`, visits.arrival) is not asked again: its field
    is left out, and the proof goes with the form for the service to verify again."""

    proof = forms.CharField(required=False, widget=forms.HiddenInput)
    phone = PhoneField(label=_("Phone number the patient gives"))
    id_card = IdNumberCheckField()

    def __init__(
        self, *args: Any, needs_phone: bool = True, needs_id: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if not needs_phone:
            del self.fields["phone"]
        if not needs_id:
            del self.fields["id_card"]

    def focus(self) -> None:
        """The cursor where the desk types next: the first field with an error, else the
        first field (call after the errors are known, the service's included)."""
        names = [name for name, field in self.fields.items() if not field.widget.is_hidden]
        invalid = [name for name in names if name in self.errors]
        for name in names:
            self.fields[name].widget.attrs.pop("autofocus", None)
        if invalid or names:
            self.fields[(invalid or names)[0]].widget.attrs["autofocus"] = True


class WalkInForm(forms.Form):
    patient = forms.ModelChoiceField(
        queryset=Patient.objects.all(), required=False, widget=forms.HiddenInput
    )
    name = forms.CharField(label=_("Full name"), max_length=50, required=False)
    phone = PhoneField(required=False)
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    # Not required: a returning patient's fields are disabled (the record is used as it is),
    # and a browser sends no disabled field. A new patient's defaults to a resident ID.
    id_type = forms.ChoiceField(
        label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID, required=False
    )
    id_card = forms.CharField(label=_("ID number"), max_length=32, required=False)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        empty_label=_("Choose a department"),
    )
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Employee.objects.filter(position=Position.DOCTOR, status=EmployeeStatus.ACTIVE),
        required=False,
        empty_label=_("Any doctor with places now"),
    )
    insurance_plan = forms.ModelChoiceField(
        label=_("Insurance plan"),
        queryset=InsurancePlan.objects.filter(is_active=True).order_by("name", "id"),
        required=False,
        empty_label=_("Self-pay"),
        help_text=_("For a new patient; a returning patient's plan is changed on their page."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        cleaned["id_type"] = cleaned.get("id_type") or IdType.RESIDENT_ID
        if cleaned.get("patient") is None:
            for field in ("name", "phone"):
                if not cleaned.get(field) and field not in self.errors:
                    self.add_error(field, _("Required for a new patient."))
        department, doctor = cleaned.get("department"), cleaned.get("doctor")
        if department and doctor and doctor.department_id != department.pk:
            self.add_error("doctor", _("This doctor does not work in the chosen department."))
        return cleaned


class PatientSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Name, phone or ID number"),
        required=False,
        max_length=32,
        help_text=PATIENT_SEARCH_HELP,
    )


class LinkAccountForm(forms.Form):
    """Linking an online account to a record the desk made: the account's name, and the ID
    number and phone the desk checks against the record (the document in hand)."""

    username = forms.CharField(label=_("Account name"), max_length=150)
    id_card = ResidentIdField(label=_("ID number (from the document)"))
    phone = PhoneField()


class PatientDetailsForm(forms.Form):
    """The desk's correction of a record's details (visits.identity.correct_patient_details).
    The ID number is never shown in full: typed only to change it."""

    name = forms.CharField(label=_("Full name"), max_length=50)
    phone = PhoneField()
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    birth_date = DateField(
        label=_("Birth date"),
        required=False,
        help_text=_("Taken from a resident ID number when the record has one."),
        # Patient.clean() holds the birth-date rule (not in the future, not implausibly old).
        min_value=dt.date.min,
        max_value=dt.date.max,
    )
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices)
    id_card = forms.CharField(
        label=_("New ID number"),
        max_length=32,
        required=False,
        help_text=_(
            "Only to change it, from the document; leave blank to keep the number on file."
        ),
    )
    id_document_seen = forms.BooleanField(
        label=_("I have seen the ID document"),
        required=False,
        help_text=_("Needed to change the number of a record an online account acts for."),
    )
    insurance_plan = forms.ModelChoiceField(
        label=_("Insurance plan"),
        queryset=InsurancePlan.objects.none(),
        required=False,
        empty_label=_("Self-pay"),
    )

    @classmethod
    def for_record(cls, record: Patient, data: Any = None) -> PatientDetailsForm:
        form = cls(
            data,
            initial={
                "name": record.name,
                "phone": record.phone,
                "gender": record.gender,
                "birth_date": record.birth_date,
                "id_type": record.id_type,
                "insurance_plan": record.insurance_plan_id,
            },
            prefix="details",
        )
        # The active plans, and the one the record has (kept even when no longer offered).
        form.fields["insurance_plan"].queryset = InsurancePlan.objects.filter(
            Q(is_active=True) | Q(pk=record.insurance_plan_id)
        ).order_by("name", "id")
        return form

    def changes(self, record: Patient) -> dict[str, Any]:
        """The fields whose value differs from the record's: what the desk corrected (a
        birth date left as it was must not contradict a new resident ID number's)."""
        changes = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("id_card", "id_document_seen") and value != getattr(record, name)
        }
        if self.cleaned_data["id_card"].strip():
            changes["id_card"] = self.cleaned_data["id_card"]
        return changes
