"""Offline analysis of uploaded tracks: ``files.events`` in, tempo, beats, key and waveform
back to the control plane.

The ``files.events`` agent (``stream_workers.project_files``, which also analyses project
file versions with the functions here) hands each ``TrackUploaded`` to
:func:`analyse_uploaded_track`. It decodes and analyses off the event loop (an executor
thread; the numba kernels release the GIL), so the live-audio agents in the same worker keep
running meanwhile.
Results go back through a signed internal HTTP callback rather than into the control
plane's tables: the control plane owns those records and is the one that knows which rooms
queue the track and what their sockets expect, and this worker stays free of its schema.
Before working, the agent reports ``running``; the control plane answers ``proceed: false``
for a track that is already analysed, so a redelivered or re-sent event does nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import requests

from analysis_kernels import analyze_track
from contracts import TrackUploaded
from contracts.files import (
    ANALYSIS_PURPOSE,
    AnalysisAnswer,
    AnalysisReport,
    AnalysisResult,
    analysis_path,
    analysis_signed_bytes,
)
from downbeat.settings import Settings
from downbeat.signing import HEADER, sign

__all__ = [
    "ANALYSIS_SAMPLE_RATE",
    "AnalysisReporter",
    "analyse_file",
    "analyse_uploaded_track",
    "decode_mono",
]

log = logging.getLogger(__name__)
ANALYSIS_SAMPLE_RATE = 44100
WAVEFORM_POINTS = 400
MAX_ENERGY_POINTS = 2000
MAX_TRACK_SECONDS = 3 * 3600  # beyond this a file is refused rather than analysed for minutes


def decode_mono(path: Path, rate: int = ANALYSIS_SAMPLE_RATE) -> npt.NDArray[np.float32]:
    """Any of our formats to mono float32 at ``rate``. Channels are averaged after resampling
    (libswresample's own downmix sums identical channels 3 dB hot)."""
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                block = out.to_ndarray().astype(np.float32)
                chunks.append(block.mean(axis=0))
                total += block.shape[1]
                if total > MAX_TRACK_SECONDS * rate:
                    raise ValueError("track is longer than the analysis limit")
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray().astype(np.float32).mean(axis=0))
    if not chunks:
        raise ValueError("no audio in the file")
    samples = np.concatenate(chunks)
    return np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)


def analyse_file(path: Path) -> AnalysisResult:
    """Decode and analyse one file; the result is what the control plane stores and clients get."""
    samples = decode_mono(path)
    result = analyze_track(samples, ANALYSIS_SAMPLE_RATE)
    peaks = np.asarray(result.peaks, dtype=np.float64)
    waveform = _bucket_max(peaks, WAVEFORM_POINTS)
    top = float(waveform.max()) if waveform.size else 0.0
    if top > 0:
        waveform = waveform / top
    energy = np.asarray(result.energy, dtype=np.float64)
    energy_hz = result.energy_hz
    if energy.size > MAX_ENERGY_POINTS:
        factor = math.ceil(energy.size / MAX_ENERGY_POINTS)
        energy = _bucket_mean(energy, math.ceil(energy.size / factor))
        energy_hz = energy_hz / factor
    return AnalysisResult(
        bpm=result.bpm,
        key=result.key,
        meter=result.meter,
        loudness_lufs=None if result.loudness_lufs is None else round(result.loudness_lufs, 2),
        beats=[round(b, 4) for b in result.beats],
        downbeats=[round(b, 4) for b in result.downbeats],
        waveform=[round(float(v), 3) for v in waveform],
        energy=[round(float(v), 5) for v in energy],
        energy_hz=energy_hz,
        duration_s=result.duration_s,
    )


def _bucket_max(values: npt.NDArray[np.float64], points: int) -> npt.NDArray[np.float64]:
    if values.size <= points:
        return values
    edges = np.linspace(0, values.size, points + 1).astype(int)
    return np.maximum.reduceat(values, edges[:-1])


