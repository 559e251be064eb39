from __future__ import annotations

import factory
from django.utils import timezone

from clinic.models import NotifyChannel
from clinic.tests.factories import PatientFactory
from notifications.models import Notification, NotificationKind, NotificationStatus, PeriodicRun


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    key = factory.Sequence(lambda n: f"test:{n}")
    patient = factory.SubFactory(PatientFactory)
    channel = NotifyChannel.SMS
    recipient = factory.LazyAttribute(lambda o: o.patient.phone if o.patient else "13900000000")
    kind = NotificationKind.REMINDER
    language = "en"
    subject = "Reminder"
    body = "Your appointment is tomorrow."
    status = NotificationStatus.PENDING
    send_after = factory.LazyFunction(timezone.now)
    sent_at = factory.LazyAttribute(
        lambda o: timezone.now() if o.status == NotificationStatus.SENT else None
    )


class PeriodicRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PeriodicRun

    task_path = factory.Sequence(lambda n: f"tests.task_{n}")
    last_enqueued_at = factory.LazyFunction(timezone.now)
