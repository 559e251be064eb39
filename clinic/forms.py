from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm, BaseUserCreationForm
from django.utils.translation import gettext_lazy as _

from api.fields import DATE_MAX, DATE_MIN
from clinic.exceptions import ClinicError
from clinic.models import SELF_PAY_PLAN, Gender, InsurancePlan, User
from clinic.validators import (
    normalize_phone,
    normalize_resident_id,
    validate_mobile_phone,
    validate_resident_id,
)


def apply_clinic_error(
    form: forms.Form, error: ClinicError, field_map: dict[str, str] | None = None
) -> None:
    """Show a domain error on the form: field errors where the details name a field of the
    form (through `field_map` when the service's name differs), else a form-wide error."""
    field_map = field_map or {}
    placed = False
    for key, messages in error.details.items():
        field = field_map.get(key, key)
        if field in form.fields and isinstance(messages, list):
            for message in messages:
                form.add_error(field, str(message))
            placed = True
    if not placed:
        form.add_error(None, error.message)


def active_insurance_plans():
    """The plans a patient can be given: the active ones, by name."""
    return InsurancePlan.objects.filter(is_active=True).order_by("name", "id")


ISO_DATE = "%Y-%m-%d"


class IsoDateInput(forms.DateInput):
    """The browser's date picker, given its value as ISO (2026-12-06) whatever the page's
    language: an <input type="date"> takes nothing else, and shows a localised date
    (2026/12/06) as blank. Every date field of every form uses it (through DateField below);
    clinic/formats/ also lists ISO first, for forms that do not."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format=ISO_DATE)


class DateField(forms.DateField):
    """A date field with the browser's date picker (IsoDateInput), within the API's range of
    dates (api.fields: every database compares them and a day's bounds convert between time
    zones), or the range given: a year 1 or 9999 is a field error, never an overflow."""

    widget = IsoDateInput

    def __init__(
        self, *, min_value: dt.date = DATE_MIN, max_value: dt.date = DATE_MAX, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.min_value, self.max_value = min_value, max_value

    def validate(self, value: dt.date | None) -> None:
        super().validate(value)
        if value is not None and not self.min_value <= value <= self.max_value:
            raise forms.ValidationError(
                _("Enter a date from %(min)s to %(max)s.")
                % {"min": self.min_value.isoformat(), "max": self.max_value.isoformat()},
                code="date_out_of_range",
            )


class PhoneField(forms.CharField):
    default_validators = [validate_mobile_phone]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault("label", _("Mobile phone"))
        super().__init__(**kwargs)
        self.widget.input_type = "tel"
        self.widget.attrs.update({"autocomplete": "tel", "inputmode": "numeric"})

    def to_python(self, value: Any) -> str:
        return normalize_phone(super().to_python(value))


class ResidentIdField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 18)
        kwargs.setdefault("label", _("Resident ID number"))
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})

    def to_python(self, value: Any) -> str:
        return normalize_resident_id(super().to_python(value)) or ""

    def validate(self, value: str) -> None:
        super().validate(value)
        if value:
            validate_resident_id(value)


class LoginForm(AuthenticationForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class RegistrationForm(BaseUserCreationForm):
    """A patient's own account. Password rules are Django's validators (settings)."""

    name = forms.CharField(label=_("Full name"), max_length=50)
    phone = PhoneField()
    gender = forms.ChoiceField(label=_("Gender"), choices=Gender.choices, widget=forms.RadioSelect)
    id_card = ResidentIdField(
        required=False,
        help_text=_("Optional. With it, the desk can find your records at the clinic."),
    )

    insurance_plan = forms.ModelChoiceField(
        label=_("Medical insurance"),
        queryset=InsurancePlan.objects.none(),
        required=False,
        empty_label=SELF_PAY_PLAN,
        help_text=_("Optional. The desk checks your insurance card at your visit."),
    )

    field_order = (
        "username",
        "name",
        "phone",
        "gender",
        "id_card",
        "insurance_plan",
        "password1",
        "password2",
    )

    class Meta(BaseUserCreationForm.Meta):
        model = User
        fields = ("username",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Patients always sign in with a password: no "unusable password" choice here.
        self.fields.pop("usable_password", None)
        self.fields["insurance_plan"].queryset = active_insurance_plans()

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your name."))
        return name