def _bucket_mean(values: npt.NDArray[np.float64], points: int) -> npt.NDArray[np.float64]:
    edges = np.linspace(0, values.size, points + 1).astype(int)
    sums = np.add.reduceat(values, edges[:-1])
    return np.asarray(sums / np.maximum(1, np.diff(edges)), dtype=np.float64)


class AnalysisReporter:
    """Signed reports to the control plane; a few retries, since it may be restarting.

    Room tracks by default; project file versions (stream_workers.project_files) pass their
    own callback path and signing purpose, so one retry policy serves both."""

    def __init__(
        self,
        settings: Settings,
        attempts: int = 4,
        *,
        purpose: str = ANALYSIS_PURPOSE,
        path: Callable[[int], str] = analysis_path,
        bind_path: bool = False,
    ) -> None:
        cp = settings.control_plane
        self._base = (cp.internal_url or cp.url).rstrip("/")
        self._secret = settings.secret_key
        self._attempts = attempts
        self._purpose = purpose
        self._path = path
        # Project files sign the path with the body (contracts.files.analysis_signed_bytes);
        # room tracks sign the body alone, as their callback always has.
        self._bind_path = bind_path

    def report(self, item_id: int, report: AnalysisReport) -> bool:
        """Send one report; True when the control plane wants the analysis to go on."""
        answer = self.answer(item_id, report)
        return answer is not None and answer.proceed

    def answer(self, item_id: int, report: AnalysisReport) -> AnalysisAnswer | None:
        """Send one report; the control plane's answer, or None when the item is gone (404)."""
        raw = report.to_bytes()
        delay = 0.5
        for attempt in range(self._attempts):
            try:
                path = self._path(item_id)
                signed = analysis_signed_bytes(path, raw) if self._bind_path else raw
                response = requests.post(
                    f"{self._base}{path}",
                    data=raw,
                    headers={"Content-Type": "application/json", HEADER: sign(self._secret, self._purpose, signed)},
                    timeout=10,
                )
                if response.status_code == 404:
                    return None
                if response.status_code < 500:
                    response.raise_for_status()
                    return AnalysisAnswer.model_validate_json(response.content)
            except requests.RequestException as exc:
                if attempt == self._attempts - 1:
                    raise
                log.info("analysis report for %s %s failed (%s); retrying", self._purpose, item_id, exc)
            time.sleep(delay)
            delay *= 2
        raise RuntimeError(f"control plane kept failing the analysis report ({self._purpose} {item_id})")


def resolve_track_path(settings: Settings, storage_key: str) -> Path:
    root = (settings.data_path / "tracks").resolve()
    path = (root / storage_key).resolve()
    if root not in path.parents:
        raise ValueError("storage key points outside the tracks folder")
    return path


async def analyse_uploaded_track(event: TrackUploaded, settings: Settings, reporter: AnalysisReporter) -> str:
    """One event, start to end; returns what happened (for logs and tests)."""
    loop = asyncio.get_running_loop()
    event_id = str(event.event_id)

    async def report(body: AnalysisReport) -> bool:
        return await loop.run_in_executor(None, reporter.report, event.track_id, body)

    if not await report(AnalysisReport(status="running", progress=0.05, event_id=event_id)):
        return "skipped"
    try:
        path = resolve_track_path(settings, event.storage_key)
        samples_task = loop.run_in_executor(None, analyse_file, path)
        await report(AnalysisReport(status="running", progress=0.2, event_id=event_id))
        result = await samples_task
    except Exception as exc:
        log.warning("analysis of track %s failed: %s", event.track_id, exc)
        error = f"{type(exc).__name__}: {exc}"[:500]
        await report(AnalysisReport(status="failed", error=error, event_id=event_id))
        return "failed"
    await report(AnalysisReport(status="done", progress=1.0, result=result, event_id=event_id))
    return "done"
