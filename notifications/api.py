"""API of messages: the desk's message log and "send again", and a patient's message
settings (the same services as the pages)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from clinic.models import Patient
from clinic.roles import IsDesk, IsPatient
from notifications.models import Notification
from notifications.serializers import (
    MessageSettingsInputSerializer,
    MessageSettingsSerializer,
    NotificationFilterSerializer,
    NotificationSerializer,
)
from notifications.services import MESSAGE_SETTINGS, change_message_settings, message_log, resend


class DeskNotificationsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_notifications_list",
        parameters=[NotificationFilterSerializer],
        responses={200: NotificationSerializer(many=True)},
        description="The message log, newest first: reminders and waitlist offers written "
        "for patients, with where each went and whether it was sent.",
    )
    def get(self, request: Request) -> Response:
        filters = self.validated_query(NotificationFilterSerializer)
        messages = message_log(
            patient_id=filters.get("patient_id"),
            kind=filters.get("kind", ""),
            status=filters.get("status", ""),
        )
        return self.page_response(messages, NotificationSerializer)


class DeskNotificationResendView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_notifications_resend",
        request=None,
        responses={
            200: NotificationSerializer,
            409: OpenApiResponse(description="cannot_resend: only a failed or cancelled message."),
        },
        description="Sends a failed (or cancelled) message again, now, to where it went "
        "before; audited as notification.resent.",
    )
    def post(self, request: Request, id: int) -> Response:
        notification = get_object_or_404(Notification, pk=id)
        notification = resend(notification=notification, by=request.user)
        notification = Notification.objects.select_related("patient").get(pk=notification.pk)
        return self.object_response(notification, NotificationSerializer)


class MessageSettingsView(ClinicAPIView):
    permission_classes = [IsPatient]

    def _record(self) -> Patient:
        record = Patient.objects.filter(user=self.request.user).first()
        if record is None:
            raise NotFound()
        return record

    @extend_schema(
        operation_id="patient_message_settings",
        responses={200: MessageSettingsSerializer},
        description="How the signed-in patient receives reminders and waitlist offers.",
    )
    def get(self, request: Request) -> Response:
        return self.object_response(self._record(), MessageSettingsSerializer)

    @extend_schema(
        operation_id="patient_message_settings_update",
        request=MessageSettingsInputSerializer,
        responses={200: MessageSettingsSerializer},
        description="Changes the fields given (e-mail as the channel needs an address); "
        "audited as patient.message_settings_changed. Nothing changed writes nothing.",
    )
    def patch(self, request: Request) -> Response:
        record = self._record()
        data = self.validated_body(MessageSettingsInputSerializer)
        wanted = {name: data.get(name, getattr(record, name)) for name in MESSAGE_SETTINGS}
        record = change_message_settings(patient=record, by=request.user, **wanted)
        return self.object_response(record, MessageSettingsSerializer)
