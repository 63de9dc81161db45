"""Our features against librosa, essentia and pyloudnorm on generated signals."""

from __future__ import annotations

import numpy as np
import pytest

from analysis_kernels import FLOAT_FIELDS, LiveAnalyzer, analyze_track
from tests.unit.analysis_kernels.signals import blocks, click_track, sweep_mix

pytestmark = [
    # librosa and its dependencies import modules that warn on newer numpy/scipy; not our code
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning:librosa.*"),
]
SR = 48000
N_FFT = 2048
HOP = 800


@pytest.fixture(scope="module")
def live_run() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = sweep_mix(6.0)
    an = LiveAnalyzer(SR, 1)
    rows, mels = [], []
    for block in blocks(x, an.hop):
        out = an.process_arrays(block.reshape(1, -1))
        rows.append(out.floats[0].copy())
        mels.append(out.mel[0].copy())
    return x, np.array(rows), np.array(mels)


def _librosa_frames(x: np.ndarray) -> np.ndarray:
    # our frame for hop k ends at sample (k + 1) * HOP: pad the front so librosa's frames line up
    return np.concatenate([np.zeros(N_FFT - HOP, np.float32), x])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def test_centroid_and_rolloff_agree_with_librosa(live_run: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    import librosa

    x, rows, _ = live_run
    y = _librosa_frames(x)
    kw = {"y": y, "sr": SR, "n_fft": N_FFT, "hop_length": HOP, "center": False}
    centroid = librosa.feature.spectral_centroid(**kw)[0]
    rolloff = librosa.feature.spectral_rolloff(**kw, roll_percent=0.85)[0]
    n = min(len(centroid), len(rows))
    ours_c = rows[:n, FLOAT_FIELDS.index("centroid_hz")]
    ours_r = rows[:n, FLOAT_FIELDS.index("rolloff_hz")]
    assert _corr(ours_c[3:], centroid[3:n]) > 0.95
    assert _corr(ours_r[3:], rolloff[3:n]) > 0.95
    np.testing.assert_allclose(ours_c[3:], centroid[3:n], rtol=0.02)


def test_rms_and_mel_agree_with_librosa(live_run: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    import librosa

    x, rows, mels = live_run
    rms = librosa.feature.rms(y=x, frame_length=HOP, hop_length=HOP, center=False)[0]
    n = min(len(rms), len(rows))
    np.testing.assert_allclose(rows[:n, FLOAT_FIELDS.index("rms")], rms[:n], rtol=1e-4)
    mel = librosa.feature.melspectrogram(
        y=_librosa_frames(x),
        sr=SR,
        n_fft=N_FFT,
        hop_length=HOP,
        center=False,
        n_mels=40,
        fmin=30.0,
        fmax=16000.0,
        htk=True,
        norm=None,
        window="hann",
    )
    n = min(mel.shape[1], len(mels))
    for band in (2, 15, 30):
        assert _corr(mels[3:n, band], mel[band, 3:n]) > 0.95


def test_flux_agrees_with_essentia(live_run: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    es = pytest.importorskip("essentia.standard")
    x, rows, _ = live_run
    y = _librosa_frames(x)
    window = es.Windowing(type="hann", size=N_FFT, normalized=False)
    spectrum = es.Spectrum(size=N_FFT)
    flux = es.Flux()
    values = [
        float(flux(spectrum(window(frame))))
        for frame in es.FrameGenerator(y, frameSize=N_FFT, hopSize=HOP, startFromZero=True, lastFrameToEndOfFile=False)
    ]
    n = min(len(values), len(rows))
    assert _corr(rows[3:n, FLOAT_FIELDS.index("flux")], np.array(values[3:n])) > 0.95


def test_onset_strength_tracks_librosa(live_run: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    import librosa

    x = click_track(120, 6.0)
    an = LiveAnalyzer(SR, 1)
    ours = np.array(
        [an.process_arrays(b.reshape(1, -1)).floats[0, FLOAT_FIELDS.index("onset")] for b in blocks(x, HOP)]
    )
    theirs = librosa.onset.onset_strength(y=_librosa_frames(x), sr=SR, n_fft=N_FFT, hop_length=HOP, center=False)
    theirs = theirs[1:]  # librosa pads its onset envelope by the lag (one frame) at the front
    n = min(len(ours), len(theirs))
    assert _corr(ours[5:n], theirs[5:n]) > 0.95


@pytest.mark.parametrize(("kind", "level"), [("sine", 0.5), ("noise", 0.1), ("clicks", 1.0)])
def test_integrated_loudness_within_half_a_lu_of_pyloudnorm(kind: str, level: float) -> None:
    import pyloudnorm

    rng = np.random.default_rng(3)
    t = np.arange(SR * 5) / SR
    if kind == "sine":
        x = level * np.sin(2 * np.pi * 997 * t)
    elif kind == "noise":
        x = level * rng.standard_normal(t.size)
    else:
        x = click_track(100, 5.0).astype(np.float64)
    x32 = x.astype(np.float32)
    want = pyloudnorm.Meter(SR).integrated_loudness(x32.astype(np.float64))
    got = analyze_track(x32, SR).loudness_lufs
    assert got is not None and abs(got - want) < 0.5


def test_momentary_loudness_of_a_steady_tone_matches_pyloudnorm() -> None:
    import pyloudnorm

    t = np.arange(SR * 3) / SR
    x = (0.25 * np.sin(2 * np.pi * 100 * t) + 0.1 * np.sin(2 * np.pi * 5000 * t)).astype(np.float32)
    an = LiveAnalyzer(SR, 1)
    last = 0.0
    for b in blocks(x, HOP):
        last = an.process_arrays(b.reshape(1, -1)).floats[0, FLOAT_FIELDS.index("loudness_lufs")]
    assert abs(last - pyloudnorm.Meter(SR).integrated_loudness(x.astype(np.float64))) < 0.5
