"""Payments run no timed job yet: unpaid seat holds are released by the catalog's job
(``catalog.jobs``), which cancels their payments."""

from __future__ import annotations

from control_plane.kits.jobs import Job

__all__ = ["JOBS"]

JOBS: dict[str, Job] = {}
