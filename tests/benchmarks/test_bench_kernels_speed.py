"""Speed: real-time streams per core with the full feature set, beside aubio tempo alone and essentia's spectral
set, in the same run; latency of one batched call; memory per stream.

    .venv/bin/pytest tests/benchmarks/test_bench_kernels_speed.py -m benchmark -s -p no:cacheprovider
"""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
import pytest

from analysis_kernels import LiveAnalyzer
from tests.benchmarks.report import report

pytestmark = [pytest.mark.benchmark, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
SR = 48000


def _audio(streams: int, hops: int, hop: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(hops * hop) / SR
    base = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    beats = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(float) * rng.standard_normal(t.size) * 0.3
    x = (base + beats).astype(np.float32).reshape(hops, hop)
    return np.ascontiguousarray(np.broadcast_to(x[:, None, :], (hops, streams, hop)))


def _ours_per_stream_hop(streams: int, hops: int = 120, dicts: bool = False) -> tuple[float, list[float]]:
    an = LiveAnalyzer(SR, streams)
    audio = _audio(streams, hops + 150, an.hop)
    for i in range(150):  # warm up: compile, lock tempo so the beat predictor runs too
        an.process_arrays(audio[i])
    calls = []
    call = an.process if dicts else an.process_arrays
    for i in range(150, 150 + hops):
        started = time.perf_counter()
        call(audio[i])
        calls.append(time.perf_counter() - started)
    return float(np.mean(calls)) / streams, calls


def _aubio_per_hop() -> float | str:
    try:
        import aubio
    except ImportError as exc:
        return f"aubio unavailable: {exc}"
    x = _audio(1, 3000, 512)[:, 0, :]
    tempo = aubio.tempo("default", 1024, 512, SR)
    for h in x[:200]:
        tempo(h)
    started = time.perf_counter()
    for h in x[200:]:
        tempo(h)
    return (time.perf_counter() - started) / (len(x) - 200)


def _essentia_per_frame() -> float | str:
    try:
        import essentia.standard as es
    except ImportError as exc:
        return f"essentia unavailable: {exc}"
    frames = np.random.default_rng(1).standard_normal((600, 2048)).astype(np.float32) * 0.1
    window = es.Windowing(type="hann", size=2048)
    spectrum = es.Spectrum(size=2048)
    centroid = es.Centroid(range=SR / 2)
    rolloff = es.RollOff(sampleRate=SR)
    flux = es.Flux()
    mel = es.MelBands(numberBands=40, sampleRate=SR, inputSize=1025)
    energy = es.EnergyBandRatio(sampleRate=SR, startFrequency=0, stopFrequency=250)
    rms = es.RMS()

    def one(frame: np.ndarray) -> None:
        s = spectrum(window(frame))
        centroid(s)
        rolloff(s)
        flux(s)
        mel(s)
        energy(s)
        rms(frame)

    for f in frames[:50]:
        one(f)
    started = time.perf_counter()
    for f in frames[50:]:
        one(f)
    return (time.perf_counter() - started) / (len(frames) - 50)


def _state_bytes(an: LiveAnalyzer) -> int:
    total = sum(getattr(an.state, f.name).nbytes for f in fields(an.state))
    total += sum(getattr(an.outputs, f.name).nbytes for f in fields(an.outputs))
    return total + an._frames.nbytes + an._mag.nbytes + an._tempo_odf.nbytes


def test_bench_speed() -> None:
    rows = []
    hop_rate = SR / 800
    ours, _ = _ours_per_stream_hop(512)
    ours_dicts, _ = _ours_per_stream_hop(512, hops=60, dicts=True)
    rows.append(["ours, full feature set (process_arrays, 512 streams)", ours * 1e6, 800, 1 / (ours * hop_rate)])
    rows.append(
        ["ours, full feature set + dicts (process, 512 streams)", ours_dicts * 1e6, 800, 1 / (ours_dicts * hop_rate)]
    )
    notes = []
    aubio_hop = _aubio_per_hop()
    if isinstance(aubio_hop, str):
        print(aubio_hop)
        notes.append(aubio_hop)
    else:
        rows.append(["aubio tempo alone (1024 win, 512 hop)", aubio_hop * 1e6, 512, 1 / (aubio_hop * SR / 512)])
    ess = _essentia_per_frame()
    if isinstance(ess, str):
        print(ess)
        notes.append(ess)
    else:
        rows.append(["essentia spectral set (2048 win, per 800 hop)", ess * 1e6, 800, 1 / (ess * hop_rate)])
    report(
        "kernels_speed",
        ["analysis", "us per stream-hop", "hop samples", "real-time streams per core"],
        rows,
        "48 kHz; one thread (numba kernels are serial, pocketfft via rocket-fft); essentia set = Windowing, Spectrum,"
        " Centroid, RollOff, Flux, MelBands(40), EnergyBandRatio, RMS. " + "; ".join(notes),
    )
    lat_rows = []
    for streams in (1, 64, 512):
        per, calls = _ours_per_stream_hop(streams, hops=200 if streams < 512 else 100)
        ms = np.array(calls) * 1e3
        an = LiveAnalyzer(SR, streams)
        lat_rows.append(
            [streams, float(np.median(ms)), float(np.percentile(ms, 99)), per * 1e6, _state_bytes(an) / streams / 1024]
        )
    report(
        "kernels_latency",
        ["streams", "median ms per process_arrays", "p99 ms", "us per stream-hop", "KiB per stream"],
        lat_rows,
        "One call advances every stream by one 800-sample hop (16.7 ms of audio); memory = state + outputs + scratch.",
    )
    assert rows
