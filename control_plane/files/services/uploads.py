"""Resumable uploads (docs/FILES.md, "Resumable uploads").

The bytes so far are one staging file per upload; its length on disk is the offset. A
chunk is appended as it is read, so whatever reached the disk before a connection dropped
(or the client, or this process, was killed) counts, and the client resumes from the
offset a HEAD tells it. An exclusive ``flock`` on the staging file serialises two requests
appending to one upload (across threads and processes on one host); the loser hears 409.
The PATCH that brings the offset to the declared size hands the file over to
``services.files`` (hash, kind, limit, storage, version row).
"""

from __future__ import annotations

import fcntl
import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import select, update

from control_plane.accounts.models import User
from control_plane.files.models import FileUpload, ProjectFile
from control_plane.files.schemas import UploadBody
from control_plane.files.services.kinds import SNIFF_BYTES, sniff
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.files.services.staging import READ_BYTES, Staged, check_limit, hash_and_sniff, staging_dir
from control_plane.kits.db.types import DB, utcnow
from control_plane.musicians.models import Project

__all__ = [
    "Appended",
    "append_chunk",
    "create_upload",
    "discard_upload",
    "discard_uploads_of",
    "expired_uploads",
    "finished_staged",
    "touch_upload",
    "upload_offset",
    "upload_path",
]


def upload_path(data_path: Path, upload_id: str) -> Path:
    return staging_dir(data_path) / f"upload-{upload_id}.part"


def upload_offset(data_path: Path, upload: FileUpload) -> int:
    if upload.status == "done":
        return upload.size
    try:
        return os.path.getsize(upload_path(data_path, upload.id))
    except FileNotFoundError:
        return 0


def create_upload(
    db: DB,
    data_path: Path,
    actor: User,
    project: Project,
    body: UploadBody,
    *,
    limits: Mapping[str, int],
    expire_after: timedelta,
    file: ProjectFile | None,
) -> FileUpload:
    """Stage the upload row and create its empty staging file; the caller commits. 413 when
    the declared size is over every kind's limit (the kind's own limit is checked as soon as
    the first bytes show the kind)."""
    largest = max(limits.values())
    if body.size > largest:
        raise FilesRefused(
            413,
            "file-too-large",
            f"Files are limited to {largest} bytes",
            errors={"size": [f"larger than the {largest}-byte limit"]},
            limit_bytes=largest,
        )
    upload = FileUpload(
        id=secrets.token_hex(16),
        project_id=project.id,
        file_id=None if file is None else file.id,
        user_id=actor.id,
        name=body.name,
        note=body.note,
        size=body.size,
        status="open",
        expires_at=utcnow() + expire_after,
    )
    db.add(upload)
    upload_path(data_path, upload.id).touch()
    return upload


@contextmanager
def _locked(path: Path) -> Iterator[IO[bytes]]:
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        raise not_found("upload") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FilesRefused(
                409, "upload-busy", "Another request is writing to this upload; wait for it, then ask for the offset"
            ) from None
        yield handle
    finally:
        handle.close()  # releases the lock


@dataclass(frozen=True)
class Appended:
    offset: int
    complete: bool


