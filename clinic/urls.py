"""Root URLconf. Domain apps are included by dotted path so that `clinic` imports none of them."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from clinic import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    # The load balancer's health check: outside any language prefix, no trailing slash.
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/register/", views.register, name="register"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("appointments/", include("appointments.urls")),
    path("visits/", include("visits.urls")),
    path("billing/", include("billing.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("notifications/", include("notifications.urls")),
    path("api/", include("api.urls")),
    path("display/", include("visits.display_urls")),
]

handler500 = "clinic.views.server_error"
