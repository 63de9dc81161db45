"""Every timed job of the control plane, gathered from each area's ``jobs.py``.

Plain imports on purpose: an area whose jobs cannot be imported fails the relay's start-up.
"""

from __future__ import annotations

from collections.abc import Mapping

from control_plane.accounts import jobs as accounts_jobs
from control_plane.catalog import jobs as catalog_jobs
from control_plane.files import jobs as files_jobs
from control_plane.kits.jobs import Job
from control_plane.messages import jobs as messages_jobs
from control_plane.musicians import jobs as musicians_jobs
from control_plane.rooms import jobs as rooms_jobs

__all__ = ["ALL_JOBS"]

ALL_JOBS: Mapping[str, Job] = {
    **catalog_jobs.JOBS,
    **musicians_jobs.JOBS,
    **rooms_jobs.JOBS,
    **accounts_jobs.JOBS,
    **files_jobs.JOBS,
    **messages_jobs.JOBS,
}
