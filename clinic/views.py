"""Core pages: the role-based home redirect and sign-in."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from clinic.forms import LoginForm
from clinic.roles import HOME_URL_NAMES


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(HOME_URL_NAMES[request.user.role])


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    form_class = LoginForm
    redirect_authenticated_user = True
