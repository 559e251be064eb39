from __future__ import annotations

import factory
from django.utils import timezone

from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.models import Schedule, TimeSlot


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A schedule whose room and doctor belong to its department, as the rules require."""

    class Meta:
        model = Schedule

    doctor = factory.SubFactory(DoctorFactory)
    department = factory.LazyAttribute(lambda o: o.doctor.department)
    room = factory.SubFactory(RoomFactory, department=factory.SelfAttribute("..department"))
    work_date = factory.LazyFunction(timezone.localdate)
    time_slot = TimeSlot.MORNING
    max_patients = 10
    current_patients = 0
