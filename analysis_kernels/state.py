"""The live analyzer's memory: per-stream state arrays, the per-hop output layout, and what the kernels share.

Every array has one row per stream (slot), so a slot can be reset and reused and the numba kernels stay pure
functions of (block, design, state) -> outputs. The column indices below (``RMS``, ``BPM``, ``BEAT``, ``KEY``...)
are the contract between the kernels that write a field and the callers that read it. The kernels compile these
indices in as constants: see the package docstring about numba's cache before changing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from analysis_kernels.design import N_MEL, Design

__all__ = [
    "BEAT",
    "BPM",
    "CENTROID",
    "FASTMATH",
    "FLOAT_FIELDS",
    "FLUX",
    "HIGH",
    "INT_FIELDS",
    "KEY",
    "LOUD_M",
    "LOUD_S",
    "LOW",
    "MID",
    "ONSET",
    "ONSET_EVENT",
    "PEAK",
    "PHASE",
    "RMS",
    "ROLLOFF_HZ",
    "HopOutputs",
    "LiveState",
    "RowsLike",
    "new_outputs",
    "new_state",
    "reset_row",
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
# slot indices for subset processing: an integer array or a sequence of ints
RowsLike = npt.NDArray[np.integer[Any]] | Sequence[int]

# columns of HopOutputs.floats / HopOutputs.ints
FLOAT_FIELDS = (
    "rms",
    "peak",
    "low",
    "mid",
    "high",
    "centroid_hz",
    "rolloff_hz",
    "flux",
    "onset",
    "loudness_lufs",
    "loudness_short_lufs",
    "bpm",
    "beat_phase",
)
INT_FIELDS = ("beat", "onset_event", "key")
(RMS, PEAK, LOW, MID, HIGH, CENTROID, ROLLOFF_HZ, FLUX, ONSET, LOUD_M, LOUD_S, BPM, PHASE) = range(len(FLOAT_FIELDS))
(BEAT, ONSET_EVENT, KEY) = range(len(INT_FIELDS))

# fastmath flags of the vectorised kernels: reassociation and FMA contraction; never nnan/ninf, because NaN marks
# "unknown" in the outputs
FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@dataclass
class LiveState:
    """Per-stream state, one row per stream (the first axis of every array)."""

    count: I64  # hops processed
    ring: F32  # last n_fft samples
    prev_mag: F64
    prev_logmel: F64
    kw_z: F64  # K-weighting biquad states (2 per biquad)
    energy: F64  # ring of per-hop K-weighted mean squares (short-term window)
    odf_mean: F64
    onset_mean: F64
    prev_onset: F64
    last_onset: I64
    odf_hist: F64  # detrended tempo onset function, ring stored twice over (2 * odf_ring)
    acf: F64  # running autocorrelation of odf_hist
    belief: F64  # tempo belief over the tempo grid
    evidence: F64  # last tempo evidence over the grid
    tempo_idx: I64
    bpm: F64
    cs: F64  # cumulative beat score, ring
    m0: I64  # hops until the next beat prediction
    beat_counter: I64  # hops until the predicted beat
    last_beat: I64
    key_chroma: F64
    key_frames: I64  # chroma frames averaged into key_chroma so far
    key_idx: I64


def new_state(design: Design, streams: int) -> LiveState:
    """State for ``streams`` fresh streams (every row as after :func:`reset_row`)."""
    n_bins = design.n_fft // 2 + 1
    n_tempo = design.tempo_bpm.size
    state = LiveState(
        count=np.zeros(streams, np.int64),
        ring=np.zeros((streams, design.n_fft), np.float32),
        prev_mag=np.zeros((streams, n_bins)),
        prev_logmel=np.zeros((streams, N_MEL)),
        kw_z=np.zeros((streams, 4)),
        energy=np.zeros((streams, design.short_hops)),
        odf_mean=np.zeros(streams),
        onset_mean=np.zeros(streams),
        prev_onset=np.zeros(streams),
        last_onset=np.zeros(streams, np.int64),
        odf_hist=np.zeros((streams, 2 * design.odf_ring)),
        acf=np.zeros((streams, design.acf_lags)),
        belief=np.ones((streams, n_tempo)),
        evidence=np.zeros((streams, n_tempo)),
        tempo_idx=np.zeros(streams, np.int64),
        bpm=np.zeros(streams),
        cs=np.zeros((streams, design.cs_ring)),
        m0=np.zeros(streams, np.int64),
        beat_counter=np.zeros(streams, np.int64),
        last_beat=np.zeros(streams, np.int64),
        key_chroma=np.zeros((streams, 12)),
        key_frames=np.zeros(streams, np.int64),
        key_idx=np.zeros(streams, np.int64),
    )
    for s in range(streams):
        reset_row(state, s)
    return state


def reset_row(state: LiveState, s: int) -> None:
    """Row ``s`` as for a stream that has not started: zeros, except the "nothing yet" markers."""
    for f in fields(state):
        arr: Any = getattr(state, f.name)
        arr[s] = 0
    state.belief[s] = 1.0
    state.tempo_idx[s] = -1
    state.last_onset[s] = -(10**9)
    state.last_beat[s] = -1
    state.key_idx[s] = -1
    state.m0[s] = 0
    state.beat_counter[s] = -1


@dataclass
class HopOutputs:
    """Outputs of one hop for every stream: ``floats[:, FLOAT_FIELDS.index(name)]`` and so on."""

    floats: F64  # (streams, len(FLOAT_FIELDS)); bpm and beat_phase are NaN while unknown
    ints: I64  # (streams, len(INT_FIELDS)); key is -1 while unknown
    chroma: F64  # (streams, 12), max-normalised
    mel: F64  # (streams, N_MEL), band mean-square power


def new_outputs(streams: int) -> HopOutputs:
    """Zeroed output buffers for ``streams`` rows (reused from call to call)."""
    return HopOutputs(
        floats=np.zeros((streams, len(FLOAT_FIELDS))),
        ints=np.zeros((streams, len(INT_FIELDS)), np.int64),
        chroma=np.zeros((streams, 12)),
        mel=np.zeros((streams, N_MEL)),
    )
