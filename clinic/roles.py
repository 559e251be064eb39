"""Role checks for views: who may open a page is decided on the server, per request."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

from clinic.exceptions import PermissionDenied as ClinicPermissionDenied
from clinic.models import Role

ViewFunc = Callable[..., HttpResponse]


def role_required(*roles: str) -> Callable[[ViewFunc], ViewFunc]:
    """Anonymous users go to the login page; signed-in users of another role get 403."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if not user.is_authenticated:
                if getattr(request, "htmx", False):
                    # A fragment request after the session ended: send the whole page to
                    # the login form instead of swapping it into a panel.
                    return HttpResponseClientRedirect(resolve_url(settings.LOGIN_URL))
                return redirect_to_login(request.get_full_path())
            if user.role not in roles:
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapper.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapper

    return decorator


# The front desk's pages are open to administrators as well.
DESK_ROLES = (Role.RECEPTIONIST, Role.ADMIN)

# Each role's home page, by URL name.
HOME_URL_NAMES = {
    Role.PATIENT: "appointments:my-appointments",
    Role.RECEPTIONIST: "appointments:desk",
    Role.DOCTOR: "visits:doctor-queue",
    Role.ADMIN: "admin:index",
}


def ensure_role(user: Any, *roles: str, allow_system: bool = False) -> None:
    """Domain-level role check for model methods and services.

    `user=None` is the system itself (a timer's management command); only moves that the
    clinic runs automatically accept it.
    """
    if user is None:
        if allow_system:
            return
        raise ClinicPermissionDenied()
    if not user.is_authenticated or not user.is_active or user.role not in roles:
        raise ClinicPermissionDenied()
