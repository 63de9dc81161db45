"""The stream worker's analysis of project file versions, without faust but over real HTTP.

A small control plane runs on a real local HTTP server (``http.server`` in a thread): it
checks every signature the way the control plane does (``downbeat.signing.verify``), serves
a click track made here, or redirects to a "storage" path that authorises by its query
string, and records the analysis reports. The worker's own code (signing, redirects,
streaming to disk, retries, the real analysis kernels) runs unchanged.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests

from contracts import FileCommentAdded, FileVersionAdded, encode
from contracts.files import (
    FILE_ANALYSIS_PURPOSE,
    FILE_CONTENT_PURPOSE,
    AnalysisAnswer,
    AnalysisReport,
    analysis_signed_bytes,
    file_analysis_path,
    file_content_path,
)
from downbeat.settings import Settings
from downbeat.signing import HEADER, SignatureInvalid, verify
from stream_workers.project_files import FilesEventsHandler, VersionDownloader
from tests.conftest import make_settings

VERSION = 21
STORAGE_TOKEN = "X-Amz-Signature=0123abcd"  # what a signed S3 URL carries instead of our header


def click_track(seconds: float = 12.0, bpm: float = 120.0, rate: int = 22050) -> bytes:
    """A 1 kHz burst on every beat, as 16-bit mono WAV."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = (np.mod(t, 60.0 / bpm) < 0.03).astype(np.float64)
    pcm = (0.4 * envelope * np.sin(2 * np.pi * 1000 * t) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.tobytes())
    return out.getvalue()


AUDIO = click_track()


@dataclass
class ControlPlane:
    """What the local server serves and saw. ``content`` picks how the bytes are served;
    ``answers`` script the answers to successive reports (None: 404, the version is gone)."""

    secret: str
    base: str = ""
    body: bytes = AUDIO
    content: str = "direct"
    answers: list[AnalysisAnswer | None] = field(default_factory=list)
    reports: list[AnalysisReport] = field(default_factory=list)
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def answer(self) -> AnalysisAnswer | None:
        if self.answers:
            return self.answers.pop(0)
        return AnalysisAnswer(proceed=True, status=self.reports[-1].status)

    def paths(self, method: str) -> list[str]:
        return [path for m, path, _ in self.seen if m == method]


