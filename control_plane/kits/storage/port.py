"""The object storage port: where project files' bytes live.

Two adapters implement it (``FolderStorage``: a folder under the data directory, the
default of ``make up``; ``S3Storage``: any S3-compatible store through boto3). Keys are
relative, ``/``-separated, made by the control plane (never from a user's file name).
Bytes always arrive as a finished local file (the control plane stages an upload on local
disk, checks it, then hands it over), and leave as a stream of chunks, so no adapter ever
holds a whole object in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["CHUNK_BYTES", "MissingObject", "ObjectStorage"]

CHUNK_BYTES = 1024 * 1024  # what one read or one streamed chunk holds at most


class MissingObject(LookupError):
    """No object is stored under this key."""


@runtime_checkable
class ObjectStorage(Protocol):
    """Store, read (whole or a byte range), size, delete, and optionally sign a URL."""

    name: str  # "folder" or "s3": shown by health checks and logs

    def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        """Store the local file ``source`` under ``key`` (replacing what was there).
        ``source`` belongs to the adapter afterwards: it may move it rather than copy it."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` inclusive (``None``: to the last byte), in chunks of
        at most :data:`CHUNK_BYTES`. Raises :class:`MissingObject` before yielding anything."""

    def size(self, key: str) -> int:
        """The object's length in bytes; :class:`MissingObject` when absent."""

    def delete(self, key: str) -> None:
        """Remove the object; removing an absent one is not an error (deletes are retried)."""

    def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_s: int, disposition: str = "attachment"
    ) -> str | None:
        """A short-lived URL a browser can fetch the object from directly (with Range),
        answering ``content_type`` and a Content-Disposition (``attachment`` or ``inline``)
        naming ``filename``; or None when this adapter serves bytes only through the control plane."""
