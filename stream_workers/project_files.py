"""Analysis of project files' audio versions, and the one ``files.events`` agent.

A ``file.version_added`` event with ``analyse: true`` asks for the room tracks' analysis
(tempo, beats, key, waveform) of one version. Unlike a room track, the version's bytes are
not on a disk this worker shares: they live wherever the control plane's storage keeps them
(a folder on its host, or S3). So the worker reads them through the control plane's signed
internal GET (:func:`~contracts.files.file_content_path`), which streams them or redirects
to a short-lived signed storage URL, into a temporary file that is deleted afterwards, and
reports back through the signed callback (:func:`~contracts.files.file_analysis_path`),
exactly as for tracks. ``running`` goes first: ``proceed: false`` (already analysed, e.g. a
redelivered event) or a 404 (the version was deleted) stops the work before any download.

``files.events`` carries room tracks' ``track.uploaded`` too. faust fans one topic out to
every agent subscribed to it and acks a message only once all of them are done, so two agents
on one topic would decode everything twice and tie their commits together: one agent here
dispatches by type instead (this module imports ``stream_workers.tracks``, not the reverse).
Comments and versions that need no analysis are not this worker's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urljoin, urlsplit

import faust
import requests

from contracts import DecodeError, FileVersionAdded, TrackUploaded, decode
from contracts.files import (
    FILE_ANALYSIS_PURPOSE,
    FILE_CONTENT_PURPOSE,
    AnalysisAnswer,
    AnalysisReport,
    file_analysis_path,
    file_content_path,
)
from contracts.topics import FILES_EVENTS
from downbeat.settings import Settings
from downbeat.signing import HEADER, sign
from stream_workers.tracks import AnalysisReporter, analyse_file, analyse_uploaded_track

__all__ = [
    "MAX_DOWNLOAD_BYTES",
    "DownloadFailed",
    "FilesEventsHandler",
    "VersionDownloader",
    "analyse_file_version",
    "file_version_reporter",
    "register_files_events",
]

log = logging.getLogger(__name__)
# Above the largest audio upload the control plane accepts (2 GiB by default): a version the
# event says is bigger is refused before a byte is read, and no download may outgrow its event.
MAX_DOWNLOAD_BYTES = 4 * 1024**3
CHUNK_BYTES = 1024 * 1024
MAX_REDIRECTS = 5
# (connect, read) seconds; the read timeout is per chunk, so a long download is fine if it moves.
TIMEOUT = (10.0, 60.0)
SEEN_LIMIT = 10_000


class DownloadFailed(RuntimeError):
    """The bytes of a version could not be read; the message is what the control plane keeps
    as the analysis error (never a signed URL: it is a credential while it lasts)."""


class _Transient(DownloadFailed):
    """Worth another attempt: the control plane or the storage may be restarting."""


def file_version_reporter(settings: Settings) -> AnalysisReporter:
    """The tracks' reporter, retries and all, on the project files' path and purpose."""
    return AnalysisReporter(settings, purpose=FILE_ANALYSIS_PURPOSE, path=file_analysis_path, bind_path=True)


def _where(url: str) -> str:
    """A URL without its query: storage URLs are signed in the query string."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class VersionDownloader:
    """Reads one version's bytes through the control plane into a temporary file.

    Blocking (``requests``): call it from an executor thread. Streams to disk in chunks, so a
    multi-gigabyte take never sits in memory, and checks the size and SHA-256 the event gives,
    so a truncated body or a redirect to the wrong object is a failure, not a wrong analysis.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        attempts: int = 3,
        tmp_dir: Path | None = None,
        timeout: tuple[float, float] = TIMEOUT,
    ) -> None:
        cp = settings.control_plane
        self._base = (cp.internal_url or cp.url).rstrip("/")
        self._secret = settings.secret_key
        self._max_bytes = max_bytes
        self._attempts = attempts
        self._tmp_dir = tmp_dir  # None: the system's (TMPDIR); big takes need room there
        self._timeout = timeout

    def download(self, version_id: int, size: int, sha256: str) -> Path:
        """The version's bytes in a new temporary file the caller deletes; raises
        :class:`DownloadFailed` (leaving no file behind) when they cannot be had."""
        if size > self._max_bytes:
            raise DownloadFailed(f"the version has {size} bytes; the analysis reads at most {self._max_bytes}")
        delay = 0.5
        for attempt in range(self._attempts):
            fd, name = tempfile.mkstemp(prefix=f"downbeat-version-{version_id}-", dir=self._tmp_dir)
            path = Path(name)
            try:
                with os.fdopen(fd, "wb") as out:
                    self._fetch(version_id, size, sha256, out)
                return path
            except (_Transient, requests.RequestException) as exc:
                path.unlink(missing_ok=True)
                if attempt == self._attempts - 1:
                    if isinstance(exc, DownloadFailed):
                        raise
                    raise DownloadFailed(f"download failed: {type(exc).__name__}") from exc
                # The type only: requests' messages spell the URL, a signed storage URL included.
                log.info("download of version %s failed (%s); retrying", version_id, type(exc).__name__)
            except BaseException:
                path.unlink(missing_ok=True)
                raise
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # the last attempt returns or raises

    def _fetch(self, version_id: int, size: int, sha256: str, out: BinaryIO) -> None:
        path = file_content_path(version_id)
        # A GET has no body: the path is what is signed, freshly for every attempt.
        headers = {HEADER: sign(self._secret, FILE_CONTENT_PURPOSE, path.encode())}
        with requests.Session() as session:
            response = session.get(
                f"{self._base}{path}", headers=headers, stream=True, timeout=self._timeout, allow_redirects=False
            )
            where, hops = "the control plane", 0
            while response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                response.close()
                if hops == MAX_REDIRECTS:
                    raise DownloadFailed(f"more than {MAX_REDIRECTS} redirects")
                if urlsplit(target).scheme not in ("http", "https"):
                    raise DownloadFailed("redirected to a non-HTTP location")
                # Followed by hand, without our signature header: requests would forward it
                # to the storage host, which authorises by its own signed query string.
                response = session.get(target, stream=True, timeout=self._timeout, allow_redirects=False)
                where, hops = f"storage ({_where(target)})", hops + 1
            with response:
                self._copy(response, where, size, sha256, out)

    def _copy(self, response: requests.Response, where: str, size: int, sha256: str, out: BinaryIO) -> None:
        status = response.status_code
        if status >= 500:
            raise _Transient(f"HTTP {status} from {where}")
        if status != 200:
            raise DownloadFailed(f"HTTP {status} from {where}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > size:
            raise DownloadFailed(f"{where} announced {declared} bytes; the version has {size}")
        digest = hashlib.sha256()
        received = 0
        for chunk in response.iter_content(CHUNK_BYTES):
            received += len(chunk)
            if received > size:
                raise DownloadFailed(f"{where} sent more than the version's {size} bytes")
            digest.update(chunk)
            out.write(chunk)
        if received < size:
            raise _Transient(f"the download from {where} ended after {received} of {size} bytes")
        if digest.hexdigest() != sha256:
            raise DownloadFailed(f"the bytes from {where} do not match the version's SHA-256")


async def analyse_file_version(
    event: FileVersionAdded, reporter: AnalysisReporter, downloader: VersionDownloader
) -> str:
    """One event, start to end; returns what happened (for logs and tests): ``ignored`` (no
    analysis asked for), ``skipped`` (the control plane said not to), ``gone`` (the version
    was deleted), ``failed`` (reported as such) or ``done``."""
    if not event.analyse:
        return "ignored"
    loop = asyncio.get_running_loop()
    event_id = str(event.event_id)

    async def answer(body: AnalysisReport) -> AnalysisAnswer | None:
        return await loop.run_in_executor(None, reporter.answer, event.version_id, body)

    async def failed(exc: Exception) -> str:
        log.warning("analysis of file version %s failed: %s", event.version_id, exc)
        error = f"{type(exc).__name__}: {exc}"[:500]
        gone = await answer(AnalysisReport(status="failed", error=error, event_id=event_id)) is None
        return "gone" if gone else "failed"

    first = await answer(AnalysisReport(status="running", progress=0.05, event_id=event_id))
    if first is None:
        return "gone"
    if not first.proceed:
        return "skipped"
    try:
        path = await loop.run_in_executor(None, downloader.download, event.version_id, event.size_bytes, event.sha256)
    except Exception as exc:
        return await failed(exc)
    try:
        # A download can take minutes: ask again before analysing a version deleted meanwhile.
        progress = await answer(AnalysisReport(status="running", progress=0.3, event_id=event_id))
        if progress is None:
            return "gone"
        if not progress.proceed:
            return "skipped"
        try:
            result = await loop.run_in_executor(None, analyse_file, path)
        except Exception as exc:
            return await failed(exc)
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
    done = await answer(AnalysisReport(status="done", progress=1.0, result=result, event_id=event_id))
    return "done" if done is not None else "gone"


class FilesEventsHandler:
    """Everything the worker does with one ``files.events`` message, free of faust so tests
    drive it: decode, drop a duplicate, dispatch by type."""

    def __init__(
        self,
        settings: Settings,
        *,
        track_reporter: AnalysisReporter | None = None,
        version_reporter: AnalysisReporter | None = None,
        downloader: VersionDownloader | None = None,
    ) -> None:
        self._settings = settings
        self._track_reporter = track_reporter or AnalysisReporter(settings)
        self._version_reporter = version_reporter or file_version_reporter(settings)
        self._downloader = downloader or VersionDownloader(settings)
        # Event ids handled lately: a redelivery after a rebalance costs no second round trip.
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def handle(self, raw: bytes) -> str:
        """The outcome (for logs and tests). Raises when the control plane stayed unreachable:
        the event is then not remembered, and the control plane's job asks for it again."""
        try:
            event = decode(raw)
        except DecodeError:
            log.warning("skipping an undecodable files.events message")
            return "undecodable"
        event_id = str(event.event_id)
        if event_id in self._seen:
            return "duplicate"
        if isinstance(event, TrackUploaded):
            outcome = await analyse_uploaded_track(event, self._settings, self._track_reporter)
            log.info("track %s analysis: %s", event.track_id, outcome)
        elif isinstance(event, FileVersionAdded):
            outcome = await analyse_file_version(event, self._version_reporter, self._downloader)
            if outcome != "ignored":
                log.info("file version %s analysis: %s", event.version_id, outcome)
        else:
            return "ignored"  # comments and anything newer: the notification service's
        self._seen[event_id] = None
        while len(self._seen) > SEEN_LIMIT:
            self._seen.popitem(last=False)
        return outcome


def register_files_events(app: faust.App, settings: Settings) -> None:
    """Adds the ``files.events`` agent to the stream worker app: room tracks and project file
    versions, analysed one at a time."""
    files = app.topic(FILES_EVENTS, key_serializer="raw", value_serializer="raw")
    handler = FilesEventsHandler(settings)

    # concurrency=1: one analysis at a time per worker (each holds a decoded file in memory);
    # more workers share the partitions.
    @app.agent(files, concurrency=1)
    async def files_events(stream: Any) -> None:
        async for raw in stream:
            try:
                await handler.handle(raw)
            except Exception:
                # The control plane stayed unreachable: the analysis stays pending/running and
                # its housekeeping re-sends the event later.
                log.exception("could not report an analysis for a files.events message")
