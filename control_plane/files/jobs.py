"""Timed file work, run by the relay's housekeeping: remove the bytes of deleted files,
remove resumable uploads nobody finished, and ask again for audio analyses that stalled.
Each is idempotent and commits its own work, so two processes running it is harmless."""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from control_plane.files.services.analysis import request_stalled
from control_plane.files.services.files import purge_deleted
from control_plane.files.services.uploads import discard_upload, expired_uploads
from control_plane.kits.jobs import Job
from control_plane.kits.storage import ObjectStorage
from control_plane.kits.storage.factory import storage_from_settings
from downbeat.settings import Settings

__all__ = ["JOBS", "expire_uploads", "purge_deleted_files", "retry_stalled_analyses"]

log = logging.getLogger(__name__)


@functools.cache
def _storage(settings: Settings) -> ObjectStorage:
    return storage_from_settings(settings)


def purge_deleted_files(session: Session, now: datetime, settings: Settings) -> int:
    return purge_deleted(session, _storage(settings))


def expire_uploads(session: Session, now: datetime, settings: Settings) -> int:
    rows = expired_uploads(session, now)
    for upload in rows:
        discard_upload(session, settings.data_path, upload)
    session.commit()
    return len(rows)


def retry_stalled_analyses(session: Session, now: datetime, settings: Settings) -> int:
    count = request_stalled(session, timedelta(minutes=settings.files.analysis_retry_minutes), now)
    session.commit()
    return count


JOBS: dict[str, Job] = {
    "files.purge_deleted": purge_deleted_files,
    "files.expire_uploads": expire_uploads,
    "files.retry_stalled_analyses": retry_stalled_analyses,
}
