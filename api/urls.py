"""The JSON API under /api/: each app's routes (its `api_urls`, included by name so that this
infrastructure imports no app), the schema and its browser, and a JSON 404 for the rest.

Paths are a contract with other programs (no trailing slash). Every route must have its
expected status per role in tests/api/test_permissions_matrix.py, which fails otherwise.
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.exceptions import not_found

app_name = "api"

urlpatterns = [
    path("", include("clinic.api_urls")),
    path("", include("scheduling.api_urls")),
    path("", include("appointments.api_urls")),
    path("", include("visits.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("notifications.api_urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Anything else under /api/ answers with the JSON 404 body, not the site's HTML page.
    re_path(r"^[\s\S]*$", not_found, name="not-found"),
]
