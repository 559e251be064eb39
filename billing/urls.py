from django.urls import path

from billing import views
from billing.desk_urls import urlpatterns as desk_urlpatterns

app_name = "billing"

urlpatterns: list = [
    # The front desk's payment, receipts and takings reports live in desk_urls.py.
    *desk_urlpatterns,
    # Administrators' statistics.
    path("statistics/", views.statistics, name="statistics"),
    path("statistics/export/", views.statistics_export, name="statistics-export"),
]
