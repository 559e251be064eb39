"""Mark live appointments whose slot ended (plus the grace period) as no-shows.

Meant for a timer (cron or a systemd timer, e.g. every 15 minutes). Each appointment is its
own transaction, so one failure never holds the others back, and running it twice is safe.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from appointments.models import LIVE_STATUSES, Appointment
from clinic.exceptions import ClinicError


class Command(BaseCommand):
    help = "Mark appointments as no-shows once their slot has ended plus the grace period."

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        grace = dt.timedelta(minutes=settings.CLINIC_NO_SHOW_GRACE_MINUTES)
        # Coarse filter in SQL (the slot cannot end after its day); the exact slot end is
        # checked per appointment by mark_no_show itself.
        candidates = Appointment.objects.filter(
            status__in=LIVE_STATUSES, schedule__work_date__lte=timezone.localdate(now - grace)
        ).order_by("id")
        marked = skipped = 0
        for appointment in candidates.iterator():
            try:
                appointment.mark_no_show(by=None, now=now)
            except ClinicError:
                skipped += 1  # its slot is still within the grace period, or it moved on
            else:
                marked += 1
        self.stdout.write(f"{marked} appointments marked as no-shows, {skipped} not yet due.")
