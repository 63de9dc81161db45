"""Calendars run no timed job: a feed is computed when a calendar client asks for it."""

from __future__ import annotations

from control_plane.kits.jobs import Job

__all__ = ["JOBS"]

JOBS: dict[str, Job] = {}
