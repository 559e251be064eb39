"""The front desk's billing pages (included by billing/urls.py, namespace "billing")."""

from django.urls import path

from billing import cashier_views, desk_views

urlpatterns = [
    path("pay/<int:visit_pk>/", desk_views.pay, name="pay"),
    path("bills/<int:pk>/receipt/", desk_views.receipt, name="receipt"),
    path("reports/", desk_views.reports, name="reports"),
    path("reports/export/", desk_views.reports_export, name="reports-export"),
    # The cashier's shift, its close report, and the manager's day end.
    path("shift/", cashier_views.shift_panel, name="shift"),
    path("shift/open/", cashier_views.shift_open, name="shift-open"),
    path("shifts/<int:pk>/close/", cashier_views.shift_close, name="shift-close"),
    path("shifts/<int:pk>/report/", cashier_views.shift_report_page, name="shift-report"),
    path("shifts/<int:pk>/reopen/", cashier_views.shift_reopen, name="shift-reopen"),
    path("day-end/", cashier_views.day_end, name="day-end"),
    # Refunds of a paid bill, and their receipt.
    path("bills/<int:pk>/refund/", cashier_views.refund, name="refund"),
    path("refunds/<int:pk>/receipt/", cashier_views.refund_receipt, name="refund-receipt"),
]
