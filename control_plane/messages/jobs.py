"""Timed jobs of the messages area: none, on purpose. Membership catches up whenever a
conversation is used (services.membership), tombstones are kept for good, reports wait for
the admins, and telling people who are away is the notification service's timer's work."""

from __future__ import annotations

from control_plane.kits.jobs import Job

__all__ = ["JOBS"]

JOBS: dict[str, Job] = {}
