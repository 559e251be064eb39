"""Writing, sending, cancelling and resending messages (notifications.services)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core import mail
from django.utils import timezone

from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AuditEvent, NotifyChannel
from clinic.tests.factories import PatientFactory
from notifications import services
from notifications.channels import DeliveryError
from notifications.exceptions import CannotResend
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.tests.factories import NotificationFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def write(patient=None, *, key="test:1", template, **kwargs) -> Notification | None:
    return services.notify(
        key=key,
        kind=NotificationKind.REMINDER,
        subject="Reminder",
        template=template,
        context={"name": "Wang"},
        patient=patient,
        **kwargs,
    )


def sms_files(settings) -> list[Path]:
    return sorted(Path(settings.CLINIC_SMS_FILE_DIR).glob("*.txt"))


# --- notify ----------------------------------------------------------------------------------


def test_a_second_notify_with_the_same_key_returns_the_first_message(test_templates):
    patient = PatientFactory()
    first = write(patient, template=test_templates, send_after=NOW + dt.timedelta(days=1))
    second = write(PatientFactory(), template=test_templates)
    assert second.pk == first.pk
    assert Notification.objects.count() == 1
    assert second.patient_id == patient.pk


def test_notify_sends_at_once_when_due(
    test_templates, settings, django_capture_on_commit_callbacks
):
    patient = PatientFactory(phone="13912345678")
    with django_capture_on_commit_callbacks(execute=True):
        notification = write(patient, template=test_templates)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    (sent,) = sms_files(settings)
    assert sent.read_text(encoding="utf-8").startswith("To: 13912345678\n")


def test_a_later_message_waits_for_its_time(
    test_templates, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notification = write(
            PatientFactory(),
            template=test_templates,
            send_after=timezone.now() + dt.timedelta(hours=1),
        )
    assert callbacks == []
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING
    assert sms_files(settings) == []


def test_email_is_chosen_only_with_an_address(test_templates):
    with_address = PatientFactory(notify_channel=NotifyChannel.EMAIL, email="wang@example.com")
    without = PatientFactory(notify_channel=NotifyChannel.EMAIL, email="")
    sms = PatientFactory(notify_channel=NotifyChannel.SMS, email="li@example.com")
    assert services.channel_and_recipient(with_address) == ("email", "wang@example.com")
    assert services.channel_and_recipient(without) == ("sms", without.phone)
    assert services.channel_and_recipient(sms) == ("sms", sms.phone)
    assert services.channel_and_recipient(None, "13900001111") == ("sms", "13900001111")
    message = write(with_address, template=test_templates)
    assert (message.channel, message.recipient) == ("email", "wang@example.com")


def test_nowhere_to_send_writes_nothing(test_templates):
    assert write(None, phone="", template=test_templates) is None
    assert not Notification.objects.exists()


def test_the_text_is_in_the_patients_language(test_templates):
    chinese = write(PatientFactory(language="zh-hans"), key="k:zh", template=test_templates)
    english = write(PatientFactory(language="en"), key="k:en", template=test_templates)
    assert chinese.language == "zh-hans"
    assert chinese.body.startswith("已确认: Wang")
    assert english.language == "en"
    assert english.body.startswith("Confirmed: Wang")
    forced = write(
        PatientFactory(language="en"), key="k:f", template=test_templates, language="zh-hans"
    )
    assert forced.body.startswith("已确认")


# --- send ------------------------------------------------------------------------------------


def test_send_delivers_once_and_records_it(settings):
    notification = NotificationFactory(send_after=NOW)
    assert services.send(notification.pk, now=NOW) == NotificationStatus.SENT
    notification.refresh_from_db()
    assert (notification.status, notification.sent_at, notification.attempts) == ("sent", NOW, 1)
    assert services.send(notification.pk, now=NOW) == NotificationStatus.SENT
    notification.refresh_from_db()
    assert notification.attempts == 1
    assert len(sms_files(settings)) == 1


def test_a_message_not_due_is_not_sent(settings):
    notification = NotificationFactory(send_after=NOW + dt.timedelta(minutes=1))
    assert services.send(notification.pk, now=NOW) == NotificationStatus.PENDING
    notification.refresh_from_db()
    assert notification.attempts == 0
    assert sms_files(settings) == []


def test_a_cancelled_message_is_not_sent(settings):
    notification = NotificationFactory(send_after=NOW, status=NotificationStatus.CANCELLED)
    assert services.send(notification.pk, now=NOW) == NotificationStatus.CANCELLED
    assert sms_files(settings) == []


def test_send_of_a_missing_message():
    assert services.send(999_999, now=NOW) == "missing"


class Refusing:
    def send(self, message) -> None:
        raise DeliveryError("The gateway answered 503.")


def test_a_failure_is_retried_after_1_then_5_minutes_then_fails(settings):
    settings.CLINIC_SMS_BACKEND = f"{__name__}.Refusing"
    notification = NotificationFactory(send_after=NOW)
    assert services.send(notification.pk, now=NOW) == NotificationStatus.PENDING
    notification.refresh_from_db()
    assert notification.attempts == 1
    assert notification.send_after == NOW + dt.timedelta(minutes=1)
    assert notification.error == "The gateway answered 503."
    assert services.due_ids(NOW) == []
    later = NOW + dt.timedelta(minutes=1)
    assert services.due_ids(later) == [notification.pk]
    assert services.send(notification.pk, now=later) == NotificationStatus.PENDING
    notification.refresh_from_db()
    assert notification.send_after == later + dt.timedelta(minutes=5)
    last = later + dt.timedelta(minutes=5)
    assert services.send(notification.pk, now=last) == NotificationStatus.FAILED
    notification.refresh_from_db()
    assert notification.attempts == services.MAX_ATTEMPTS == 3
    assert notification.status == NotificationStatus.FAILED
    assert notification.sent_at is None
    assert services.due_ids(last + dt.timedelta(days=1)) == []


def test_send_due_notifications_sends_what_is_due(settings):
    from notifications.tasks import send_due_notifications

    due = NotificationFactory.create_batch(3, send_after=timezone.now() - dt.timedelta(minutes=1))
    later = NotificationFactory(send_after=timezone.now() + dt.timedelta(hours=1))
    result = send_due_notifications.enqueue()
    assert result.return_value == 3
    assert set(Notification.objects.filter(status="sent").values_list("pk", flat=True)) == {
        n.pk for n in due
    }
    later.refresh_from_db()
    assert later.status == NotificationStatus.PENDING


def test_send_due_notifications_stops_when_all_wait_for_their_retry(settings):
    from notifications.tasks import send_due_notifications

    settings.CLINIC_SMS_BACKEND = f"{__name__}.Refusing"
    NotificationFactory.create_batch(2, send_after=timezone.now() - dt.timedelta(minutes=1))
    assert send_due_notifications.enqueue().return_value == 0
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_cancel_pending_cancels_only_messages_not_sent():
    pending = NotificationFactory(key="reminder:1")
    sent = NotificationFactory(key="reminder:2", status=NotificationStatus.SENT)
    failed = NotificationFactory(key="reminder:3", status=NotificationStatus.FAILED)
    other = NotificationFactory(key="reminder:4")
    assert services.cancel_pending("reminder:1", "reminder:2", "reminder:3", "nothing:1") == 1
    for notification in (pending, sent, failed, other):
        notification.refresh_from_db()
    assert pending.status == NotificationStatus.CANCELLED
    assert (sent.status, failed.status, other.status) == ("sent", "failed", "pending")


# --- resend ----------------------------------------------------------------------------------


def test_the_desk_resends_a_failed_message(
    receptionist, settings, django_capture_on_commit_callbacks
):
    status = NotificationStatus.FAILED
    notification = NotificationFactory(status=status, attempts=3, error="The gateway answered 503.")
    with django_capture_on_commit_callbacks(execute=True):
        services.resend(notification=notification, by=receptionist)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    event = AuditEvent.objects.get(action="notification.resent")
    assert event.actor == receptionist
    assert event.patient_id == notification.patient_id
    assert event.object_id == str(notification.pk)
    assert event.old_values == {"status": status, "attempts": 3}
    assert len(sms_files(settings)) == 1


@pytest.mark.parametrize(
    "status",
    [NotificationStatus.PENDING, NotificationStatus.SENT, NotificationStatus.CANCELLED],
)
def test_a_pending_sent_or_cancelled_message_cannot_be_resent(status, receptionist):
    notification = NotificationFactory(status=status)
    with pytest.raises(CannotResend):
        services.resend(notification=notification, by=receptionist)
    notification.refresh_from_db()
    assert notification.status == status
    assert not AuditEvent.objects.filter(action="notification.resent").exists()


@pytest.mark.parametrize("persona", ["patient", "doctor", "anonymous"])
def test_only_the_desk_resends(persona, personas):
    from django.contrib.auth.models import AnonymousUser

    user = personas[persona] or AnonymousUser()
    notification = NotificationFactory(status=NotificationStatus.FAILED)
    with pytest.raises(PermissionDenied):
        services.resend(notification=notification, by=user)
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.FAILED


def test_an_administrator_resends(admin_user):
    notification = NotificationFactory(status=NotificationStatus.FAILED)
    services.resend(notification=notification, by=admin_user)
    notification.refresh_from_db()
    assert notification.status in (NotificationStatus.PENDING, NotificationStatus.SENT)


# --- message settings ------------------------------------------------------------------------


def settings_of(patient, **changes) -> dict:
    values = {name: getattr(patient, name) for name in services.MESSAGE_SETTINGS}
    return {**values, **changes}


def test_a_patient_changes_their_own_settings(patient_user):
    record = patient_user.patient
    services.change_message_settings(
        patient=record,
        by=patient_user,
        **settings_of(record, notify_channel="email", email=" wang@example.com ", language="en"),
    )
    record.refresh_from_db()
    assert (record.notify_channel, record.email, record.language) == (
        "email",
        "wang@example.com",
        "en",
    )
    event = AuditEvent.objects.get(action="patient.message_settings_changed")
    assert event.patient_id == record.pk
    assert event.old_values == {"notify_channel": "sms", "email": "", "language": "zh-hans"}
    assert event.new_values == {
        "notify_channel": "email",
        "email": "wang@example.com",
        "language": "en",
    }


def test_email_as_the_channel_needs_an_address(patient_user):
    record = patient_user.patient
    with pytest.raises(InvalidInput) as caught:
        services.change_message_settings(
            patient=record, by=patient_user, **settings_of(record, notify_channel="email")
        )
    assert "email" in caught.value.details
    record.refresh_from_db()
    assert record.notify_channel == "sms"


def test_nothing_changed_writes_nothing(receptionist):
    record = PatientFactory()
    services.change_message_settings(patient=record, by=receptionist, **settings_of(record))
    assert not AuditEvent.objects.exists()


def test_another_patient_cannot_change_the_settings(patient_user, other_patient_user):
    record = patient_user.patient
    with pytest.raises(PermissionDenied):
        services.change_message_settings(
            patient=record, by=other_patient_user, **settings_of(record, reminders_enabled=False)
        )


def test_a_doctor_cannot_change_the_settings(doctor_user):
    record = PatientFactory()
    with pytest.raises(PermissionDenied):
        services.change_message_settings(
            patient=record, by=doctor_user, **settings_of(record, reminders_enabled=False)
        )


def test_an_email_message_carries_its_key_in_its_message_id(settings):
    settings.DEFAULT_FROM_EMAIL = "desk@clinic.example"
    patient = PatientFactory(notify_channel="email", email="wang@example.com")
    notification = NotificationFactory(
        key="reminder:42", patient=patient, channel="email", recipient="wang@example.com",
        subject="Your appointment", body="Tomorrow at 9.", send_after=NOW,
    )  # fmt: skip
    assert services.send(notification.pk, now=NOW) == NotificationStatus.SENT
    (email,) = mail.outbox
    assert email.to == ["wang@example.com"]
    assert email.subject == "Your appointment"
    assert email.body == "Tomorrow at 9."
    assert email.extra_headers["Message-ID"] == "<reminder.42@clinic.example>"
    assert email.message()["Message-ID"] == "<reminder.42@clinic.example>"


def test_any_channel_failure_is_a_failed_attempt_and_the_sweep_goes_on(monkeypatch, settings):
    """A backend bug or a garbage answer (not a DeliveryError) is still one failed attempt,
    retried later: the oldest message never blocks the ones behind it."""
    from notifications.tasks import send_due_notifications

    broken = NotificationFactory(send_after=NOW - dt.timedelta(minutes=2), recipient="13800000001")
    fine = NotificationFactory(send_after=NOW - dt.timedelta(minutes=1), recipient="13800000002")
    real_send = services.sms_backend().send

    def send(message):
        if message.key == broken.key:
            raise RuntimeError("BadStatusLine: garbage")
        real_send(message)

    monkeypatch.setattr("notifications.channels.FileSmsBackend.send", lambda self, m: send(m))
    monkeypatch.setattr(services.timezone, "now", lambda: NOW)
    assert send_due_notifications.call() == 1
    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.status, broken.attempts) == (NotificationStatus.PENDING, 1)
    assert "garbage" in broken.error
    assert broken.send_after == NOW + services.RETRY_DELAYS[0]
    assert fine.status == NotificationStatus.SENT


def test_a_claimed_message_is_not_delivered_by_a_second_worker(settings):
    """Delivery happens outside any transaction: a message claimed by one worker is not due
    for another until the claim runs out (then it is sent again: at least once)."""
    message = NotificationFactory(send_after=NOW - dt.timedelta(minutes=1))
    claimed = services._claim(message.pk, NOW)
    assert claimed is not None and claimed.attempts == 1
    assert services.send(message.pk, now=NOW) == NotificationStatus.PENDING
    assert sms_files(settings) == []
    later = NOW + services.CLAIM_TIMEOUT
    assert services.send(message.pk, now=later) == NotificationStatus.SENT
    assert len(sms_files(settings)) == 1


def test_a_message_is_plain_text_never_html_escaped(tmp_path, settings):
    """Names with & or ' reach the patient as written (a text message is not HTML)."""
    patient = PatientFactory(name="O'Brien")
    message = services.notify(
        key="test:plain",
        kind=NotificationKind.REMINDER,
        subject="Reminder",
        template="appointments/waitlist/offer_expired_message.txt",
        context={"department": "Ear, Nose & Throat", "entry": None, "name": patient.name},
        patient=patient,
    )
    assert "&amp;" not in message.body and "&#x27;" not in message.body
    assert "Ear, Nose & Throat" in message.body


@pytest.mark.django_db(transaction=True)
def test_old_finished_task_results_are_pruned(settings):
    """django-tasks-db keeps every task's result: a daily task drops those finished over a
    week ago."""
    from django_tasks_db.models import DBTaskResult

    from notifications.tasks import prune_task_results, send_due_notifications

    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    old = send_due_notifications.using(backend="default").enqueue()
    DBTaskResult.objects.filter(pk=old.id).update(
        status="SUCCESSFUL", finished_at=timezone.now() - dt.timedelta(days=8)
    )
    fresh = send_due_notifications.using(backend="default").enqueue()
    prune_task_results.call()
    assert list(DBTaskResult.objects.values_list("pk", flat=True)) == [fresh.db_result.pk]
