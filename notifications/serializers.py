from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from api.fields import IdField, LabelField, StrictBooleanField, TextField
from api.serializers import ModelSerializer
from clinic.models import NotifyChannel, Patient
from notifications.models import Notification, NotificationKind, NotificationStatus


class NotificationSerializer(ModelSerializer):
    patient_id = serializers.IntegerField(read_only=True, allow_null=True)
    patient_name = serializers.CharField(
        source="patient.name", read_only=True, allow_null=True, default=None
    )
    kind_label = LabelField(source="kind")
    channel_label = LabelField(source="channel")
    status_label = LabelField(source="status")

    class Meta:
        model = Notification
        fields = [
            "id",
            "key",
            "patient_id",
            "patient_name",
            "kind",
            "kind_label",
            "channel",
            "channel_label",
            "recipient",
            "language",
            "subject",
            "body",
            "status",
            "status_label",
            "send_after",
            "attempts",
            "sent_at",
            "error",
            "created_at",
        ]
        read_only_fields = fields


class NotificationFilterSerializer(serializers.Serializer):
    patient_id = IdField(required=False, help_text=_("The patient record's id."))
    kind = serializers.ChoiceField(choices=NotificationKind.choices, required=False)
    status = serializers.ChoiceField(choices=NotificationStatus.choices, required=False)


class MessageSettingsSerializer(ModelSerializer):
    """A patient's message settings; PATCH changes the fields given."""

    notify_channel_label = LabelField(source="notify_channel")
    # Blank when the patient gave none: plain text in the schema (its "email" format refuses
    # the blank).
    email = TextField(read_only=True, help_text=_("The patient's e-mail address; empty: none."))
    language_label = LabelField(source="language")

    class Meta:
        model = Patient
        fields = [
            "notify_channel",
            "notify_channel_label",
            "email",
            "language",
            "language_label",
            "reminders_enabled",
        ]
        read_only_fields = fields


class MessageSettingsInputSerializer(serializers.Serializer):
    notify_channel = serializers.ChoiceField(
        choices=NotifyChannel.choices,
        required=False,
        help_text=_("email needs an e-mail address (given now or already on file)."),
    )
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text=_("Empty: none.")
    )
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    reminders_enabled = StrictBooleanField(required=False)
