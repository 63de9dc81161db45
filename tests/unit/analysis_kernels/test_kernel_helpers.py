"""The numba helpers that replace libm calls and scans in the hot loops agree with the plain maths."""

from __future__ import annotations

import math

import numpy as np

from analysis_kernels import LiveAnalyzer
from analysis_kernels.design import BGATE_MAJOR, make_design
from analysis_kernels.key import _cos2_pi, _log1p_small
from analysis_kernels.loudness import _ring_sum
from analysis_kernels.spectral import _rolloff_bin
from tests.unit.analysis_kernels.signals import blocks


def test_cos2_pi_matches_libm_on_half_a_semitone_either_side() -> None:
    for x in np.linspace(-0.5, 0.5, 2001):
        assert abs(_cos2_pi(float(x)) - math.cos(math.pi * x) ** 2) < 1e-12


def test_log1p_small_matches_libm_for_peak_offsets() -> None:
    for x in np.linspace(-0.125, 0.125, 2001):
        assert abs(_log1p_small(float(x)) - math.log1p(x)) < 1e-10


def test_rolloff_bin_is_the_first_bin_reaching_the_target() -> None:
    rng = np.random.default_rng(3)
    mag = rng.random((2, 1025))
    for target_share in (0.0001, 0.3, 0.85, 0.999999):
        target = target_share * mag[1].sum()
        want = int(np.argmax(np.cumsum(mag[1]) >= target))
        assert _rolloff_bin(mag, 1, target) == want
    assert _rolloff_bin(mag, 0, 2 * mag[0].sum()) == 1024  # never reached: the last bin


def test_ring_sum_wraps_around() -> None:
    ring = np.arange(10, dtype=np.float64).reshape(1, 10)
    assert _ring_sum(ring, 0, 13, 5) == sum([3, 2, 1, 0, 9])  # newest at 13 % 10 = 3
    assert _ring_sum(ring, 0, 7, 3) == 7 + 6 + 5


def test_design_keeps_mel_and_band_runs_consistent_with_the_per_bin_tables() -> None:
    for sr in (48000, 44100, 16000):
        d = make_design(sr)
        for j in range(d.mel_seg.size - 1):
            assert (d.mel_lo[d.mel_seg[j] : d.mel_seg[j + 1]] == j - 1).all()
        for b in range(3):
            assert (d.band_of_bin[d.band_start[b] : d.band_start[b + 1]] == b).all()
        assert d.live_key_profiles.shape == (24, 12)
        assert int(np.argmax(d.live_key_profiles[0])) == int(np.argmax(BGATE_MAJOR))


def _scale_melody(tonic_hz: float, steps: tuple[int, ...], seconds: float, sr: int = 48000) -> np.ndarray:
    """A melody walking up and down a scale (0.25 s notes) over a tonic-and-fifth drone."""
    t = np.arange(int(seconds * sr)) / sr
    x = 0.15 * np.sin(2 * np.pi * tonic_hz / 2 * t) + 0.1 * np.sin(2 * np.pi * tonic_hz * 1.5 * t)
    walk = list(steps) + list(steps[-2:0:-1])
    note = (t / 0.25).astype(int)
    freq = tonic_hz * 2.0 ** (np.array([walk[i % len(walk)] for i in note]) / 12.0)
    x += 0.2 * np.sin(2 * np.pi * np.cumsum(freq) / sr)
    return x.astype(np.float32)


def test_live_key_follows_a_scale_melody() -> None:
    an = LiveAnalyzer(48000, 2)
    minor = _scale_melody(220.0, (0, 2, 3, 5, 7, 8, 11, 12), 8.0)  # A harmonic minor
    major = _scale_melody(261.63, (0, 2, 4, 5, 7, 9, 11, 12), 8.0)  # C major
    frames = [an.process(np.stack([a, b])) for a, b in zip(blocks(minor, an.hop), blocks(major, an.hop), strict=True)]
    assert [f["key"] for f in frames[-1]] == ["A minor", "C major"]
    assert {f[0]["key"] for f in frames[-120:]} == {"A minor"}  # steady over the last two seconds
