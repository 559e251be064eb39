"""Reading appointments, always scoped to what the asking user may see."""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.http import Http404

from appointments.models import VISIT_STATUS_ANNOTATION, Appointment
from clinic.models import Role, User
from clinic.roles import DESK_ROLES

LIST_RELATIONS = ("department", "schedule__doctor", "schedule__room", "window")


def with_visit_status(appointments: QuerySet[Appointment]) -> QuerySet[Appointment]:
    """The bookings with their visit's status read in the same query (a join on the visit's
    unique appointment column): what `Appointment.display_status` needs, at no query per
    row."""
    return appointments.annotate(**{VISIT_STATUS_ANNOTATION: F("visit__status")})


def appointments_visible_to(user: User) -> QuerySet[Appointment]:
    """A patient sees their own bookings (with their visit's status: the patient is shown
    "checked in" while at the clinic); the desk sees all; anyone else none."""
    appointments = Appointment.objects.select_related(*LIST_RELATIONS)
    if user.role == Role.PATIENT:
        return with_visit_status(appointments.filter(patient__user=user))
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
