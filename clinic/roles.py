"""Who may do what, by role: the page decorator, the API's permission classes and the check
the services run, from one list of roles per group."""

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
from rest_framework.request import Request

from api.permissions import HasRole
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

# Everyone who works at the clinic (not patients): reference data such as the fee catalogue.
STAFF_ROLES = (Role.RECEPTIONIST, Role.DOCTOR, Role.ADMIN)

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


# The API's permission classes (each endpoint names one): the same groups as the pages.
class IsPatient(HasRole):
    roles = frozenset({Role.PATIENT})


class IsDesk(HasRole):
    """The front desk; administrators may do everything the desk does, as on the pages."""

    roles = frozenset(DESK_ROLES)


class IsDoctor(HasRole):
    roles = frozenset({Role.DOCTOR})

    def has_permission(self, request: Request, view: Any) -> bool:
        # A doctor's account acts for a staff record; without one there are no schedules.
        return super().has_permission(request, view) and request.user.employee_id is not None


class IsAdmin(HasRole):
    roles = frozenset({Role.ADMIN})


class IsStaff(HasRole):
    """The clinic's staff, any role but patients."""

    roles = frozenset(STAFF_ROLES)


class IsSignedIn(HasRole):
    """Any role: reference data every screen needs (departments, availability)."""

    roles = frozenset(Role.values)
