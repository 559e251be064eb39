"""Reading appointments, always scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from appointments.models import Appointment
from clinic.models import Role, User
from clinic.roles import DESK_ROLES

LIST_RELATIONS = ("department", "schedule__doctor", "schedule__room")


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """A patient sees their own bookings; the desk sees all; anyone else none."""
    appointments = Appointment.objects.select_related(*LIST_RELATIONS)
    if user.role == Role.PATIENT:
        return appointments.filter(patient__user=user)
    if user.role in DESK_ROLES:
        return appointments
    return appointments.none()


def get_appointment_for(user: User, pk: int) -> Appointment:
    """The appointment if this user may see it; otherwise 404, so that another patient's
    booking cannot even be shown to exist."""
    try:
        return appointments_visible_to(user).get(pk=pk)
    except Appointment.DoesNotExist:
        raise Http404 from None
