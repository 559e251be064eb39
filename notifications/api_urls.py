"""The notifications app's routes of the JSON API, included by api/urls.py (names in its
`api` namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from notifications import api

urlpatterns = [
    path(
        "patient/message-settings",
        api.MessageSettingsView.as_view(),
        name="patient-message-settings",
    ),
    path(
        "receptionist/notifications",
        api.DeskNotificationsView.as_view(),
        name="receptionist-notifications",
    ),
    path(
        "receptionist/notifications/<int:id>/resend",
        api.DeskNotificationResendView.as_view(),
        name="receptionist-notification-resend",
    ),
]
