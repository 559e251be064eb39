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
        if create and obj.current_patients:
            set_places_taken(obj, obj.current_patients)


def set_places_taken(schedule: Schedule, taken: int) -> None:
    """Set a schedule's counter and its windows' (the earliest first) to `taken` places, for
    tests that make bookings or visits without the services that would count them."""
    Schedule.objects.filter(pk=schedule.pk).update(current_patients=taken)
    schedule.current_patients = taken
    for window in ScheduleWindow.objects.filter(schedule=schedule).order_by("start_time"):
        held = min(taken, window.quota)
        ScheduleWindow.objects.filter(pk=window.pk).update(used=held)
        taken -= held
