"""A periodic task for the scheduler's tests: counts its runs."""

from __future__ import annotations

from notifications.background import task

RUNS: list[int] = []


@task()
def count_run() -> int:
    RUNS.append(1)
    return len(RUNS)
