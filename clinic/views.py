"""Core pages: the role-based home redirect, sign-in and patient registration."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters

from clinic.exceptions import ClinicError
from clinic.forms import LoginForm, RegistrationForm, apply_clinic_error
from clinic.roles import HOME_URL_NAMES
from clinic.services import register_patient_account


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_URL_NAMES[request.user.role])


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True


@sensitive_post_parameters("password1", "password2", "id_card")
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegistrationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
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
                )
            except ClinicError as error:
                apply_clinic_error(form, error, {"id_type": "id_card"})
                status = error.status
            else:
                login(
                    request, registration.user, backend="django.contrib.auth.backends.ModelBackend"
                )
                if registration.linked_existing:
                    messages.success(
                        request, _("Welcome back: your records at the clinic are linked.")
                    )
                elif registration.needs_desk_review:
                    messages.warning(
                        request,
                        _(
                            "This ID number is already on a record at the clinic. Your "
                            "account works now; the front desk will check your identity "
                            "and link your earlier records on your next visit."
                        ),
                    )
                else:
                    messages.success(request, _("Your account is ready. You can book now."))
                return redirect("home")
        else:
            status = 400
    return render(request, "registration/register.html", {"form": form}, status=status)