def append_chunk(
    data_path: Path,
    upload: FileUpload,
    claimed_offset: int,
    source: IO[bytes],
    *,
    length: int | None,
    max_chunk: int,
    limits: Mapping[str, int],
) -> Appended:
    """Append what ``source`` gives, from ``claimed_offset`` (which must be the current one).
    Needs no database transaction: run it with none open. 409 ``upload-offset-mismatch``
    tells the current offset; 413 ``file-too-large`` once the first bytes show a kind whose
    limit the declared size is over (the upload is then useless and the caller discards it)."""
    if upload.status != "open":
        raise FilesRefused(409, "upload-finished", "This upload is finished", offset=upload.size)
    if length is not None and length > max_chunk:
        raise FilesRefused(413, "chunk-too-large", f"Send at most {max_chunk} bytes per request", limit_bytes=max_chunk)
    path = upload_path(data_path, upload.id)
    with _locked(path) as handle:
        offset = os.fstat(handle.fileno()).st_size
        if claimed_offset != offset:
            raise FilesRefused(
                409,
                "upload-offset-mismatch",
                f"This upload is at byte {offset}; send Upload-Offset: {offset} and the bytes from there",
                offset=offset,
            )
        room = min(upload.size - offset, max_chunk)
        if length is not None and length > upload.size - offset:
            raise FilesRefused(
                413,
                "chunk-too-large",
                f"The upload's declared size is {upload.size} bytes: {upload.size - offset} remain after byte {offset}",
                limit_bytes=upload.size - offset,
            )
        handle.seek(offset)
        written = 0
        try:
            while written < room and (chunk := source.read(min(READ_BYTES, room - written + 1))):
                if written + len(chunk) > room:
                    raise FilesRefused(
                        413,
                        "chunk-too-large",
                        f"The upload's declared size is {upload.size} bytes and this chunk would pass it"
                        if room < max_chunk
                        else f"Send at most {max_chunk} bytes per request",
                        limit_bytes=room,
                    )
                handle.write(chunk)
                written += len(chunk)
        finally:
            # Whatever arrived counts, even when the connection dropped mid-chunk: it is on
            # the disk (a killed process keeps its page cache; fsync guards a power cut).
            handle.flush()
            os.fsync(handle.fileno())
        offset += written
        if offset - written < SNIFF_BYTES <= offset or (offset == upload.size and offset - written < SNIFF_BYTES):
            handle.seek(0)
            check_limit(sniff(handle.read(SNIFF_BYTES)), upload.size, limits)
    return Appended(offset, offset == upload.size)


def finished_staged(data_path: Path, upload: FileUpload, limits: Mapping[str, int]) -> Staged:
    """The complete upload as a staged file (moved out of the upload's name, so a retry of
    the finishing request cannot append to it)."""
    path = upload_path(data_path, upload.id)
    final = path.with_name(f"done-{upload.id}.part")
    with _locked(path):
        os.replace(path, final)
    sha256, sniffed, size = hash_and_sniff(final)
    if size != upload.size:  # only a bug could do this; never store a truncated file
        final.unlink(missing_ok=True)
        raise FilesRefused(409, "upload-incomplete", f"Only {size} of {upload.size} bytes arrived", offset=size)
    try:
        check_limit(sniffed, size, limits)
    except FilesRefused:
        final.unlink(missing_ok=True)
        raise
    return Staged(final, size, sha256, sniffed)


def touch_upload(db: DB, upload: FileUpload, expire_after: timedelta) -> None:
    """Keep an upload that just received bytes another ``expire_after``: an upload expires
    when *untouched* that long, not that long after it started. An UPDATE, as the PATCH
    holds ``upload`` detached; the caller commits."""
    expires_at = utcnow() + expire_after
    db.execute(
        update(FileUpload).where(FileUpload.id == upload.id, FileUpload.status == "open").values(expires_at=expires_at)
    )
    upload.expires_at = expires_at


def discard_upload(db: DB, data_path: Path, upload: FileUpload) -> None:
    """Remove the row (the caller commits) and the bytes."""
    path = upload_path(data_path, upload.id)
    path.unlink(missing_ok=True)
    # Also the bytes ``finished_staged`` moved aside, should a crash have come between that
    # and recording the file: nothing else ever removes them.
    path.with_name(f"done-{upload.id}.part").unlink(missing_ok=True)
    db.delete(upload)


def discard_uploads_of(db: DB, data_path: Path, file_id: int) -> None:
    """Remove the unfinished uploads of new versions of a file (the caller commits)."""
    for upload in db.scalars(select(FileUpload).where(FileUpload.file_id == file_id, FileUpload.status == "open")):
        discard_upload(db, data_path, upload)


def expired_uploads(db: DB, now: datetime | None = None, limit: int = 100) -> list[FileUpload]:
    moment = now or utcnow()
    return list(
        db.scalars(
            select(FileUpload).where(FileUpload.expires_at < moment).order_by(FileUpload.expires_at).limit(limit)
        )
    )
