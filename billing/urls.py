from django.urls import path  # noqa: F401

from billing.desk_urls import urlpatterns as desk_urlpatterns

app_name = "billing"

urlpatterns: list = [
    # The front desk's payment, receipts and takings reports live in desk_urls.py.
    *desk_urlpatterns,
]
