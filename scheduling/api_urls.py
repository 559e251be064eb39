"""The scheduling app's routes of the JSON API, included by api/urls.py (names in its `api`
namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from scheduling import api

urlpatterns = [
    path("patient/availability", api.AvailabilityView.as_view(), name="patient-availability"),
    path("admin/schedules", api.ScheduleListView.as_view(), name="admin-schedules"),
    path("admin/schedules/<int:id>", api.ScheduleDetailView.as_view(), name="admin-schedule"),
    path(
        "admin/schedules/<int:id>/windows",
        api.ScheduleWindowsView.as_view(),
        name="admin-schedule-windows",
    ),
]
