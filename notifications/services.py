"""Writing, sending, cancelling and resending messages (the one place that does)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone, translation

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.models import NotifyChannel, Patient, User
from clinic.roles import DESK_ROLES, ensure_role
from notifications.background import enqueue_on_commit
from notifications.channels import DeliveryError, send_email, sms_backend
from notifications.exceptions import CannotResend
from notifications.models import Notification, NotificationStatus

# A message that fails is tried again after 1, then 5 minutes; the third failure is final
# (the desk can resend it from the message log).
RETRY_DELAYS = (dt.timedelta(minutes=1), dt.timedelta(minutes=5))
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def channel_and_recipient(patient: Patient | None, phone: str = "") -> tuple[str, str]:
    """Where a message to this person goes: the patient's chosen channel (e-mail only when
    they gave an address), else a text message to the phone."""
    if patient is not None:
        if patient.notify_channel == NotifyChannel.EMAIL and patient.email:
            return NotifyChannel.EMAIL, patient.email
        return NotifyChannel.SMS, patient.phone
    return NotifyChannel.SMS, phone


def notify(
    *,
    key: str,
    kind: str,
    subject: Any,
    template: str,
    context: dict[str, Any],
    patient: Patient | None = None,
    phone: str = "",
    language: str | None = None,
    send_after: dt.datetime | None = None,
) -> Notification | None:
    """Write one message (inside the caller's transaction) and have it sent once that commits
    (at `send_after`, or at once). `key` names what the message is about: a second call with
    the same key returns the first message and writes nothing. `subject` (lazy text) and
    the template are rendered in the patient's language. None when there is nowhere to send.
    """
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return existing
    channel, recipient = channel_and_recipient(patient, phone)
    if not recipient:
        return None
    language = language or (patient.language if patient is not None else None)
    language = language or translation.get_language() or "zh-hans"
    with translation.override(language):
        body = render_to_string(template, context).strip()
        subject_text = str(subject)
    now = timezone.now()
    notification = Notification.objects.create(
        key=key,
        patient=patient,
        channel=channel,
        recipient=recipient,
        kind=kind,
        language=language,
        subject=subject_text[:200],
        body=body,
        send_after=send_after or now,
    )
    if notification.send_after <= now:
        from notifications.tasks import send_notification

        enqueue_on_commit(send_notification, notification.pk)
    return notification


def cancel_pending(*keys: str) -> int:
    """Messages no longer needed (a reminder for a booking cancelled): those not yet sent are
    never sent. Inside the caller's transaction."""
    return Notification.objects.filter(key__in=keys, status=NotificationStatus.PENDING).update(
        status=NotificationStatus.CANCELLED
    )


def _deliver(notification: Notification) -> None:
    if notification.channel == NotifyChannel.EMAIL:
        send_email(notification)
    else:
        sms_backend().send(notification)


@atomic_with_retry
def send(notification_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one message if it is due and not sent yet; returns its status after. Its row is
    locked while it is delivered, so two workers never deliver it both."""
    now = now or timezone.now()
    notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
    if notification is None:
        return "missing"
    if notification.status != NotificationStatus.PENDING or notification.send_after > now:
        return notification.status
    notification.attempts += 1
    try:
        _deliver(notification)
    except DeliveryError as error:
        notification.error = str(error)[:500]
        if notification.attempts >= MAX_ATTEMPTS:
            notification.status = NotificationStatus.FAILED
        else:
            notification.send_after = now + RETRY_DELAYS[notification.attempts - 1]
    else:
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.error = ""
    notification.save(update_fields=["attempts", "error", "status", "send_after", "sent_at"])
    return notification.status


def due_ids(now: dt.datetime | None = None, *, limit: int = 1000) -> list[int]:
    """The messages due now, oldest first."""
    return list(
        Notification.objects.filter(
            status=NotificationStatus.PENDING, send_after__lte=now or timezone.now()
        )
        .order_by("send_after", "id")
        .values_list("id", flat=True)[:limit]
    )


@atomic_with_retry
def resend(*, notification: Notification, by: User) -> Notification:
    """The desk sends a failed (or cancelled) message again, now, to where it went before."""
    ensure_role(by, *DESK_ROLES)
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if notification.status not in (NotificationStatus.FAILED, NotificationStatus.CANCELLED):
        raise CannotResend()
    old = {"status": notification.status, "attempts": notification.attempts}
    notification.status = NotificationStatus.PENDING
    notification.attempts = 0
    notification.send_after = timezone.now()
    notification.save(update_fields=["status", "attempts", "send_after"])
    record_event(
        actor=by,
        action="notification.resent",
        obj=notification,
        patient=notification.patient,
        old=old,
        new={"status": notification.status},
    )
    from notifications.tasks import send_notification

    enqueue_on_commit(send_notification, notification.pk)
    return notification
