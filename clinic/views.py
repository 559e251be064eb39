"""Core pages: the role-based home redirect, sign-in and patient registration."""

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
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET

from clinic.client_address import AuthRateThrottle
from clinic.exceptions import ClinicError
from clinic.forms import LoginForm, RegistrationForm, apply_clinic_error
from clinic.middleware import is_database_unreachable
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
    """handler500. While the database cannot be reached, answer 503 (the page, or the API's
    JSON error) instead of 500: the request may simply be retried in a moment."""
    error = sys.exc_info()[1]
    if error is not None and is_database_unreachable(error):
        logger.error("database unreachable during %s %s", request.method, request.path)
        message = _("The clinic system is briefly unavailable. Please try again in a minute.")
        if request.path.startswith("/api/"):
            response: HttpResponse = JsonResponse(
                {"error": {"code": "service_unavailable", "message": message, "details": {}}},
                status=503,
            )
        else:
            response = HttpResponse(
                loader.render_to_string("503.html", {"message": message}), status=503
            )
        response["Retry-After"] = "30"
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
