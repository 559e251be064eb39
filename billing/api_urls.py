"""The billing app's routes of the JSON API, included by api/urls.py (names in its `api`
namespace). Paths are a contract with other programs: no trailing slash."""

from django.urls import path

from billing import api

urlpatterns = [
    path("patient/visits", api.MyVisitsView.as_view(), name="patient-visits"),
    path(
        "receptionist/payment/<int:visit_id>",
        api.PaymentView.as_view(),
        name="receptionist-payment",
    ),
    path(
        "receptionist/payment-methods",
        api.PaymentMethodsView.as_view(),
        name="receptionist-payment-methods",
    ),
    path(
        "receptionist/visits/<int:visit_id>/bill-preview",
        api.BillPreviewView.as_view(),
        name="receptionist-bill-preview",
    ),
    path("receptionist/bills", api.DeskBillsView.as_view(), name="receptionist-bills"),
    path(
        "receptionist/income-records",
        api.DeskIncomeRecordsView.as_view(),
        name="receptionist-income-records",
    ),
    path(
        "receptionist/bills/<int:id>/refunds",
        api.BillRefundsView.as_view(),
        name="receptionist-bill-refunds",
    ),
    path("receptionist/shift", api.MyShiftView.as_view(), name="receptionist-shift"),
    path(
        "receptionist/shifts/<int:id>/close",
        api.ShiftCloseView.as_view(),
        name="receptionist-shift-close",
    ),
    path(
        "receptionist/shifts/<int:id>/report",
        api.ShiftReportView.as_view(),
        name="receptionist-shift-report",
    ),
    path("admin/shifts/<int:id>/reopen", api.ShiftReopenView.as_view(), name="admin-shift-reopen"),
    path("admin/day-end", api.DayEndView.as_view(), name="admin-day-end"),
    path("admin/bills", api.AdminBillsView.as_view(), name="admin-bills"),
    path("admin/income-records", api.AdminIncomeRecordsView.as_view(), name="admin-income-records"),
    path(
        "admin/statistics/income",
        api.IncomeStatisticsView.as_view(),
        name="admin-statistics-income",
    ),
    path(
        "admin/statistics/income-by-category",
        api.CategoryIncomeStatisticsView.as_view(),
        name="admin-statistics-income-by-category",
    ),
    path(
        "admin/statistics/income-by-method",
        api.MethodIncomeStatisticsView.as_view(),
        name="admin-statistics-income-by-method",
    ),
    path(
        "admin/statistics/visits-by-window",
        api.WindowVisitStatisticsView.as_view(),
        name="admin-statistics-visits-by-window",
    ),
]
