"""A generated drum track (kick on every beat, snare on 2 and 4, closed hats on eighths):
strong, unambiguous beats for the live tempo tracker. Made in the test, nothing downloaded."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["drum_track", "write_drum_wav"]


def drum_track(bpm: float = 120.0, seconds: float = 20.0, rate: int = 48000, seed: int = 7) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    beat = 60.0 / bpm
    n_kick, n_snare, n_hat = int(0.25 * rate), int(0.18 * rate), int(0.05 * rate)
    tk = np.arange(n_kick) / rate
    # a pitch sweep from 150 to 50 Hz with a fast decay: the classic electronic kick
    kick = np.sin(2 * np.pi * (50 * tk + 100 * (1 - np.exp(-tk * 30)) / 30)) * np.exp(-tk * 14)
    snare = rng.standard_normal(n_snare) * np.exp(-np.arange(n_snare) / rate * 25) * 0.5
    hat = np.diff(rng.standard_normal(n_hat + 1)) * np.exp(-np.arange(n_hat) / rate * 90) * 0.15
    step = 0
    t = 0.0
    while t < seconds:
        i = int(t * rate)
        if step % 2 == 0:
            b = step // 2
            _add(out, i, kick * 0.9)
            if b % 4 in (1, 3):
                _add(out, i, snare)
        _add(out, i, hat)
        step += 1
        t = step * beat / 2
    return (out / max(1.0, float(np.abs(out).max()) / 0.9)).astype(np.float32)


def _add(out: npt.NDArray[np.float64], at: int, sound: npt.NDArray[np.float64]) -> None:
    end = min(out.size, at + sound.size)
    out[at:end] += sound[: end - at]


def write_drum_wav(path: Path, bpm: float = 120.0, seconds: float = 20.0, rate: int = 48000) -> Path:
    pcm = (np.clip(drum_track(bpm, seconds, rate), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path
