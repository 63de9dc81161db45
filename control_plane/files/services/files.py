"""Files and their versions: a checked staged file becomes an object in storage and a
version row, in that order.

The object is stored first, outside any transaction (an S3 upload of a big take takes
seconds, and a SQLite write lock held meanwhile would stall every other writer), under a
fresh random key; then one short transaction numbers the version under the file's row lock
and stages its event. If that transaction fails, the object is deleted again, so a refused
or failed upload leaves nothing behind. These use cases commit themselves for that reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from sqlalchemy import select

from control_plane.accounts.models import User
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.files.queries import project_role
from control_plane.files.services.events import stage_version_added
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.files.services.staging import Staged, kind_mismatch
from control_plane.kits.db.types import DB, utcnow
from control_plane.kits.storage import ObjectStorage
from control_plane.musicians.models import Project

__all__ = [
    "AlsoRecord",
    "Stored",
    "add_file",
    "add_version",
    "clean_name",
    "delete_file",
    "ensure_may_manage",
    "purge_deleted",
    "rename_file",
]

NAME_MAX = 200


@dataclass(frozen=True)
class Stored:
    file: ProjectFile
    version: FileVersion


def clean_name(name: str | None, fallback: str) -> str:
    """A display name: the given one or the uploaded file's, without any folder part,
    control characters or surrounding spaces; never empty."""
    for candidate in (name, PurePath((fallback or "").replace("\\", "/")).name):
        text = "".join(ch for ch in (candidate or "") if ch.isprintable()).strip()[:NAME_MAX]
        if text:
            return text
    return "Untitled"


def _new_key(project_id: int, staged: Staged) -> str:
    return f"projects/{project_id}/{uuid.uuid4().hex}"


def _store(storage: ObjectStorage, project_id: int, staged: Staged) -> str:
    """Hand the staged file to storage, which takes it over on success. On failure it stays
    where it is: a finished resumable upload is then recorded again on the next try, and the
    multipart route removes its own."""
    key = _new_key(project_id, staged)
    storage.put_file(key, staged.path, content_type=staged.sniffed.content_type)
    return key


def _version(file: ProjectFile, number: int, key: str, staged: Staged, actor: User, note: str) -> FileVersion:
    audio = file.kind == "audio"
    return FileVersion(
        file=file,
        number=number,
        storage_key=key,
        size=staged.size,
        content_type=staged.sniffed.content_type,
        sha256=staged.sha256,
        note=note,
        uploaded_by=actor,
        analysis_status="pending" if audio else "none",
        analysis_requested_at=utcnow() if audio else None,
        analysis_attempts=1 if audio else 0,
    )


# Runs inside the recording transaction (a finished resumable upload marks itself done
# there, so "done" and the version it made commit together).
AlsoRecord = Callable[[ProjectFile, FileVersion], None]


def add_file(
    db: DB,
    storage: ObjectStorage,
    actor: User,
    project: Project,
    staged: Staged,
    *,
    name: str,
    note: str,
    also: AlsoRecord | None = None,
) -> Stored:
    """A new file whose first version is ``staged``; committed. The caller checked that
    ``actor`` may upload to ``project`` (owner or member)."""
    project_id, actor_id = project.id, actor.id
    db.commit()  # hold no transaction (or SQLite write lock) while the bytes travel
    key = _store(storage, project_id, staged)
    try:
        project = _project(db, project_id)
        actor = _actor(db, actor_id)
        if project_role(db, project, actor.id) is None:  # left the project while uploading
            raise not_found("project")
        now = utcnow()
        file = ProjectFile(
            project_id=project.id,
            name=name,
            kind=staged.sniffed.kind,
            current_version=1,
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        db.add(file)
        version = _version(file, 1, key, staged, actor, note)
        db.add(version)
        db.flush()
        stage_version_added(db, project, file, version, actor)
        if also is not None:
            also(file, version)
        db.commit()
    except BaseException:
        db.rollback()
        storage.delete(key)
        raise
    return Stored(file, version)


def add_version(
    db: DB,
    storage: ObjectStorage,
    actor: User,
    file: ProjectFile,
    staged: Staged,
    *,
    note: str,
    also: AlsoRecord | None = None,
) -> Stored:
    """``staged`` becomes the file's next and current version; committed. 422 when its bytes
    are another kind than the file's (a take does not turn into a PDF)."""
    if staged.sniffed.kind != file.kind:
        staged.path.unlink(missing_ok=True)
        raise kind_mismatch(file.kind, staged.sniffed.kind)
    file_id, actor_id, project_id = file.id, actor.id, file.project_id
    db.commit()
    key = _store(storage, project_id, staged)
    try:
        # The row lock numbers concurrent versions one after the other (SQLite: BEGIN IMMEDIATE).
        locked = db.scalar(
            select(ProjectFile).where(ProjectFile.id == file_id, ProjectFile.deleted_at.is_(None)).with_for_update()
        )
        if locked is None:
            raise not_found()
        actor = _actor(db, actor_id)
        project = _project(db, locked.project_id)
        if project_role(db, project, actor.id) is None:
            raise not_found()
        number = locked.current_version + 1
        version = _version(locked, number, key, staged, actor, note)
        db.add(version)
        locked.current_version = number
        locked.updated_at = utcnow()
        db.flush()
        stage_version_added(db, project, locked, version, actor)
        if also is not None:
            also(locked, version)
        db.commit()
    except BaseException:
        db.rollback()
        storage.delete(key)
        raise
    return Stored(locked, version)


def ensure_may_manage(file: ProjectFile, actor: User, project: Project) -> None:
    """Renaming and deleting: the project's owner, or whoever created the file."""
    if actor.id not in (project.owner_id, file.created_by_id):
        raise FilesRefused(
            403, "not-file-manager", "Only the project's owner or the file's creator may rename or delete it"
        )


def rename_file(db: DB, file: ProjectFile, name: str) -> ProjectFile:
    """The caller commits."""
    file.name = clean_name(name, "")
    file.updated_at = utcnow()
    return file


def delete_file(db: DB, file: ProjectFile, now: datetime | None = None) -> None:
    """Hidden at once; :func:`purge_deleted` removes its bytes and rows. The caller commits."""
    file.deleted_at = now or utcnow()


def purge_deleted(db: DB, storage: ObjectStorage, limit: int = 50) -> int:
    """Remove the objects of deleted files, then their rows; committed per file, so a crash
    half-way repeats only deletes (which storage treats as done when the object is gone)."""
    purged = 0
    ids = list(
        db.scalars(
            select(ProjectFile.id).where(ProjectFile.deleted_at.is_not(None)).order_by(ProjectFile.id).limit(limit)
        )
    )
    db.commit()
    for file_id in ids:
        keys = list(db.scalars(select(FileVersion.storage_key).where(FileVersion.file_id == file_id)))
        db.commit()
        for key in keys:
            storage.delete(key)  # an object already gone counts as deleted
        file = db.get(ProjectFile, file_id)
        if file is not None:
            db.delete(file)
        db.commit()
        purged += 1
    return purged


def _project(db: DB, project_id: int) -> Project:
    project = db.get(Project, project_id)
    if project is None:
        raise not_found("project")
    return project


def _actor(db: DB, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise not_found("user")
    return user