def _handler(cp: ControlPlane) -> type[BaseHTTPRequestHandler]:
    content, analysis = file_content_path(VERSION), file_analysis_path(VERSION)
    storage = f"/bucket/versions/{VERSION}"

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            cp.seen.append(("GET", self.path, dict(self.headers)))
            if self.path == content:
                try:
                    verify(cp.secret, FILE_CONTENT_PURPOSE, self.path.encode(), self.headers.get(HEADER))
                except SignatureInvalid:
                    return self._send(401)
                if cp.content == "gone":
                    return self._send(404)
                if cp.content == "broken":
                    return self._send(500)
                if cp.content in ("redirect", "storage-forbidden"):
                    return self._send(302, headers={"Location": f"{cp.base}{storage}?{STORAGE_TOKEN}"})
                if cp.content == "truncated":  # the connection drops halfway
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(cp.body)))
                    self.end_headers()
                    self.wfile.write(cp.body[: len(cp.body) // 2])
                    return None
                return self._send(200, cp.body, {"Content-Type": "audio/wav"})
            if self.path == f"{storage}?{STORAGE_TOKEN}" and cp.content == "redirect":
                return self._send(200, cp.body, {"Content-Type": "audio/wav"})
            return self._send(403 if self.path.startswith(storage) else 404)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            cp.seen.append(("POST", self.path, dict(self.headers)))
            if self.path != analysis:
                return self._send(404)
            try:
                verify(
                    cp.secret, FILE_ANALYSIS_PURPOSE, analysis_signed_bytes(self.path, raw), self.headers.get(HEADER)
                )
            except SignatureInvalid:
                return self._send(401)
            cp.reports.append(AnalysisReport.model_validate_json(raw))  # strict, as the control plane reads it
            answer = cp.answer()
            if answer is None:
                return self._send(404)
            return self._send(200, answer.model_dump_json().encode(), {"Content-Type": "application/json"})

    return Handler


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")


@pytest.fixture
def control_plane(settings: Settings) -> Iterator[ControlPlane]:
    cp = ControlPlane(settings.secret_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(cp))
    cp.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield cp
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def downloads(tmp_path: Path) -> Path:
    folder = tmp_path / "downloads"
    folder.mkdir()
    return folder


def worker(settings: Settings, cp: ControlPlane, downloads: Path, **downloader: object) -> FilesEventsHandler:
    reaching = replace(settings, control_plane=replace(settings.control_plane, internal_url=cp.base))
    options: dict[str, object] = {"tmp_dir": downloads, **downloader}
    return FilesEventsHandler(reaching, downloader=VersionDownloader(reaching, **options))  # type: ignore[arg-type]


def version_added(body: bytes = AUDIO, **overrides: object) -> FileVersionAdded:
    fields: dict[str, object] = dict(
        file_id=11,
        project_id=6,
        project_title="Album",
        file_name="bass-take.wav",
        actor_id=8,
        actor_name="Max",
        recipients=[7],
        version_id=VERSION,
        version_number=2,
        kind="audio",
        content_type="audio/wav",
        size_bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        analyse=True,
    )
    fields.update(overrides)
    return FileVersionAdded(**fields)  # type: ignore[arg-type]


def run(handler: FilesEventsHandler, event: object) -> str:
    return asyncio.run(handler.handle(encode(event)))  # type: ignore[arg-type]


def test_an_audio_version_is_read_analysed_and_reported(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    event = version_added()
    assert run(worker(settings, control_plane, downloads), event) == "done"
    reports = control_plane.reports
    assert [r.status for r in reports] == ["running", "running", "done"]
    assert [r.progress for r in reports] == sorted(r.progress for r in reports) and reports[-1].progress == 1.0
    assert {r.event_id for r in reports} == {str(event.event_id)}
    result = reports[-1].result
    assert result is not None and result.bpm == pytest.approx(120.0, abs=2.0)
    assert result.duration_s == pytest.approx(12.0, abs=0.1) and len(result.beats) >= 15
    assert control_plane.paths("GET") == [file_content_path(VERSION)]  # signed: the server checked it
    assert list(downloads.iterdir()) == []  # the temporary copy is gone


def test_a_redirect_to_storage_is_followed_without_our_signature(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    control_plane.content = "redirect"
    assert run(worker(settings, control_plane, downloads), version_added()) == "done"
    assert control_plane.reports[-1].result is not None
    assert control_plane.reports[-1].result.bpm == pytest.approx(120.0, abs=2.0)
    (_, _, first), (_, path, second) = [s for s in control_plane.seen if s[0] == "GET"]
    assert HEADER in first and path.endswith(STORAGE_TOKEN)
    assert HEADER not in second  # the signature is for the control plane only
    assert list(downloads.iterdir()) == []


def test_proceed_false_skips_before_any_download(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    control_plane.answers = [AnalysisAnswer(proceed=False, status="done")]
    handler = worker(settings, control_plane, downloads)
    event = version_added()
    assert run(handler, event) == "skipped"
    assert run(handler, event) == "duplicate"  # a redelivery costs nothing
    assert [r.status for r in control_plane.reports] == ["running"]
    assert control_plane.paths("GET") == []


def test_a_deleted_version_is_gone_before_or_after_the_download(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    control_plane.answers = [None]  # 404 on the first report
    assert run(worker(settings, control_plane, downloads), version_added()) == "gone"
    assert control_plane.paths("GET") == []

    control_plane.reports.clear()
    control_plane.answers = [AnalysisAnswer(proceed=True, status="running"), None]  # deleted while downloading
    assert run(worker(settings, control_plane, downloads), version_added()) == "gone"
    assert [r.status for r in control_plane.reports] == ["running", "running"]  # nothing analysed or sent
    assert list(downloads.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "body", "error"),
    [
        ("gone", AUDIO, "HTTP 404 from the control plane"),
        ("broken", AUDIO, "HTTP 500 from the control plane"),
        ("storage-forbidden", AUDIO, "HTTP 403 from storage (http://127.0.0.1:"),
        ("truncated", AUDIO, "DownloadFailed: download failed: ChunkedEncodingError"),
        ("direct", b"RIFF" + bytes(4000), "InvalidDataError"),  # the right bytes, but no audio in them
    ],
    ids=["missing", "server-error", "storage-refuses", "connection-drops", "not-audio"],
)
def test_a_bad_download_or_file_is_reported_failed(
    settings: Settings, control_plane: ControlPlane, downloads: Path, content: str, body: bytes, error: str
) -> None:
    control_plane.content, control_plane.body = content, body
    assert run(worker(settings, control_plane, downloads, attempts=2), version_added(body)) == "failed"
    statuses = [r.status for r in control_plane.reports]
    assert statuses[0] == "running" and statuses[-1] == "failed" and "done" not in statuses
    message = control_plane.reports[-1].error or ""
    assert error in message and STORAGE_TOKEN not in message  # a signed URL never ends up in the record
    assert list(downloads.iterdir()) == []


def test_bytes_that_are_not_the_version_are_refused(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    control_plane.body = click_track(bpm=90.0)  # same length, other bytes: a wrong object behind a redirect
    assert len(control_plane.body) == len(AUDIO)
    assert run(worker(settings, control_plane, downloads), version_added(AUDIO)) == "failed"
    assert "do not match the version's SHA-256" in (control_plane.reports[-1].error or "")
    assert list(downloads.iterdir()) == []


def test_a_version_over_the_download_cap_is_refused_unread(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    handler = worker(settings, control_plane, downloads, max_bytes=len(AUDIO) - 1)
    assert run(handler, version_added()) == "failed"
    assert "the analysis reads at most" in (control_plane.reports[-1].error or "")
    assert control_plane.paths("GET") == []


def test_comments_and_versions_without_analysis_are_not_the_workers_business(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    handler = worker(settings, control_plane, downloads)
    comment = FileCommentAdded(
        file_id=11,
        project_id=6,
        project_title="Album",
        file_name="chart.pdf",
        actor_id=7,
        actor_name="Pia",
        recipients=[8],
        comment_id=3,
        version_number=1,
        excerpt="bar 12?",
    )
    score = version_added(kind="score", content_type="application/pdf", analyse=False)
    assert [run(handler, comment), run(handler, score)] == ["ignored", "ignored"]
    assert asyncio.run(handler.handle(b"not json")) == "undecodable"
    assert control_plane.seen == []


def test_a_worker_with_the_wrong_secret_is_refused_and_remembers_nothing(
    settings: Settings, control_plane: ControlPlane, downloads: Path
) -> None:
    handler = worker(replace(settings, secret_key="not-the-deployments"), control_plane, downloads)
    event = version_added()
    with pytest.raises(requests.HTTPError):
        run(handler, event)  # the agent logs it; the control plane's job re-sends the event later
    with pytest.raises(requests.HTTPError):
        run(handler, event)  # not remembered as handled
    assert control_plane.reports == [] and urlsplit(control_plane.seen[0][1]).path == file_analysis_path(VERSION)
