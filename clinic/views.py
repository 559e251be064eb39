"""Core pages: the role-based home redirect, sign-in and patient registration; the error
handler and the load balancer's health check."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from clinic.availability import (
    RETRY_AFTER_SECONDS,
    UNAVAILABLE_MESSAGE,
    cache_ready,
    database_ready,
    is_unavailable,
    unavailable_body,
)
from clinic.client_address import AuthRateThrottle
from clinic.exceptions import ClinicError
from clinic.forms import LoginForm, RegistrationForm, apply_clinic_error
from clinic.roles import HOME_URL_NAMES
from clinic.services import register_patient_account

logger = logging.getLogger(__name__)


@require_GET
@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico for what asks there without reading the page (Django Admin's pages, feed
    readers, bookmarks): the static icon, which whitenoise serves with its hashed name."""
    return redirect(static("favicon.ico"))


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_URL_NAMES[request.user.role])


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


def registration_allowed(request: HttpRequest) -> bool:
    """The registration page shares the API's sign-in and registration allowance per client
    address (clinic.client_address.AuthRateThrottle, scope "auth"), so that the page is no
    way around it."""
    return AuthRateThrottle().allow_request(request, _REGISTRATION_PAGE)


class _RegistrationPage:
    throttle_scope = "auth"


_REGISTRATION_PAGE = _RegistrationPage()


@sensitive_post_parameters("password1", "password2", "id_card")
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and not registration_allowed(request):
        form.add_error(None, _("Too many attempts from your network. Please try again later."))
        status = 429
    elif request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                registration = register_patient_account(
                    username=data["username"],
                    password=data["password1"],
                    name=data["name"],
                    phone=data["phone"],
                    gender=data["gender"],
                    id_card=data["id_card"] or None,
                    insurance_plan=data.get("insurance_plan"),
                )
            except ClinicError as error:
                apply_clinic_error(form, error, {"id_type": "id_card"})
                status = error.status
            else:
                login(
                    request, registration.user, backend="django.contrib.auth.backends.ModelBackend"
                )
                # The same words whatever was found: registering never tells whether
                # someone is a patient of the clinic.
                messages.success(
                    request,
                    _(
                        "Your account is ready. You can book now. To see your records from "
                        "earlier visits, show your ID card at the front desk."
                    ),
                )
                return redirect("home")
        else:
            status = 400
    return render(request, "registration/register.html", {"form": form}, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500. While the database or the cache cannot be reached, answer 503 (the page,
    or the API's error body) instead of 500: the request may simply be tried again.

    Django calls this handler from inside its `except` around every middleware layer and
    the view, so `sys.exc_info()` holds the error wherever it was raised: in a view, in a
    middleware before the view (a session that cannot be loaded), or in one after it. A
    middleware's `process_exception` would see the view's errors only. (With DEBUG on,
    Django shows its technical page instead.)"""
    error = sys.exc_info()[1]
    if error is not None and is_unavailable(error):
        logger.error("unavailable during %s %s: %r", request.method, request.path, error)
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(unavailable_body(), status=503)
        else:
            # Rendered without the request: nothing (the user, the session) reads the database.
            response = HttpResponse(
                loader.render_to_string("503.html", {"message": UNAVAILABLE_MESSAGE}),
                status=503,
            )
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "server_error",
                    "message": _("Something went wrong. The error has been logged."),
                    "details": {},
                }
            },
            status=500,
        )
    return defaults.server_error(request)


@csrf_exempt  # every other method is a 405, a POST too, token or not: it changes nothing
@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """For the load balancer: 200 when this app server can use the database (on Galera, a
    node that is ready) and the cache, 503 with the unified error body otherwise. No sign-in,
    no audit, no session written, no cookie; exempt from the HTTPS redirect (settings)."""
    checks = {
        "database": "ok" if database_ready() else "error",
        "cache": "ok" if cache_ready() else "error",
    }
    if all(value == "ok" for value in checks.values()):
        return JsonResponse({"status": "ok", **checks})
    return JsonResponse(unavailable_body(checks), status=503)


def locked_out(
    request: HttpRequest, credentials: dict | None = None, *args, **kwargs
) -> HttpResponse:
    """django-axes' answer to a locked-out sign-in: the page, or the API's JSON error."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "login_locked",
                    "message": _(
                        "Too many failed sign-in attempts. Try again in %(minutes)d minutes."
                    )
                    % {"minutes": minutes},
                    "details": {"retry_after_minutes": minutes},
                }
            },
            status=429,
        )
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)
