"""Short generated test signals (deterministic)."""

from __future__ import annotations

import numpy as np

SR = 48000


def click_track(bpm: float, seconds: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """Noise-burst 'drums' on every beat, a low thump on odd beats, over a quiet A-minor chord."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    x = np.zeros(n)
    t = np.arange(n) / sr
    for k, b in enumerate(np.arange(0.25, seconds, 60.0 / bpm)):
        i = int(b * sr)
        burst = rng.standard_normal(2000) * np.exp(-np.arange(2000) / 300.0) * 0.4
        if k % 2 == 0:
            burst += 0.8 * np.sin(2 * np.pi * 60 * np.arange(2000) / sr) * np.exp(-np.arange(2000) / 600.0)
        x[i : i + 2000] += burst[: n - i]
    for f in (220.0, 261.63, 329.63):
        x += 0.05 * np.sin(2 * np.pi * f * t)
    return x.astype(np.float32)


def sweep_mix(seconds: float, sr: int = SR, seed: int = 1) -> np.ndarray:
    """A chirp, a tone that comes and goes, and noise bursts: spectral features that move."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f = 100.0 * (80.0 ** (t / seconds))
    x = 0.3 * np.sin(2 * np.pi * np.cumsum(f) / sr)
    x += 0.2 * np.sin(2 * np.pi * 3000 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)
    noise = rng.standard_normal(n) * (np.sin(2 * np.pi * 1.3 * t) > 0.5) * 0.1
    return (x + noise).astype(np.float32)


def blocks(x: np.ndarray, hop: int) -> np.ndarray:
    """(hops, hop) view of a signal, dropping the tail."""
    n = len(x) // hop
    return x[: n * hop].reshape(n, hop)
