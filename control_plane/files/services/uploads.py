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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import func, select, update

from control_plane.accounts.models import User
from control_plane.files.models import FileUpload, ProjectFile
from control_plane.files.schemas import UploadBody
from control_plane.files.services.files import clean_name
from control_plane.files.services.kinds import SNIFF_BYTES, sniff
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.files.services.staging import (
    READ_BYTES,
    Staged,
    check_limit,
    hash_and_sniff,
    kind_mismatch,
    staging_dir,
)
from control_plane.kits.db.types import DB, utcnow
from control_plane.musicians.models import Project

__all__ = [
    "Appended",
    "append_chunk",
    "create_upload",
    "discard_upload",
    "discard_uploads_of",
    "expired_uploads",
    "finishing",
    "finishing_path",
    "touch_upload",
    "upload_offset",
    "upload_path",
]


def upload_path(data_path: Path, upload_id: str) -> Path:
    return staging_dir(data_path) / f"upload-{upload_id}.part"


def finishing_path(data_path: Path, upload_id: str) -> Path:
    """Where a complete upload's bytes wait while they are recorded (and after a failure
    there, for the retry): out of the upload's name, so nothing can append to them."""
    return staging_dir(data_path) / f"done-{upload_id}.part"


def upload_offset(data_path: Path, upload: FileUpload) -> int:
    if upload.status == "done" or finishing_path(data_path, upload.id).exists():
        return upload.size  # complete: being recorded, or waiting for a retry of that
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
    max_open_bytes: int,
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
    open_bytes = db.scalar(
        select(func.coalesce(func.sum(FileUpload.size), 0)).where(
            FileUpload.user_id == actor.id, FileUpload.status == "open"
        )
    )
    if int(open_bytes or 0) + body.size > max_open_bytes:
        raise FilesRefused(
            409,
            "too-many-open-uploads",
            f"Your unfinished uploads would pass {max_open_bytes} bytes; finish or delete some first",
            open_bytes=int(open_bytes or 0),
            limit_bytes=max_open_bytes,
        )
    upload = FileUpload(
        id=secrets.token_hex(16),
        project_id=project.id,
        file_id=None if file is None else file.id,
        user_id=actor.id,
        name=clean_name(None, body.name),  # no folder part, like a multipart upload's
        note=body.note,
        size=body.size,
        status="open",
        expires_at=utcnow() + expire_after,
    )
    db.add(upload)
    upload_path(data_path, upload.id).touch()
    return upload


def _busy() -> FilesRefused:
    return FilesRefused(
        409, "upload-busy", "Another request is writing to this upload; wait for it, then ask for the offset"
    )


@contextmanager
def _locked(path: Path, *, mode: str = "r+b", busy: Callable[[], FilesRefused] = _busy) -> Iterator[IO[bytes]]:
    """``path`` open and exclusively locked (flock: across threads and processes on this
    host), or ``busy()`` when another request holds it; 404 when it is gone."""
    try:
        handle = path.open(mode)
    except FileNotFoundError:
        raise not_found("upload") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy() from None
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
    expected_kind: str | None = None,
) -> Appended:
    """Append what ``source`` gives, from ``claimed_offset`` (which must be the current one).
    Needs no database transaction: run it with none open. 409 ``upload-offset-mismatch``
    tells the current offset; 413 ``file-too-large`` once the first bytes show a kind whose
    limit the declared size is over, and 422 ``kind-mismatch`` once they show another kind than
    ``expected_kind`` (a new version's file's); either way the upload is useless and the
    caller discards it. A complete upload whose recording failed answers ``complete`` to a
    PATCH at its size, so that the caller records it again."""
    if upload.status != "open":
        raise FilesRefused(409, "upload-finished", "This upload is finished", offset=upload.size)
    if length is not None and length > max_chunk:
        raise FilesRefused(413, "chunk-too-large", f"Send at most {max_chunk} bytes per request", limit_bytes=max_chunk)
    path = upload_path(data_path, upload.id)
    if not path.exists() and finishing_path(data_path, upload.id).exists():
        if claimed_offset == upload.size:
            return Appended(upload.size, complete=True)
        raise FilesRefused(
            409,
            "upload-offset-mismatch",
            f"This upload is complete at byte {upload.size}; send Upload-Offset: {upload.size} and no bytes",
            offset=upload.size,
        )
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
            sniffed = sniff(handle.read(SNIFF_BYTES))
            if expected_kind is not None and sniffed.kind != expected_kind:
                raise kind_mismatch(expected_kind, sniffed.kind)
            check_limit(sniffed, upload.size, limits)
    return Appended(offset, offset == upload.size)


@contextmanager
def finishing(data_path: Path, upload: FileUpload, limits: Mapping[str, int]) -> Iterator[Staged]:
    """The complete upload as a staged file, held under an exclusive lock while the caller
    records it. The bytes move to :func:`finishing_path` first, so nothing can append to
    them; meanwhile the offset reads as complete, and a second finisher hears 409
    ``upload-finishing``. If recording fails for any reason but a refusal, the bytes stay
    there and a PATCH at the upload's size finishes it again; a refusal removes them."""
    path, final = upload_path(data_path, upload.id), finishing_path(data_path, upload.id)
    if path.exists():
        try:
            with _locked(path):
                os.replace(path, final)
        except (FileNotFoundError, FilesRefused):
            pass  # another request moved it first: the lock below decides who records it

    def finishing_elsewhere() -> FilesRefused:
        return FilesRefused(
            409,
            "upload-finishing",
            "This upload is complete and being recorded; ask for it again (GET) in a moment",
            offset=upload.size,
        )

    with _locked(final, mode="rb", busy=finishing_elsewhere):
        if not final.exists():  # recorded by the request that held the lock before us
            raise FilesRefused(409, "upload-finished", "This upload is finished", offset=upload.size)
        sha256, sniffed, size = hash_and_sniff(final)
        if size != upload.size:  # only a bug could do this; never store a truncated file
            final.unlink(missing_ok=True)
            raise FilesRefused(409, "upload-incomplete", f"Only {size} of {upload.size} bytes arrived", offset=size)
        try:
            check_limit(sniffed, size, limits)
        except FilesRefused:
            final.unlink(missing_ok=True)
            raise
        yield Staged(final, size, sha256, sniffed)


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
    finishing_path(data_path, upload.id).unlink(missing_ok=True)
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
