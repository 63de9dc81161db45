"""Bytes on their way in: copied to a staging file on local disk while they are counted,
hashed and sniffed, so nothing is ever held whole in memory and nothing reaches storage
before it was checked.

Staging lives under the data directory (``files-staging``), on the same disk as the folder
storage adapter, so handing a checked file to it is a rename rather than a second copy.
"""

from __future__ import annotations

import hashlib
import io
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from control_plane.files.services.kinds import SNIFF_BYTES, Sniffed, sniff
from control_plane.files.services.refusals import FilesRefused
from downbeat.settings import FileSettings

__all__ = [
    "READ_BYTES",
    "Staged",
    "StagingWriter",
    "check_limit",
    "hash_and_sniff",
    "kind_limits",
    "kind_mismatch",
    "staging_dir",
    "too_large",
]

READ_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    """A checked file on local disk, ready for storage."""

    path: Path
    size: int
    sha256: str
    sniffed: Sniffed


def staging_dir(data_path: Path) -> Path:
    folder = data_path / "files-staging"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def too_large(kind: str, limit: int) -> FilesRefused:
    return FilesRefused(
        413,
        "file-too-large",
        f"{kind.capitalize()} files are limited to {limit} bytes",
        errors={"file": [f"larger than the {limit}-byte limit for {kind} files"]},
        limit_bytes=limit,
        kind=kind,
    )


def kind_mismatch(expected: str, found: str) -> FilesRefused:
    """A new version must be the file's kind (a take does not turn into a PDF)."""
    return FilesRefused(
        422,
        "kind-mismatch",
        f"This file holds {expected}; the upload is {found}. Upload it as a new file instead.",
        errors={"file": [f"is {found}, the file is {expected}"]},
    )


def check_limit(sniffed: Sniffed, size: int, limits: Mapping[str, int]) -> None:
    """413 when ``size`` is over the limit of the kind the bytes showed."""
    limit = limits[sniffed.kind]
    if size > limit:
        raise too_large(sniffed.kind, limit)


class StagingWriter(io.RawIOBase):
    """Where the multipart parser writes one file part: straight into a staging file, counted,
    hashed and sniffed on the way, refused (413, the file removed) as soon as it passes the
    limit of the kind its first bytes showed. :meth:`finish` makes it a :class:`Staged`."""

    def __init__(self, data_path: Path, limits: Mapping[str, int]) -> None:
        super().__init__()
        self.path = staging_dir(data_path) / f"{uuid.uuid4().hex}.part"
        self._out = self.path.open("w+b")
        self._digest = hashlib.sha256()
        self._size = 0
        self._head = b""
        self._sniffed: Sniffed | None = None
        self._limits = limits
        self._limit = max(limits.values())

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._size += len(data)
        if len(self._head) < SNIFF_BYTES:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._sniffed = sniff(self._head)
                self._limit = self._limits[self._sniffed.kind]
        if self._size > self._limit:
            kind = self._sniffed.kind if self._sniffed else "any"
            self.discard()
            raise too_large(kind, self._limit)
        self._digest.update(data)
        return self._out.write(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._out.seek(offset, whence)

    def tell(self) -> int:
        return self._out.tell()

    def read(self, size: int = -1) -> bytes:
        return self._out.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._out.readline(-1 if size is None else size)

    def finish(self) -> Staged:
        """The part as a checked staged file: 422 when empty, 413 over its kind's limit."""
        self._out.close()
        try:
            if self._size == 0:
                raise FilesRefused(422, "empty-file", "The uploaded file is empty", errors={"file": ["empty"]})
            sniffed = self._sniffed or sniff(self._head)
            check_limit(sniffed, self._size, self._limits)
        except BaseException:
            self.discard()
            raise
        return Staged(self.path, self._size, self._digest.hexdigest(), sniffed)

    def discard(self) -> None:
        self._out.close()
        self.path.unlink(missing_ok=True)


def hash_and_sniff(path: Path) -> tuple[str, Sniffed, int]:
    """SHA-256, kind and length of a staged file (a finished resumable upload)."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        head = source.read(SNIFF_BYTES)
        digest.update(head)
        while chunk := source.read(READ_BYTES):
            digest.update(chunk)
    return digest.hexdigest(), sniff(head), os.path.getsize(path)


def kind_limits(files: FileSettings) -> dict[str, int]:
    """The size limit of each kind, from settings."""
    return {
        "audio": files.max_audio_bytes,
        "score": files.max_score_bytes,
        "image": files.max_image_bytes,
        "document": files.max_document_bytes,
        "other": files.max_other_bytes,
    }
