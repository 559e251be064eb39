from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from clinic.exceptions import InvalidInput
from clinic.forms import apply_clinic_error
from clinic.models import NotifyChannel, Patient
from clinic.search import PATIENT_SEARCH_HELP, validate_search_text
from notifications.models import NotificationKind, NotificationStatus
from notifications.services import MESSAGE_SETTINGS, validate_message_settings


class LanguageSelect(forms.Select):
    """Each language in its own name, marked as such (as the site's language picker)."""

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        option["attrs"] = {"lang": value, **option["attrs"]}
        return option


class MessageSettingsForm(forms.Form):
    """How a patient receives messages (the patient's own page and the desk's patient page)."""

    notify_channel = forms.ChoiceField(
        label=_("Send messages by"), choices=NotifyChannel.choices, widget=forms.RadioSelect
    )
    email = forms.EmailField(
        label=_("E-mail address"),
        required=False,
        help_text=_("Needed when messages go by e-mail."),
    )
    language = forms.ChoiceField(
        label=_("Language of messages"), choices=settings.LANGUAGES, widget=LanguageSelect
    )
    reminders_enabled = forms.BooleanField(
        label=_("Appointment reminders (the day before)"), required=False
    )

    @classmethod
    def for_patient(cls, patient: Patient, data: Any = None, **kwargs: Any) -> MessageSettingsForm:
        initial = {name: getattr(patient, name) for name in MESSAGE_SETTINGS}
        return cls(data, initial=initial, **kwargs)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if "notify_channel" in cleaned and "email" in cleaned:
            try:
                validate_message_settings(
                    notify_channel=cleaned["notify_channel"], email=cleaned["email"]
                )
            except InvalidInput as error:
                apply_clinic_error(self, error)
        return cleaned


def _choices_with_any(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


class MessageLogFilterForm(forms.Form):
    patient = forms.CharField(
        label=_("Patient"),
        required=False,
        max_length=32,
        help_text=PATIENT_SEARCH_HELP,
        validators=[validate_search_text],
    )
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=_choices_with_any(NotificationKind.choices)
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=_choices_with_any(NotificationStatus.choices)
    )
