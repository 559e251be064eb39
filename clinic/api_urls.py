"""The clinic app's routes of the JSON API, included by api/urls.py (names in its `api`
namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from clinic import api, auth_api, catalogue_api

urlpatterns = [
    path("auth/login", auth_api.LoginView.as_view(), name="auth-login"),
    path("auth/refresh", auth_api.RefreshView.as_view(), name="auth-refresh"),
    path("auth/register", auth_api.RegisterView.as_view(), name="auth-register"),
    path("auth/profile", auth_api.ProfileView.as_view(), name="auth-profile"),
    path("auth/logout", auth_api.LogoutView.as_view(), name="auth-logout"),
    path("patient/departments", api.DepartmentListView.as_view(), name="patient-departments"),
    path(
        "receptionist/patients", api.DeskPatientSearchView.as_view(), name="receptionist-patients"
    ),
    path("admin/rooms", api.RoomListView.as_view(), name="admin-rooms"),
    path("admin/rooms/<int:id>", api.RoomDetailView.as_view(), name="admin-room"),
    path("admin/employees", api.EmployeeListView.as_view(), name="admin-employees"),
    path("admin/employees/<str:emp_id>", api.EmployeeDetailView.as_view(), name="admin-employee"),
    path(
        "catalogue/fee-items", catalogue_api.FeeItemListView.as_view(), name="catalogue-fee-items"
    ),
    path(
        "catalogue/fee-items/<int:id>",
        catalogue_api.FeeItemDetailView.as_view(),
        name="catalogue-fee-item",
    ),
    path(
        "catalogue/insurance-plans",
        catalogue_api.InsurancePlanListView.as_view(),
        name="catalogue-insurance-plans",
    ),
    path(
        "catalogue/allergy-classes",
        catalogue_api.AllergyClassListView.as_view(),
        name="catalogue-allergy-classes",
    ),
    path(
        "admin/patients/search", api.AdminPatientSearchView.as_view(), name="admin-patients-search"
    ),
]
