"""Who may call an endpoint, by role. The roles themselves and each group of them are the
clinic's (`clinic.roles`); which objects a caller may touch is decided by the scoped queries
of each app (a patient's own bookings, a doctor's own visits): 404 otherwise."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasRole(BasePermission):
    """Signed in, active, and of one of `roles` (the user's `role` code). Anonymous callers
    get 401, others 403."""

    roles: frozenset[str] = frozenset()

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(
            user is not None
            and user.is_authenticated
            and user.is_active
            and getattr(user, "role", None) in self.roles
        )
