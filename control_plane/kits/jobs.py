"""Timed jobs (releasing unpaid seat holds, expiring unanswered requests), run by the relay
process every ``housekeeping.interval_s``. Each job is idempotent and commits its own
changes with their outbox events, so running it twice, or in two processes, is harmless.

The scheduler knows no area: each area's ``jobs.py`` lists its jobs in ``JOBS`` and
``control_plane.schedule`` gathers them with plain imports, so a job module that cannot
be imported stops the relay at start-up instead of being skipped with a log line."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from downbeat.settings import Settings

__all__ = ["Job", "run_due_jobs", "run_forever"]

log = logging.getLogger(__name__)

# A job: (session, now, settings) -> how many items it handled. It must commit.
Job = Callable[[Session, datetime, Settings], int]


def run_due_jobs(engine: Engine, now: datetime, settings: Settings, jobs: Mapping[str, Job]) -> dict[str, int]:
    """Runs every job once; a job that raises is logged, counted as -1 and runs again next time."""
    handled: dict[str, int] = {}
    for name, job in sorted(jobs.items()):
        try:
            with Session(engine) as session:
                handled[name] = job(session, now, settings)
        except Exception:
            log.exception("housekeeping job %s failed; it runs again next time", name)
            handled[name] = -1
    return handled


def run_forever(engine: Engine, settings: Settings, jobs: Mapping[str, Job], stop: threading.Event) -> None:
    """The relay process runs this in a thread: every interval, every job once."""
    while not stop.wait(settings.housekeeping.interval_s):
        handled = run_due_jobs(engine, datetime.now(UTC), settings, jobs)
        busy = {name: count for name, count in handled.items() if count}
        if busy:
            log.info("housekeeping: %s", busy)
