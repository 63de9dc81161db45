"""Test audio made in the test: no downloads."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

__all__ = ["write_gated_tone"]


def write_gated_tone(
    path: Path,
    *,
    seconds: float = 8.0,
    period_s: float = 2.0,
    amplitude: float = 0.5,
    rate: int = 48000,
    freq: float = 440.0,
) -> Path:
    """A tone that is on for the first half of each period and silent for the second half."""
    t = np.arange(int(seconds * rate)) / rate
    gate = (np.mod(t, period_s) < period_s / 2).astype(np.float64)
    # 5 ms ramps keep the codec from smearing clicks into the quiet half.
    ramp = int(0.005 * rate)
    kernel = np.ones(ramp) / ramp
    gate = np.convolve(gate, kernel, mode="same")
    samples = amplitude * gate * np.sin(2 * np.pi * freq * t)
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path
