from __future__ import annotations

import factory
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus, WaitlistEntry
from clinic.tests.factories import DepartmentFactory, PatientFactory
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    schedule = factory.SubFactory(ScheduleFactory)
    department = factory.LazyAttribute(lambda o: o.schedule.department)
    patient = factory.SubFactory(PatientFactory)
    patient_name = factory.LazyAttribute(lambda o: o.patient.name if o.patient else "Caller")
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "13700000000")
    expected_time = factory.LazyAttribute(lambda o: o.schedule.starts_at)
    status = AppointmentStatus.PENDING


class WaitlistEntryFactory(factory.django.DjangoModelFactory):
    """A patient waiting for any time of a morning (no place held)."""

    class Meta:
        model = WaitlistEntry

    patient = factory.SubFactory(PatientFactory)
    patient_name = factory.LazyAttribute(lambda o: o.patient.name if o.patient else "Caller")
    phone = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "13700000000")
    department = factory.SubFactory(DepartmentFactory)
    work_date = factory.LazyFunction(timezone.localdate)
    time_slot = TimeSlot.MORNING
