"""Speed: real-time streams per core with the full feature set, beside aubio tempo alone and essentia's spectral
set, in the same run; per-stage cost at 64/256/1024 streams; latency of one batched call; memory per stream.

Costs are CPU time of the benchmarking thread (``time.thread_time``), best of several repeats, for ours and the
references alike: the machine is shared, and wall time mostly measures the other engineers' jobs.

    .venv/bin/pytest tests/benchmarks/test_bench_kernels_speed.py -m benchmark -s -p no:cacheprovider
"""

from __future__ import annotations

import time
from dataclasses import fields

import numpy as np
import pytest

from analysis_kernels import LiveAnalyzer
from analysis_kernels.key import chroma_and_key
from analysis_kernels.loudness import levels_and_loudness
from analysis_kernels.rhythm import onsets, tempo_and_beats
from analysis_kernels.spectral import rfft, slide_window, spectral_features
from tests.benchmarks.report import report

pytestmark = [pytest.mark.benchmark, pytest.mark.filterwarnings("ignore::DeprecationWarning")]
SR = 48000
REPEATS = 5
clock = time.thread_time


def _audio(streams: int, hops: int, hop: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(hops * hop) / SR
    base = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(t.size)
    beats = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(float) * rng.standard_normal(t.size) * 0.3
    x = (base + beats).astype(np.float32).reshape(hops, hop)
    return np.ascontiguousarray(np.broadcast_to(x[:, None, :], (hops, streams, hop)))


def _ours_per_stream_hop(
    streams: int, hops: int = 120, dicts: bool = False, active: int | None = None
) -> tuple[float, list[float]]:
    """CPU seconds per stream-hop (best of REPEATS passes) and every call's wall time (for latency percentiles).

    With ``active``, only the first ``active`` slots of a ``streams``-slot analyzer advance (subset processing).
    """
    an = LiveAnalyzer(SR, streams)
    n = active or streams
    rows = None if active is None else np.arange(active)
    audio = _audio(n, hops + 150, an.hop)
    for i in range(150):  # warm up: compile, lock tempo so the beat predictor runs too
        an.process_arrays(audio[i], rows)
    calls = []
    call = an.process if dicts else an.process_arrays
    best = np.inf
    for _ in range(REPEATS):
        started_cpu = clock()
        for i in range(150, 150 + hops):
            started = time.perf_counter()
            call(audio[i], rows)
            calls.append(time.perf_counter() - started)
        best = min(best, (clock() - started_cpu) / hops / n)
    return float(best), calls


def _stage_costs(streams: int, hops: int) -> dict[str, float]:
    """CPU seconds per stream-hop of each stage, run unfused over all rows (the fused path chunks them)."""
    an = LiveAnalyzer(SR, streams)
    audio = _audio(streams, hops + 150, an.hop)
    for i in range(150):
        an.process_arrays(audio[i])
    out, idx = an.outputs, np.arange(streams)
    frames = np.zeros((streams, an.design.n_fft), np.float32)
    sums, mag, odf = np.zeros((streams, 3)), np.zeros((streams, an.design.n_fft // 2 + 1)), np.zeros(streams)
    best = dict.fromkeys(
        ("time domain + K-weighting", "FFT", "spectral + onset + chroma + key", "tempo + beats"), np.inf
    )
    for _ in range(REPEATS):
        spent = dict.fromkeys(best, 0.0)
        for i in range(150, 150 + hops):
            t0 = clock()
            levels_and_loudness(audio[i], idx, sums, out.floats, *an._lo)
            slide_window(audio[i], idx, frames, *an._fr)
            t1 = clock()
            spec = rfft(frames)
            t2 = clock()
            spectral_features(spec, idx, mag, out.floats, out.mel, *an._sp)
            onsets(idx, out.mel, odf, out.floats, out.ints, *an._on)
            chroma_and_key(idx, mag, out.floats, out.ints, out.chroma, *an._ky)
            t3 = clock()
            tempo_and_beats(idx, odf, out.floats, out.ints, *an._rh)
            t4 = clock()
            for name, dt in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[name] += dt
        for name in best:
            best[name] = min(best[name], spent[name] / hops / streams)
    return best


def _aubio_per_hop() -> float | str:
    try:
        import aubio
    except ImportError as exc:
        return f"aubio unavailable: {exc}"
    x = _audio(1, 3000, 512)[:, 0, :]
    tempo = aubio.tempo("default", 1024, 512, SR)
    for h in x[:200]:
        tempo(h)
    best = np.inf
    for _ in range(REPEATS):
        started = clock()
        for h in x[200:]:
            tempo(h)
        best = min(best, (clock() - started) / (len(x) - 200))
    return float(best)


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
    best = np.inf
    for _ in range(REPEATS):
        started = clock()
        for f in frames[50:]:
            one(f)
        best = min(best, (clock() - started) / (len(frames) - 50))
    return float(best)


def _state_bytes(an: LiveAnalyzer) -> int:
    total = sum(getattr(an.state, f.name).nbytes for f in fields(an.state))
    total += sum(getattr(an.outputs, f.name).nbytes for f in fields(an.outputs))
    scratch = (an._frames, an._mag, an._tempo_odf, an._sums, an._power, an._peaks, an._scratch)
    return int(total + sum(a.nbytes for a in scratch))


def test_bench_speed() -> None:
    rows = []
    hop_rate = SR / 800
    ours, _ = _ours_per_stream_hop(512)
    ours_dicts, _ = _ours_per_stream_hop(512, hops=60, dicts=True)
    subset, _ = _ours_per_stream_hop(512, hops=120, active=64)
    rows.append(["ours, full feature set (process_arrays, 512 streams)", ours * 1e6, 800, 1 / (ours * hop_rate)])
    rows.append(
        ["ours, full feature set + dicts (process, 512 streams)", ours_dicts * 1e6, 800, 1 / (ours_dicts * hop_rate)]
    )
    rows.append(["ours, 64 active rows of a 512-slot analyzer (rows=...)", subset * 1e6, 800, 1 / (subset * hop_rate)])
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
        "48 kHz; one thread (numba kernels are serial, pocketfft via rocket-fft); CPU time of the thread, best of"
        f" {REPEATS}; essentia set = Windowing, Spectrum, Centroid, RollOff, Flux, MelBands(40), EnergyBandRatio,"
        " RMS. " + "; ".join(notes),
    )
    stage_rows = []
    for streams in (64, 256, 1024):
        costs = _stage_costs(streams, hops=max(20, 4096 // streams))
        stage_rows.append([streams, *(v * 1e6 for v in costs.values()), sum(costs.values()) * 1e6])
    report(
        "kernels_stages",
        ["streams", "time domain us", "FFT us", "spectral us", "rhythm us", "sum us per stream-hop"],
        stage_rows,
        "CPU time per stream-hop of each stage run over all rows at once (process_arrays runs them fused, 32 rows"
        " at a time).",
    )
    lat_rows = []
    for streams in (1, 64, 512):
        per, calls = _ours_per_stream_hop(streams, hops=100 if streams < 512 else 40)
        ms = np.array(calls) * 1e3
        an = LiveAnalyzer(SR, streams)
        lat_rows.append(
            [streams, float(np.median(ms)), float(np.percentile(ms, 99)), per * 1e6, _state_bytes(an) / streams / 1024]
        )
    report(
        "kernels_latency",
        ["streams", "median ms per process_arrays (wall)", "p99 ms (wall)", "CPU us per stream-hop", "KiB per stream"],
        lat_rows,
        "One call advances every stream by one 800-sample hop (16.7 ms of audio); memory = state + outputs + scratch.",
    )
    assert rows
