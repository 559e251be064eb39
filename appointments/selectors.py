"""Reading appointments, always scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from appointments.models import Appointment
from clinic.models import Role, User
from clinic.prepared import PreparedQuery
from clinic.roles import DESK_ROLES

LIST_RELATIONS = ("department", "schedule__doctor", "schedule__room")

_APPOINTMENT_BY_ID = PreparedQuery(lambda pk: Appointment.objects.filter(pk=pk), pk=int)


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """A patient sees their own bookings; the desk sees all; anyone else none."""
    appointments = Appointment.objects.select_related(*LIST_RELATIONS)
    if user.role == Role.PATIENT:
        return appointments.filter(patient__user=user)
    if user.role in DESK_ROLES:
        return appointments
    return appointments.none()


def get_appointment_for(user: User, pk: int, *, relations: bool = True) -> Appointment:
    """The appointment if this user may see it; otherwise 404, so that another patient's
    booking cannot even be shown to exist. Without `relations`, the desk's lookup reads the
    row alone (for a service that locks and re-reads it anyway)."""
    try:
        if not relations and user.role in DESK_ROLES:
            return _APPOINTMENT_BY_ID.get(pk=pk)
        return appointments_visible_to(user).get(pk=pk)
    except Appointment.DoesNotExist:
        raise Http404 from None
