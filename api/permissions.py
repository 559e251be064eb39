"""Who may call an endpoint, by role. Which objects they may touch is decided by the scoped
queries of each app (a patient's own bookings, a doctor's own visits): 404 otherwise."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from clinic.models import Role
from clinic.roles import DESK_ROLES


class HasRole(BasePermission):
    """Signed in, active, and of one of `roles`. Anonymous callers get 401, others 403."""

    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and user.role in self.roles
        )


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


class IsSignedIn(HasRole):
    """Any role: reference data every screen needs (departments, availability)."""

    roles = frozenset(Role.values)
