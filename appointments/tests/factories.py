from __future__ import annotations

import factory

from appointments.models import Appointment, AppointmentStatus
from clinic.tests.factories import PatientFactory
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
