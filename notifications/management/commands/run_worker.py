"""The clinic's background worker: django-tasks-db's `db_worker` for every queue, with the
periodic tasks' scheduler (notifications.periodic) in a thread of the same process.

Run one per machine (systemd unit in README.md); `make run` starts one beside the server.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection

from clinic.db import is_database_unreachable
from notifications.periodic import enqueue_due

logger = logging.getLogger(__name__)

# After losing its database (a Galera node killed, a server restarting), the worker starts
# again this many seconds later, through whatever node the load balancer then offers.
RESTART_SECONDS = 5.0


def _schedule_forever(every: float) -> None:
    while True:
        close_old_connections()
        try:
            enqueue_due()
        except Exception:  # the database away for a moment, or a bug: log it, go on
            logger.exception("periodic tasks could not be enqueued")
            connection.close()
        time.sleep(every)


class Command(BaseCommand):
    help = "Run background tasks and enqueue the periodic ones (reminders, offers, no-shows)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="Only run tasks; another worker enqueues the periodic ones.",
        )
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks for tasks."
        )
        parser.add_argument(
            "--batch", action="store_true", help="Run what is queued, then exit (no scheduler)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["no_scheduler"] and not options["batch"]:
            threading.Thread(
                target=_schedule_forever, args=(5.0,), name="periodic-tasks", daemon=True
            ).start()
        while True:
            try:
                call_command(
                    "db_worker",
                    queue_name="*",
                    interval=options["interval"],
                    batch=options["batch"],
                    reload=False,
                    startup_delay=False,
                    verbosity=options["verbosity"],
                )
            except DatabaseError as error:
                # db_worker stops on any database error; a lost connection is worth another
                # try (a task it was running stays RUNNING: the periodic sweeps redo its work).
                if options["batch"] or not is_database_unreachable(error):
                    raise
                logger.warning(
                    "the worker lost its database (%r); starting again in %.0f s",
                    error,
                    RESTART_SECONDS,
                )
                connection.close()
                time.sleep(RESTART_SECONDS)
            else:
                return  # stopped by a signal (SIGTERM, SIGINT), or its batch is done
