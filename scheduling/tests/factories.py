from __future__ import annotations

import factory
from django.utils import timezone

from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.models import Schedule, ScheduleWindow, TimeSlot


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A schedule whose room and doctor belong to its department, as the rules require."""

    class Meta:
        model = Schedule
        skip_postgeneration_save = True

    doctor = factory.SubFactory(DoctorFactory)
    department = factory.LazyAttribute(lambda o: o.doctor.department)
    room = factory.SubFactory(RoomFactory, department=factory.SelfAttribute("..department"))
    work_date = factory.LazyFunction(timezone.localdate)
    time_slot = TimeSlot.MORNING
    max_patients = 10
    current_patients = 0

    @factory.post_generation
    def places_in_windows(obj, create, extracted, **kwargs):
        """The places a test says are taken (`current_patients`) are in the windows too,
        the earliest first, as the counters' invariant wants."""
        if not create or not obj.current_patients:
            return
        left = obj.current_patients
        for window in ScheduleWindow.objects.filter(schedule=obj).order_by("start_time"):
            taken = min(left, window.quota)
            ScheduleWindow.objects.filter(pk=window.pk).update(used=taken)
            left -= taken
