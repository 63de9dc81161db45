"""No timed job here: reminders and e-mail digests are timed by the notification service
itself (``notification_service.reminders``)."""

from __future__ import annotations

from control_plane.kits.jobs import Job

__all__ = ["JOBS"]

JOBS: dict[str, Job] = {}
