"""Writing, sending, cancelling and resending messages (the one place that does)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import NotifyChannel, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.search import parse_term, patient_filter
from notifications.background import enqueue_on_commit
from notifications.channels import send_email, sms_backend
from notifications.exceptions import CannotResend
from notifications.models import Notification, NotificationStatus

logger = logging.getLogger(__name__)

# What the desk may send again (the message log's button, Django Admin's action, the API).
RESENDABLE = (NotificationStatus.FAILED,)

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
    enqueue: bool = True,
) -> Notification | None:
    """Write one message (inside the caller's transaction) and have it sent once that commits
    (at `send_after`, or at once). `key` names what the message is about: a second call with
    the same key returns the first message and writes nothing. `subject` (lazy text) and
    the template are rendered in the patient's language. None when there is nowhere to send.
    `enqueue=False`: the caller writing many has them sent by one `send_due_notifications`.
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
        body = render_to_string(template, context, using="plain_text").strip()
        subject_text = str(subject)
    now = timezone.now()
    try:
        # A savepoint: two transactions writing the same key at once (a task retried while
        # the first still runs) leave the caller's transaction usable; the first one wins.
        with transaction.atomic():
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
    except IntegrityError:
        existing = Notification.objects.filter(key=key).first()
        if existing is None:
            raise
        return existing
    if enqueue and notification.send_after <= now:
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


# A message is claimed for CLAIM_TIMEOUT while a worker delivers it (outside any transaction:
# a slow channel holds no lock). A worker that dies before recording the outcome leaves it to
# be sent again after that: at least once, and once where the channel drops a repeat of the
# key (the file backend, a gateway given {key}).
CLAIM_TIMEOUT = dt.timedelta(minutes=10)


@atomic_with_retry
def _claim(notification_id: int, now: dt.datetime) -> Notification | None:
    """Take a due message for delivery (one short transaction): its attempt counted and its
    next due time pushed past the claim. None when it is not due, not pending, or another
    worker holds its row."""
    notification = (
        Notification.objects.select_for_update(skip_locked=True)
        .filter(pk=notification_id, status=NotificationStatus.PENDING, send_after__lte=now)
        .first()
    )
    if notification is None:
        return None
    notification.attempts += 1
    notification.send_after = now + CLAIM_TIMEOUT
    notification.save(update_fields=["attempts", "send_after"])
    return notification


@atomic_with_retry
def _record(notification_id: int, *, error: str | None, now: dt.datetime) -> str:
    """The outcome of a delivery: sent, or tried again after its delay, or failed for good."""
    notification = Notification.objects.select_for_update().get(pk=notification_id)
    if error is None:
        # Delivered: the truth, even if the message was cancelled while on its way.
        notification.status = NotificationStatus.SENT
        notification.sent_at = now
        notification.error = ""
    else:
        notification.error = error[:500]
        if notification.status == NotificationStatus.PENDING:
            if notification.attempts >= MAX_ATTEMPTS:
                notification.status = NotificationStatus.FAILED
            else:
                notification.send_after = now + RETRY_DELAYS[notification.attempts - 1]
    notification.save(update_fields=["error", "status", "send_after", "sent_at"])
    return notification.status


def send(notification_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one message if it is due and not being sent; returns its status after. Claimed
    in one transaction, delivered outside any, the outcome recorded in another: a retried
    transaction never delivers twice, and a slow channel keeps no row locked."""
    now = now or timezone.now()
    claimed = _claim(notification_id, now)
    if claimed is None:
        status = Notification.objects.filter(pk=notification_id).values_list("status", flat=True)
        return status.first() or "missing"
    try:
        _deliver(claimed)
    except Exception as error:
        logger.warning("message %s not delivered: %s", claimed.key, error)
        return _record(claimed.pk, error=str(error) or type(error).__name__, now=now)
    return _record(claimed.pk, error=None, now=now)


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
    """The desk sends a failed message again, now, to where it went before. Not a cancelled
    one: it was cancelled because it was no longer true (a reminder of a booking cancelled,
    an offer over)."""
    ensure_role(by, *DESK_ROLES)
    notification = Notification.objects.select_for_update().get(pk=notification.pk)
    if notification.status not in RESENDABLE:
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


def message_log(
    *, patient_text: str = "", patient_id: int | None = None, kind: str = "", status: str = ""
) -> QuerySet[Notification]:
    """The desk's message log, newest first: by patient (the one search rule of clinic.search:
    a name, phone or ID number as typed, or a record's id), kind and status."""
    messages = Notification.objects.select_related("patient").order_by("-created_at", "-id")
    if patient_text:
        messages = messages.filter(patient_filter(parse_term(patient_text), prefix="patient__"))
    if patient_id is not None:
        messages = messages.filter(patient_id=patient_id)
    if kind:
        messages = messages.filter(kind=kind)
    if status:
        messages = messages.filter(status=status)
    return messages


def recent_messages(patient: Patient, *, limit: int = 10) -> list[Notification]:
    """A patient's latest messages (their desk page)."""
    return list(message_log(patient_id=patient.pk)[:limit])


# What a patient chooses about their messages (Patient's fields), in the order forms show them.
MESSAGE_SETTINGS = ("notify_channel", "email", "language", "reminders_enabled")


def _ensure_may_change_settings(patient: Patient, by: User) -> None:
    """The patient themself (the record their account acts for), or the desk."""
    if by is not None and by.is_authenticated and by.role == Role.PATIENT:
        if patient.user_id != by.pk:
            raise PermissionDenied()
        ensure_role(by, Role.PATIENT)
        return
    ensure_role(by, *DESK_ROLES)


def validate_message_settings(*, notify_channel: str, email: str) -> None:
    """E-mail is chosen only with an address to send to (InvalidInput otherwise)."""
    if notify_channel == NotifyChannel.EMAIL and not email:
        raise InvalidInput(
            details={"email": [_("Give an e-mail address to receive messages by e-mail.")]}
        )


@atomic_with_retry
def change_message_settings(
    *,
    patient: Patient,
    by: User,
    notify_channel: str,
    email: str,
    language: str,
    reminders_enabled: bool,
) -> Patient:
    """How a patient receives messages: channel, e-mail address, language, reminders on/off.
    The same rule for the patient's own page and API and for the desk; audited as
    patient.message_settings_changed with the old and new values (nothing changed: nothing
    written). Messages already written keep where they were going."""
    _ensure_may_change_settings(patient, by)
    email = (email or "").strip()
    validate_message_settings(notify_channel=notify_channel, email=email)
    if notify_channel not in NotifyChannel.values:
        raise InvalidInput(details={"notify_channel": [_("Choose a valid channel.")]})
    if language not in dict(Patient._meta.get_field("language").choices):
        raise InvalidInput(details={"language": [_("Choose a valid language.")]})
    record = Patient.objects.select_for_update().get(pk=patient.pk)
    wanted = {
        "notify_channel": notify_channel,
        "email": email,
        "language": language,
        "reminders_enabled": bool(reminders_enabled),
    }
    old = {name: getattr(record, name) for name in MESSAGE_SETTINGS}
    changed = [name for name in MESSAGE_SETTINGS if old[name] != wanted[name]]
    if not changed:
        return record
    for name in changed:
        setattr(record, name, wanted[name])
    record.save(update_fields=changed)
    record_event(
        actor=by,
        action="patient.message_settings_changed",
        obj=record,
        patient=record,
        old={name: old[name] for name in changed},
        new={name: wanted[name] for name in changed},
    )
    return record
