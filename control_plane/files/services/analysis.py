"""The offline analysis of audio versions as the stream worker reports it (``pending`` →
``running`` → ``done`` or ``failed``), and asking again for analyses that stalled (a worker
down, an event lost with a broker's memory). A finished version stays finished: a late or
redelivered report changes nothing and tells the worker to stop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from contracts.files import AnalysisReport, AnalysisStatus
from control_plane.accounts.models import User
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.files.services.events import stage_version_added
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.kits.db.types import DB, utcnow
from control_plane.musicians.models import Project

__all__ = ["MAX_ATTEMPTS", "ReportRecorded", "record_report", "request_stalled"]

MAX_ATTEMPTS = 5
STORED = frozenset(
    {"bpm", "key", "meter", "loudness_lufs", "beats", "downbeats", "waveform", "energy", "energy_hz", "duration_s"}
)


@dataclass(frozen=True)
class ReportRecorded:
    proceed: bool
    status: AnalysisStatus
    project_id: int
    file_id: int
    changed: bool


def record_report(db: DB, version_id: int, report: AnalysisReport) -> ReportRecorded:
    """Apply one report under the version's row lock; the caller commits."""
    version = db.scalar(select(FileVersion).where(FileVersion.id == version_id).with_for_update())
    if version is None or version.analysis_status == "none":
        raise not_found("version")
    file = version.file
    if file.deleted_at is not None:
        raise not_found("version")
    if version.analysis_status == "done":
        return ReportRecorded(False, "done", file.project_id, file.id, changed=False)
    if report.status == "done":
        if report.result is None:
            raise FilesRefused(422, "result-missing", "a finished analysis carries its result")
        version.analysis = report.result.model_dump(include=set(STORED))
        version.analysis_status, version.analysis_progress, version.analysis_error = "done", 1.0, None
    elif report.status == "failed":
        version.analysis_status = "failed"
        version.analysis_error = (report.error or "analysis failed")[:2000]
    else:
        version.analysis_status, version.analysis_progress = "running", max(report.progress, 0.0)
    return ReportRecorded(True, report.status, file.project_id, file.id, changed=True)


def request_stalled(db: DB, older_than: timedelta, now: datetime | None = None, limit: int = 50) -> int:
    """Re-send the event of audio versions still pending or running ``older_than`` after it
    was last asked for, up to MAX_ATTEMPTS; after that the version is marked failed. The
    caller commits."""
    moment = now or utcnow()
    rows = db.scalars(
        select(FileVersion)
        .join(ProjectFile, ProjectFile.id == FileVersion.file_id)
        .where(
            FileVersion.analysis_status.in_(("pending", "running")),
            FileVersion.analysis_requested_at < moment - older_than,
            ProjectFile.deleted_at.is_(None),
        )
        .order_by(FileVersion.analysis_requested_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    count = 0
    for version in rows:
        if version.analysis_attempts >= MAX_ATTEMPTS:
            version.analysis_status = "failed"
            version.analysis_error = f"no analysis after {MAX_ATTEMPTS} attempts"
            continue
        version.analysis_attempts += 1
        version.analysis_requested_at = moment
        file = version.file
        project = db.get(Project, file.project_id)
        uploader = db.get(User, version.uploaded_by_id)
        if project is None or uploader is None:
            continue
        stage_version_added(db, project, file, version, uploader, attempt=version.analysis_attempts)
        count += 1
    return count
