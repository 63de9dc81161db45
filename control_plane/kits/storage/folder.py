"""The folder adapter: each object is a file under a root folder (``<data dir>/files`` by default).

Writes are atomic (a reader sees the old object or the new one, never half of one): the
staged file is renamed into place when it is on the same filesystem, or copied to a temporary
file beside the target, synced and then renamed. An open stream keeps reading the object it
opened even when a put replaces it or a delete removes it, as with S3.

The key and range rules live here and the S3 adapter applies the same ones, so switching
backends (or copying objects from one to the other) never meets a key only one of them takes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import BinaryIO

from control_plane.kits.storage.port import CHUNK_BYTES, MissingObject

__all__ = ["DISPOSITIONS", "FolderStorage", "check_disposition", "check_key", "check_range"]

# Segments of letters, digits and ``_.-`` joined by single slashes. ``~`` is not allowed, so the
# temporary files below (named ``.~...``) can never be mistaken for an object.
_KEY = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
_TEMP_PREFIX = ".~"

DISPOSITIONS = ("attachment", "inline")


def check_key(key: str) -> str:
    """``key`` when it is a safe relative key; ValueError otherwise.

    The folder adapter turns keys into paths, so a key must never climb out of the root
    (``..``), be absolute, or name the folder itself (``.``, empty segments).
    """
    if not _KEY.fullmatch(key) or any(part in (".", "..") for part in key.split("/")):
        raise ValueError(f"not a storage key: {key!r} (relative, [A-Za-z0-9_./-], no '.' or '..' segments)")
    return key


def check_range(start: int, end: int | None) -> None:
    """Refuse a range no object can satisfy before any I/O (a negative start, end before start)."""
    if start < 0:
        raise ValueError(f"range start must be >= 0, not {start}")
    if end is not None and end < start:
        raise ValueError(f"range end {end} is before its start {start}")


def check_disposition(disposition: str) -> str:
    """``disposition`` when it is ``attachment`` or ``inline``; ValueError otherwise."""
    if disposition not in DISPOSITIONS:
        raise ValueError(f"disposition must be one of {', '.join(DISPOSITIONS)}, not {disposition!r}")
    return disposition


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` survive a power cut (best effort: not every OS opens folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FolderStorage:
    """Objects as files under ``root`` (created on the first put). The content type is not
    kept: the control plane records it beside the version, and S3 keeps its own copy."""

    name = "folder"

    def __init__(self, root: Path) -> None:
        # No I/O here: the app factory builds adapters before anything is served.
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        """Move (same filesystem) or copy (another one) ``source`` into place atomically.

        On failure nothing is stored, what was stored before stays, and ``source`` is left
        where it was for the caller to retry or clean up.
        """
        target = self._path(key)
        source = Path(source)
        # Sync the staged bytes first: after a crash, a renamed file whose data never reached
        # the disk would be an object of zeros or nothing.
        with source.open("rb") as staged:
            os.fsync(staged.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            self._copy_into_place(source, target)
        _fsync_dir(target.parent)

    def _copy_into_place(self, source: Path, target: Path) -> None:
        """Across filesystems: copy in chunks to a temporary file beside the target, sync it,
        rename it over the target (atomic on one filesystem), then drop the source."""
        with source.open("rb") as staged:
            fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".part", dir=target.parent)
            temp = Path(temp_name)
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(staged, out, CHUNK_BYTES)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, target)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
        source.unlink(missing_ok=True)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start``..``end`` inclusive; an ``end`` past the object is clipped to
        its last byte (as HTTP ranges are), a ``start`` past it is a ValueError (the caller
        answers 416). The file is opened and checked here, so a missing object raises
        MissingObject from this call, and the stream closes it when closed or exhausted."""
        check_range(start, end)
        path = self._path(key)
        chunks = self._chunks(path, key, start, end)
        # Run the generator to its first ``yield`` (a b"" marker after the open): errors surface
        # now, and because it has started, closing it (or dropping it) always closes the file.
        next(chunks)
        return chunks

    @staticmethod
    def _open(path: Path, key: str) -> BinaryIO:
        try:
            handle = path.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as error:
            raise MissingObject(key) from error
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            handle.close()
            raise MissingObject(key)
        return handle

    def _chunks(self, path: Path, key: str, start: int, end: int | None) -> Generator[bytes, None, None]:
        with self._open(path, key) as handle:
            size = os.fstat(handle.fileno()).st_size
            whole = start == 0 and end is None  # an empty object can be read whole, not by range
            if start >= size and not whole:
                raise ValueError(f"range start {start} is past the end of {key!r} ({size} bytes)")
            last = size - 1 if end is None else min(end, size - 1)
            handle.seek(start)
            yield b""
            remaining = last - start + 1
            while remaining > 0:
                chunk = handle.read(min(CHUNK_BYTES, remaining))
                if not chunk:  # cannot happen to a file replaced by rename; never loop forever
                    break
                remaining -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        try:
            found = self._path(key).stat()
        except (FileNotFoundError, NotADirectoryError) as error:
            raise MissingObject(key) from error
        if not stat.S_ISREG(found.st_mode):
            raise MissingObject(key)
        return found.st_size

    def delete(self, key: str) -> None:
        # Empty folders are left behind on purpose: removing them would race a put that has
        # just made its folder and is about to rename into it.
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            self._path(key).unlink()

    def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_s: int, disposition: str = "attachment"
    ) -> str | None:
        """None: the control plane streams folder objects itself."""
        check_key(key)
        check_disposition(disposition)
        return None
