"""Timed jobs (releasing unpaid seat holds, expiring unanswered requests), run by the relay
process every ``housekeeping.interval_s``. Each job is idempotent and commits its own
changes with their outbox events, so running it twice, or in two processes, is harmless."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from downbeat.settings import Settings

__all__ = ["JOB_MODULES", "Job", "housekeeping_job", "run_due_jobs", "run_forever"]

log = logging.getLogger(__name__)

# A job: (session, now, settings) -> how many items it handled. It must commit.
Job = Callable[[Session, datetime, Settings], int]
_JOBS: dict[str, Job] = {}

# Modules that register jobs with @housekeeping_job; imported on first run.
JOB_MODULES = (
    "control_plane.catalog.holds",
    "control_plane.musicians.expiry",
    "control_plane.rooms.upkeep",
    "control_plane.accounts.upkeep",
)


def housekeeping_job(name: str) -> Callable[[Job], Job]:
    def register(job: Job) -> Job:
        _JOBS[name] = job
        return job

    return register


def run_due_jobs(engine: Engine, now: datetime, settings: Settings) -> dict[str, int]:
    for module in JOB_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            log.exception("housekeeping module %s cannot be imported; its jobs do not run", module)
    handled: dict[str, int] = {}
    for name, job in sorted(_JOBS.items()):
        try:
            with Session(engine) as session:
                handled[name] = job(session, now, settings)
        except Exception:
            log.exception("housekeeping job %s failed; it runs again next time", name)
            handled[name] = -1
    return handled


def run_forever(engine: Engine, settings: Settings, stop: threading.Event) -> None:
    """The relay process runs this in a thread: every interval, every job once."""
    while not stop.wait(settings.housekeeping.interval_s):
        handled = run_due_jobs(engine, datetime.now(UTC), settings)
        busy = {name: count for name, count in handled.items() if count}
        if busy:
            log.info("housekeeping: %s", busy)
