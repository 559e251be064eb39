"""The messages' tasks: send one (enqueued when it is written), send what is due (periodic)."""

from __future__ import annotations

from django.core.management import call_command

from notifications import services
from notifications.background import task


@task()
def send_notification(notification_id: int) -> str:
    return services.send(notification_id)


@task()
def send_due_notifications() -> int:
    """Send every message that is due: reminders at their hour, retries after their delay,
    and anything a worker stopped before sending. Safe to run twice at once."""
    sent = 0
    while ids := services.due_ids():
        progressed = False
        for notification_id in ids:
            status = services.send(notification_id)
            sent += status == "sent"
            progressed = progressed or status != "pending"
        if not progressed:
            break  # all of them failed and wait for their retry time
    return sent


@task()
def prune_task_results() -> None:
    """Finished task results older than a week go (django-tasks-db keeps every one)."""
    call_command("prune_db_task_results", min_age_days=7, queue_name="*", verbosity=0)
