"""Bytes on their way in: copied to a staging file on local disk while they are counted,
hashed and sniffed, so nothing is ever held whole in memory and nothing reaches storage
before it was checked.

Staging lives under the data directory (``files-staging``), on the same disk as the folder
storage adapter, so handing a checked file to it is a rename rather than a second copy.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from control_plane.files.services.kinds import SNIFF_BYTES, Sniffed, sniff
from control_plane.files.services.refusals import FilesRefused
from downbeat.settings import FileSettings

__all__ = [
    "READ_BYTES",
    "Staged",
    "check_limit",
    "hash_and_sniff",
    "kind_limits",
    "stage_stream",
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


def check_limit(sniffed: Sniffed, size: int, limits: Mapping[str, int]) -> None:
    """413 when ``size`` is over the limit of the kind the bytes showed."""
    limit = limits[sniffed.kind]
    if size > limit:
        raise too_large(sniffed.kind, limit)


def stage_stream(source: IO[bytes], data_path: Path, limits: Mapping[str, int]) -> Staged:
    """Copy ``source`` to a new staging file, within the limit of its kind (decided once the
    first bytes are in). On any refusal or error the staging file is gone."""
    path = staging_dir(data_path) / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    sniffed: Sniffed | None = None
    limit = max(limits.values())
    try:
        with path.open("wb") as out:
            while chunk := source.read(READ_BYTES):
                size += len(chunk)
                if len(head) < SNIFF_BYTES:
                    head += chunk[: SNIFF_BYTES - len(head)]
                if sniffed is None and len(head) >= SNIFF_BYTES:
                    sniffed = sniff(head)
                    limit = limits[sniffed.kind]
                if size > limit:
                    raise too_large(sniffed.kind if sniffed else "any", limit)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise FilesRefused(422, "empty-file", "The uploaded file is empty", errors={"file": ["empty"]})
        sniffed = sniffed or sniff(head)
        check_limit(sniffed, size, limits)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path, size, digest.hexdigest(), sniffed)


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
