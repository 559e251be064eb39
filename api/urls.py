"""The JSON API under /api/: routes grouped by role, views in each app's api.py.

Paths are a contract with other programs (no trailing slash). Every route here must have its
expected status per role in tests/api/test_permissions_matrix.py, which fails otherwise.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import auth
from api.exceptions import not_found
from appointments import api as appointments_api
from billing import api as billing_api
from clinic import api as clinic_api
from scheduling import api as scheduling_api
from visits import api as visits_api

app_name = "api"

auth_urls = [
    path("auth/login", auth.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", auth.RefreshView.as_view(), name="auth-refresh"),
    path("auth/register", clinic_api.RegisterView.as_view(), name="auth-register"),
    path("auth/profile", clinic_api.ProfileView.as_view(), name="auth-profile"),
    path("auth/logout", auth.LogoutView.as_view(), name="auth-logout"),
]

patient_urls = [
    path(
        "patient/departments",
        clinic_api.DepartmentListView.as_view(),
        name="patient-departments",
    ),
    path(
        "patient/availability",
        scheduling_api.AvailabilityView.as_view(),
        name="patient-availability",
    ),
    path(
        "patient/appointments",
        appointments_api.MyAppointmentsView.as_view(),
        name="patient-appointments",
    ),
    path(
        "patient/appointments/<int:id>",
        appointments_api.MyAppointmentDetailView.as_view(),
        name="patient-appointment",
    ),
    path("patient/visits", billing_api.MyVisitsView.as_view(), name="patient-visits"),
]

receptionist_urls = [
    path(
        "receptionist/appointments",
        appointments_api.DeskAppointmentsView.as_view(),
        name="receptionist-appointments",
    ),
    path(
        "receptionist/appointments/<int:id>/status",
        appointments_api.DeskAppointmentStatusView.as_view(),
        name="receptionist-appointment-status",
    ),
    path(
        "receptionist/checkin/<int:appt_id>",
        visits_api.CheckInView.as_view(),
        name="receptionist-checkin",
    ),
    path("receptionist/register", visits_api.WalkInView.as_view(), name="receptionist-register"),
    path("receptionist/visits", visits_api.DeskVisitsView.as_view(), name="receptionist-visits"),
    path(
        "receptionist/visits/<int:id>/status",
        visits_api.DeskVisitStatusView.as_view(),
        name="receptionist-visit-status",
    ),
    path(
        "receptionist/payment/<int:visit_id>",
        billing_api.PaymentView.as_view(),
        name="receptionist-payment",
    ),
    path(
        "receptionist/patients",
        clinic_api.DeskPatientSearchView.as_view(),
        name="receptionist-patients",
    ),
    path("receptionist/bills", billing_api.DeskBillsView.as_view(), name="receptionist-bills"),
    path(
        "receptionist/income-records",
        billing_api.DeskIncomeRecordsView.as_view(),
        name="receptionist-income-records",
    ),
]

doctor_urls = [
    path("doctor/queue", visits_api.DoctorQueueView.as_view(), name="doctor-queue"),
    path("doctor/call-next", visits_api.CallNextView.as_view(), name="doctor-call-next"),
    path(
        "doctor/visits/<int:id>/medical-record",
        visits_api.MedicalRecordView.as_view(),
        name="doctor-medical-record",
    ),
    path(
        "doctor/visits/<int:id>/finish",
        visits_api.FinishConsultationView.as_view(),
        name="doctor-visit-finish",
    ),
]

admin_urls = [
    path("admin/rooms", clinic_api.RoomListView.as_view(), name="admin-rooms"),
    path("admin/rooms/<int:id>", clinic_api.RoomDetailView.as_view(), name="admin-room"),
    path("admin/schedules", scheduling_api.ScheduleListView.as_view(), name="admin-schedules"),
    path(
        "admin/schedules/<int:id>",
        scheduling_api.ScheduleDetailView.as_view(),
        name="admin-schedule",
    ),
    path("admin/employees", clinic_api.EmployeeListView.as_view(), name="admin-employees"),
    path(
        "admin/employees/<str:emp_id>",
        clinic_api.EmployeeDetailView.as_view(),
        name="admin-employee",
    ),
    path(
        "admin/patients/search",
        clinic_api.AdminPatientSearchView.as_view(),
        name="admin-patients-search",
    ),
    path(
        "admin/visits/search",
        visits_api.AdminVisitSearchView.as_view(),
        name="admin-visits-search",
    ),
    path(
        "admin/visits/<int:id>/medical-record",
        visits_api.AdminMedicalRecordView.as_view(),
        name="admin-medical-record",
    ),
    path("admin/bills", billing_api.AdminBillsView.as_view(), name="admin-bills"),
    path(
        "admin/income-records",
        billing_api.AdminIncomeRecordsView.as_view(),
        name="admin-income-records",
    ),
    path(
        "admin/statistics/income",
        billing_api.IncomeStatisticsView.as_view(),
        name="admin-statistics-income",
    ),
    path(
        "admin/statistics/visits",
        billing_api.VisitStatisticsView.as_view(),
        name="admin-statistics-visits",
    ),
]

docs_urls = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

urlpatterns = [
    *auth_urls,
    *patient_urls,
    *receptionist_urls,
    *doctor_urls,
    *admin_urls,
    *docs_urls,
    # Anything else under /api/ answers with the JSON 404 body, not the site's HTML page.
    re_path(r"^[\s\S]*$", not_found, name="not-found"),
]
