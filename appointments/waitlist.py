"""The waitlist: patients waiting for a full booking window, and the offers of freed places."""

from __future__ import annotations

from scheduling.models import Schedule


def offer_freed_place(*, schedule: Schedule, window_id: int) -> None:
    """A place of this window was just given back (inside the transaction that gave it back,
    with the schedule's row locked): offer it to the first patient waiting for it."""
