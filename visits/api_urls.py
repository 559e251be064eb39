"""The visits app's routes of the JSON API, included by api/urls.py (names in its `api`
namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from visits import api

urlpatterns = [
    path(
        "receptionist/checkin/<int:appt_id>", api.CheckInView.as_view(), name="receptionist-checkin"
    ),
    path("receptionist/register", api.WalkInView.as_view(), name="receptionist-register"),
    path(
        "receptionist/patients/<int:id>", api.DeskPatientView.as_view(), name="receptionist-patient"
    ),
    path("receptionist/visits", api.DeskVisitsView.as_view(), name="receptionist-visits"),
    path(
        "receptionist/visits/<int:id>/status",
        api.DeskVisitStatusView.as_view(),
        name="receptionist-visit-status",
    ),
    path("doctor/queue", api.DoctorQueueView.as_view(), name="doctor-queue"),
    path("doctor/call-next", api.CallNextView.as_view(), name="doctor-call-next"),
    path(
        "doctor/visits/<int:id>/medical-record",
        api.MedicalRecordView.as_view(),
        name="doctor-medical-record",
    ),
    path(
        "doctor/visits/<int:id>/finish",
        api.FinishConsultationView.as_view(),
        name="doctor-visit-finish",
    ),
    path("doctor/visits/<int:id>/allergies", api.AllergiesView.as_view(), name="doctor-allergies"),
    path(
        "doctor/visits/<int:id>/allergies/<int:allergy_id>",
        api.AllergyView.as_view(),
        name="doctor-allergy",
    ),
    path("doctor/visits/<int:id>/orders", api.OrdersView.as_view(), name="doctor-orders"),
    path(
        "doctor/visits/<int:id>/orders/<int:order_id>",
        api.OrderView.as_view(),
        name="doctor-order",
    ),
    path("admin/visits/search", api.AdminVisitSearchView.as_view(), name="admin-visits-search"),
    path(
        "admin/visits/<int:id>/medical-record",
        api.AdminMedicalRecordView.as_view(),
        name="admin-medical-record",
    ),
    path(
        "admin/statistics/visits", api.VisitStatisticsView.as_view(), name="admin-statistics-visits"
    ),
]
