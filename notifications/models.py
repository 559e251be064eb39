"""Messages to patients: one row per message, from written to sent (or failed, or cancelled).

A message is written in the transaction that decides it (a booking, an offer), with a unique
`key` that names what it is about ("reminder:<appointment id>"): writing it twice gives the
same row, so a retried task never sends twice. A task sends it (notifications.tasks); the
periodic sweep sends what is due and what a dead worker left behind.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import NotifyChannel, Patient


class NotificationKind(models.TextChoices):
    REMINDER = "reminder", _("Appointment reminder")
    WAITLIST_OFFER = "waitlist_offer", _("Waitlist offer")
    WAITLIST_OFFER_EXPIRED = "offer_expired", _("Waitlist offer expired")


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not sent (no longer needed)")


class Notification(models.Model):
    key = models.CharField(_("key"), max_length=80, unique=True)
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.CharField(_("channel"), max_length=8, choices=NotifyChannel.choices)
    # A phone number (SMS) or an e-mail address, as it was when the message was written.
    recipient = models.CharField(_("recipient"), max_length=254)
    kind = models.CharField(_("kind"), max_length=24, choices=NotificationKind.choices)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=NotificationStatus.choices,
        default=NotificationStatus.PENDING,
    )
    # Not sent before this moment (a reminder is written at booking, sent the evening before).
    send_after = models.DateTimeField(_("send after"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            # The sweep: what is due.
            models.Index(fields=["status", "send_after"], name="notification_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=NotificationStatus.values),
                name="notification_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(channel__in=NotifyChannel.values), name="notification_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=NotificationKind.values), name="notification_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=NotificationStatus.SENT) | Q(sent_at__isnull=False),
                name="notification_sent_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient}"


class PeriodicRun(models.Model):
    """When a periodic task was last enqueued: the row every worker's scheduler locks, so that
    with several workers (several machines) each periodic task is enqueued once per interval."""

    task_path = models.CharField(_("task"), max_length=200, unique=True)
    last_enqueued_at = models.DateTimeField(_("last enqueued at"))

    class Meta:
        verbose_name = _("periodic task")
        verbose_name_plural = _("periodic tasks")

    def __str__(self) -> str:
        return self.task_path
