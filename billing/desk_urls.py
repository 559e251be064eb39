"""The front desk's billing pages (included by billing/urls.py, namespace "billing")."""

from django.urls import path

from billing import desk_views

urlpatterns = [
    path("pay/<int:visit_pk>/", desk_views.pay, name="pay"),
    path("bills/<int:pk>/receipt/", desk_views.receipt, name="receipt"),
    path("reports/", desk_views.reports, name="reports"),
    path("reports/export/", desk_views.reports_export, name="reports-export"),
]
