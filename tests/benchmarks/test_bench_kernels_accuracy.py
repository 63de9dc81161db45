"""Accuracy on the generated corpus: our online and offline paths beside aubio, librosa and essentia, same audio.

.venv/bin/pytest tests/benchmarks/test_bench_kernels_accuracy.py -m benchmark -s -p no:cacheprovider
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from analysis_kernels import LiveAnalyzer, analyze_track
from analysis_kernels.design import key_name
from analysis_kernels.state import BEAT, BPM, KEY
from tests.benchmarks.corpus.generate import SAMPLE_RATE, Track, describe, load
from tests.benchmarks.report import report

pytestmark = [
    pytest.mark.benchmark,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]
TAIL_S = 10.0  # an online tempo is read as the median of its last 10 s


def _tempo_ok(est: float | None, truth: float) -> tuple[bool, bool]:
    if est is None or not np.isfinite(est):
        return False, False
    acc1 = abs(est - truth) <= 0.04 * truth
    acc2 = any(abs(est - truth * m) <= 0.04 * truth * m for m in (1, 2, 0.5, 3, 1 / 3))
    return acc1, acc2


def _beat_scores(ref: list[float], est: list[float]) -> tuple[float, float, float]:
    import mir_eval

    r = mir_eval.beat.trim_beats(np.asarray(ref, dtype=float))
    e = mir_eval.beat.trim_beats(np.asarray(est, dtype=float))
    f = mir_eval.beat.f_measure(r, e)
    _, cmlt, _, amlt = mir_eval.beat.continuity(r, e)
    return float(f), float(cmlt), float(amlt)


def _key_score(ref: str, est: str | None) -> float:
    import mir_eval

    return float(mir_eval.key.weighted_score(ref, est)) if est else 0.0


def _ours_online(tracks: list[Track]) -> list[dict[str, Any]]:
    """All tracks as parallel streams of one LiveAnalyzer: the live path exactly as deployed."""
    streams = len(tracks)
    an = LiveAnalyzer(SAMPLE_RATE, streams)
    n = min(t.audio.size for t in tracks) // an.hop
    audio = np.stack([t.audio[: n * an.hop] for t in tracks]).reshape(streams, n, an.hop)
    bpm = np.full((n, streams), np.nan)
    beats: list[list[float]] = [[] for _ in tracks]
    keys = np.full(streams, -1)
    for i in range(n):
        out = an.process_arrays(np.ascontiguousarray(audio[:, i, :]))
        bpm[i] = out.floats[:, BPM]
        for s in np.flatnonzero(out.ints[:, BEAT]):
            beats[s].append((i + 0.5) * an.hop / SAMPLE_RATE)
        keys = out.ints[:, KEY]
    tail = int(TAIL_S * an.design.fps)
    return [
        {
            "bpm": float(np.nanmedian(bpm[-tail:, s])) if np.isfinite(bpm[-tail:, s]).any() else None,
            "beats": beats[s],
            "key": key_name(int(keys[s])),
        }
        for s in range(streams)
    ]


def _ours_offline(track: Track) -> dict[str, Any]:
    r = analyze_track(track.audio, SAMPLE_RATE)
    return {"bpm": r.bpm, "beats": r.beats, "key": r.key, "downbeats": r.downbeats}


def _aubio(track: Track) -> dict[str, Any]:
    import aubio

    hop, win = 512, 1024
    tempo = aubio.tempo("default", win, hop, SAMPLE_RATE)
    x = track.audio
    beats, bpms = [], []
    for i in range(x.size // hop):
        if tempo(x[i * hop : (i + 1) * hop])[0]:
            beats.append(float(tempo.get_last_s()))
        bpms.append(float(tempo.get_bpm()))
    tail = int(TAIL_S * SAMPLE_RATE / hop)
    valid = [b for b in bpms[-tail:] if b > 0]
    return {"bpm": float(np.median(valid)) if valid else None, "beats": beats, "key": None}


def _librosa(track: Track) -> dict[str, Any]:
    import librosa

    y = librosa.resample(track.audio, orig_sr=SAMPLE_RATE, target_sr=22050)
    tempo, frames = librosa.beat.beat_track(y=y, sr=22050)
    return {
        "bpm": float(np.atleast_1d(tempo)[0]),
        "beats": librosa.frames_to_time(frames, sr=22050).tolist(),
        "key": None,
    }


def _essentia(track: Track) -> dict[str, Any]:
    import essentia.standard as es
    import librosa

    y = librosa.resample(track.audio, orig_sr=SAMPLE_RATE, target_sr=44100).astype(np.float32)
    bpm, beats, *_ = es.RhythmExtractor2013(method="multifeature")(y)
    key, scale, _ = es.KeyExtractor()(y)
    return {"bpm": float(bpm), "beats": [float(b) for b in beats], "key": f"{key} {scale}"}


def _available(name: str) -> str:
    try:
        __import__(name)
    except ImportError as exc:
        return f"{name} unavailable: {exc}"
    return ""


def test_bench_accuracy() -> None:
    tracks = load()
    print(f"\ncorpus: {describe(tracks)}")
    methods: dict[str, Any] = {"ours offline (analyze_track)": _ours_offline}
    notes = []
    for label, module, fn in (
        ("aubio tempo (online)", "aubio", _aubio),
        ("librosa beat_track", "librosa", _librosa),
        ("essentia RhythmExtractor2013 + KeyExtractor", "essentia", _essentia),
    ):
        reason = _available(module)
        if reason:
            print(reason)
            notes.append(reason)
        else:
            methods[label] = fn
    results: dict[str, list[dict[str, Any]]] = {}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    results["ours online (LiveAnalyzer)"] = _ours_online(tracks)
    seconds["ours online (LiveAnalyzer)"] = time.perf_counter() - started
    for label, fn in methods.items():
        started = time.perf_counter()
        results[label] = [fn(t) for t in tracks]
        seconds[label] = time.perf_counter() - started
    rows = []
    per_track: dict[str, list[str]] = {}
    for label, res in results.items():
        acc1, acc2, f, cmlt, amlt, keys, down = [], [], [], [], [], [], []
        for t, r in zip(tracks, res, strict=True):
            a1, a2 = _tempo_ok(r["bpm"], t.truth["bpm"])
            acc1.append(a1)
            acc2.append(a2)
            fm, c, a = _beat_scores(t.truth["beats"], r["beats"])
            f.append(fm)
            cmlt.append(c)
            amlt.append(a)
            if r["key"] is not None or label.startswith("ours"):
                keys.append(_key_score(t.truth["key"], r["key"]))
            if "downbeats" in r:
                import mir_eval

                down.append(float(mir_eval.beat.f_measure(np.array(t.truth["downbeats"]), np.array(r["downbeats"]))))
            if not a1:
                per_track.setdefault(label, []).append(f"{t.name} ({t.truth['bpm']:.0f}->{r['bpm'] or 0:.0f})")
        rows.append(
            [
                label,
                100 * float(np.mean(acc1)),
                100 * float(np.mean(acc2)),
                100 * float(np.mean(f)),
                100 * float(np.mean(cmlt)),
                100 * float(np.mean(amlt)),
                f"{100 * np.mean(keys):.1f}" if keys else "-",
                f"{100 * np.mean(down):.1f}" if down else "-",
                seconds[label],
            ]
        )
    for label, misses in per_track.items():
        print(f"tempo misses, {label}: {', '.join(misses)}")
    report(
        "kernels_accuracy",
        ["method", "tempo Acc1 %", "Acc2 %", "beat F %", "CMLt %", "AMLt %", "key MIREX %", "downbeat F %", "run s"],
        rows,
        f"corpus: {describe(tracks)}. Beats scored after 5 s (mir_eval trim_beats); online tempo = median of the "
        f"last {TAIL_S:.0f} s; truth tempo = final section. " + "; ".join(notes),
    )
    assert rows
