"""The appointments app's routes of the JSON API, included by api/urls.py (names in its `api`
namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from appointments import api

urlpatterns = [
    path("patient/appointments", api.MyAppointmentsView.as_view(), name="patient-appointments"),
    path(
        "patient/appointments/<int:id>",
        api.MyAppointmentDetailView.as_view(),
        name="patient-appointment",
    ),
    path("patient/waitlist", api.MyWaitlistView.as_view(), name="patient-waitlist"),
    path(
        "patient/waitlist/<int:id>",
        api.MyWaitlistEntryView.as_view(),
        name="patient-waitlist-entry",
    ),
    path(
        "patient/waitlist/<int:id>/accept",
        api.MyWaitlistAcceptView.as_view(),
        name="patient-waitlist-accept",
    ),
    path(
        "patient/waitlist/<int:id>/decline",
        api.MyWaitlistDeclineView.as_view(),
        name="patient-waitlist-decline",
    ),
    path("receptionist/waitlist", api.DeskWaitlistView.as_view(), name="receptionist-waitlist"),
    path(
        "receptionist/waitlist/<int:id>/accept",
        api.DeskWaitlistAcceptView.as_view(),
        name="receptionist-waitlist-accept",
    ),
    path(
        "receptionist/waitlist/<int:id>/cancel",
        api.DeskWaitlistCancelView.as_view(),
        name="receptionist-waitlist-cancel",
    ),
    path(
        "receptionist/appointments",
        api.DeskAppointmentsView.as_view(),
        name="receptionist-appointments",
    ),
    path(
        "receptionist/appointments/<int:id>/status",
        api.DeskAppointmentStatusView.as_view(),
        name="receptionist-appointment-status",
    ),
    path(
        "receptionist/patients/<int:id>/lift-no-show-block",
        api.LiftNoShowBlockView.as_view(),
        name="receptionist-patient-lift-no-show-block",
    ),
]
