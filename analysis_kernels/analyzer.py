"""The live analyzer: many streams advanced one hop per call, every feature of every stream in one numba call.

:class:`LiveAnalyzer` owns the design, the per-stream state (:mod:`analysis_kernels.state`) and the scratch
buffers, and :func:`_advance` runs the stages in order on one chunk of rows at a time: level and loudness
(:mod:`~analysis_kernels.loudness`), the window and its spectrum (:mod:`~analysis_kernels.spectral`), onsets
(:mod:`~analysis_kernels.rhythm`), chroma and key (:mod:`~analysis_kernels.key`), then tempo and beats
(:mod:`~analysis_kernels.rhythm`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from analysis_kernels.design import key_name, make_design
from analysis_kernels.key import chroma_and_key
from analysis_kernels.loudness import levels_and_loudness
from analysis_kernels.rhythm import onsets, tempo_and_beats
from analysis_kernels.spectral import rfft, slide_window, spectral_features
from analysis_kernels.state import (
    BEAT,
    BPM,
    CENTROID,
    FLUX,
    HIGH,
    KEY,
    LOUD_M,
    LOUD_S,
    LOW,
    MID,
    ONSET,
    ONSET_EVENT,
    PEAK,
    PHASE,
    RMS,
    ROLLOFF_HZ,
    HopOutputs,
    RowsLike,
    new_outputs,
    new_state,
    reset_row,
)

__all__ = ["CHUNK", "LiveAnalyzer"]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# rows per pass through every stage: frames (8 KiB each) and spectra of a chunk stay in L2
CHUNK = 32
# key index -> name, with -1 (no key yet) -> None, for process()
_KEY_NAMES: dict[int, str | None] = {k: key_name(k) for k in range(-1, 24)}


@njit(cache=True, nogil=True)
def _advance(
    block: F32,
    rows: I64,
    chunk: int,
    sums: F64,
    frames: F32,
    mag: F64,
    tempo_odf: F64,
    floats: F64,
    ints: I64,
    chroma: F64,
    mel: F64,
    lo: Any,
    fr: Any,
    sp: Any,
    on: Any,
    ky: Any,
    rh: Any,
) -> None:  # pragma: no cover - compiled
    """Every stage for ``chunk`` rows at a time, so frames and spectra stay in cache between stages.

    ``lo``, ``fr``, ``sp``, ``on``, ``ky`` and ``rh`` are the stages' constant arguments (design and state arrays)
    as tuples, in the order of the stages. Order matters: loudness writes the RMS that gates the key, the spectrum
    writes the mel bands and magnitudes that onsets and chroma read, and tempo and beats advance the hop count.
    """
    n = rows.size
    for c0 in range(0, n, chunk):
        c1 = min(n, c0 + chunk)
        m = c1 - c0
        rr = rows[c0:c1]
        fl = floats[c0:c1]
        it = ints[c0:c1]
        me = mel[c0:c1]
        levels_and_loudness(block[c0:c1], rr, sums[:m], fl, *lo)
        slide_window(block[c0:c1], rr, frames[:m], *fr)
        spec = rfft(frames[:m])
        spectral_features(spec, rr, mag[:m], fl, me, *sp)
        onsets(rr, me, tempo_odf[:m], fl, it, *on)
        chroma_and_key(rr, mag[:m], fl, it, chroma[c0:c1], *ky)
        tempo_and_beats(rr, tempo_odf[:m], fl, it, *rh)


class LiveAnalyzer:
    """Batched causal analysis: ``process(block)`` advances ``streams`` streams by one hop each.

    ``block`` is float32 of shape ``(streams, hop)``; ``hop`` is ``sample_rate / 60`` (800 at 48 kHz).
    The spectrum uses an ``n_fft``-sample Hann window (2048 at 48 kHz) that slides by one hop.
    """

    def __init__(self, sample_rate: int, streams: int) -> None:
        if streams < 1:
            raise ValueError(f"streams must be at least 1, got {streams}")
        self.design = make_design(sample_rate)
        self.sample_rate = sample_rate
        self.streams = streams
        self.hop = self.design.hop
        self.state = new_state(self.design, streams)
        self.outputs = new_outputs(streams)
        d, st = self.design, self.state
        # scratch for one chunk of rows (the kernels run every stage on CHUNK rows before the next chunk)
        rows = min(streams, CHUNK)
        self._frames = np.zeros((rows, d.n_fft), np.float32)
        self._mag = np.zeros((rows, d.n_fft // 2 + 1))
        self._power = np.zeros(d.n_fft // 2 + 1)
        self._peaks = np.zeros(d.n_fft // 2 + 1, np.int64)
        self._sums = np.zeros((rows, 3))
        self._tempo_odf = np.zeros(rows)
        self._scratch = np.zeros(max(d.tempo_bpm.size, math.ceil(d.tempo_period.max()) + 2))
        window_sum = float(np.sum(d.window, dtype=np.float64))
        window_sq_sum = float(np.sum(d.window.astype(np.float64) ** 2))
        self._all_rows = np.arange(streams, dtype=np.int64)
        # the stages' constant arguments: design and state arrays (state rows are updated in place)
        self._lo = (d.kw, d.momentary_hops, st.count, st.kw_z, st.energy)
        self._fr = (d.window, st.ring)
        self._sp = (
            float(d.sample_rate),
            d.n_fft,
            window_sum,
            window_sq_sum,
            d.band_start,
            d.mel_seg,
            d.mel_w_lo,
            d.mel_w_hi,
            st.prev_mag,
            self._power,
        )
        self._on = (d.mel_tempo_weight, st.count, st.prev_logmel, st.onset_mean, st.prev_onset, st.last_onset)
        self._ky = (
            d.chroma_lo_bin,
            d.chroma_hi_bin,
            d.pitch_of_bin,
            d.min_rms_for_key,
            d.key_window_hops,
            d.live_key_profiles,
            st.key_chroma,
            st.key_frames,
            st.key_idx,
            self._peaks,
        )
        self._rh = (
            d.odf_mean_alpha,
            d.acf_alpha,
            d.tempo_bpm,
            d.tempo_period,
            d.tempo_prior,
            d.tempo_every,
            d.tempo_transition,
            d.cs_alpha,
            d.w1,
            d.w1_start,
            d.w1_len,
            d.warmup_hops,
            st.count,
            st.odf_mean,
            st.odf_hist,
            st.acf,
            st.belief,
            st.evidence,
            st.tempo_idx,
            st.bpm,
            st.cs,
            st.m0,
            st.beat_counter,
            st.last_beat,
            self._scratch,
        )

    def reset(self, stream_index: int) -> None:
        """Forget everything about one slot so a new stream can use it."""
        if not 0 <= stream_index < self.streams:
            raise IndexError(f"stream_index {stream_index} out of range 0..{self.streams - 1}")
        reset_row(self.state, stream_index)

    def _check_rows(self, block: F32, rows: RowsLike | None) -> I64:
        """The slot indices a call advances, validated: 1-D, integer, distinct, in ``[0, streams)``."""
        if rows is None:
            if block.shape != (self.streams, self.hop):
                raise ValueError(f"block must be (streams, hop) = {(self.streams, self.hop)}, got {block.shape}")
            return self._all_rows
        arr = np.asarray(rows)
        if arr.ndim != 1:
            raise ValueError(f"rows must be 1-D, got shape {arr.shape}")
        if arr.size and arr.dtype.kind not in "iu":
            raise ValueError(f"rows must be integers, got dtype {arr.dtype}")
        idx = arr.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.streams):
            raise ValueError(f"rows must lie in 0..{self.streams - 1}")
        if np.unique(idx).size != idx.size:
            raise ValueError("rows must be distinct")
        if block.shape != (idx.size, self.hop):
            raise ValueError(f"block must be (len(rows), hop) = {(idx.size, self.hop)}, got {block.shape}")
        return idx

    def process_arrays(self, block: F32, rows: RowsLike | None = None) -> HopOutputs:
        """Advance streams by one hop; results as arrays (the fast path, buffers reused between calls).

        With ``rows`` (distinct slot indices), ``block`` is ``(len(rows), hop)``: only those slots advance, and
        output row ``r`` belongs to slot ``rows[r]``; the other slots are not touched and cost nothing.
        """
        idx = self._check_rows(block, rows)
        n = idx.size
        out = self.outputs
        if n < self.streams:
            # views of the first n rows of the full buffers: contiguous, no allocation of new buffers
            out = HopOutputs(floats=out.floats[:n], ints=out.ints[:n], chroma=out.chroma[:n], mel=out.mel[:n])
        if n == 0:
            return out
        block = np.ascontiguousarray(block, dtype=np.float32)
        _advance(
            block,
            idx,
            self._frames.shape[0],
            self._sums,
            self._frames,
            self._mag,
            self._tempo_odf,
            out.floats,
            out.ints,
            out.chroma,
            out.mel,
            self._lo,
            self._fr,
            self._sp,
            self._on,
            self._ky,
            self._rh,
        )
        return out

    def process(self, block: F32, rows: RowsLike | None = None) -> list[dict[str, Any]]:
        """Advance streams by one hop; one ``visual``-frame mapping per stream (or per ``rows`` entry, in order).

        Built column by column (one ``tolist`` per field, one dict literal per row) so the Python side costs about
        a microsecond per stream; ``process_arrays`` stays the fast path for callers that read arrays.
        """
        out = self.process_arrays(block, rows)
        f = out.floats.T.tolist()
        i = out.ints.T.tolist()
        bpm = [None if v != v else round(v, 2) for v in f[BPM]]
        phase = [None if v != v else v for v in f[PHASE]]
        keys = [_KEY_NAMES[k] for k in i[KEY]]
        chroma = np.round(out.chroma, 4).tolist()
        return [
            {
                "rms": rms,
                "peak": peak,
                "bpm": bp,
                "beat": beat == 1,
                "beat_phase": ph,
                "onset": onset,
                "onset_event": event == 1,
                "energy": {"low": low, "mid": mid, "high": high},
                "loudness_lufs": lm,
                "loudness_short_lufs": ls,
                "centroid_hz": cen,
                "rolloff_hz": roll,
                "flux": flux,
                "chroma": ch,
                "key": key,
            }
            for rms, peak, bp, beat, ph, onset, event, low, mid, high, lm, ls, cen, roll, flux, ch, key in zip(
                f[RMS],
                f[PEAK],
                bpm,
                i[BEAT],
                phase,
                f[ONSET],
                i[ONSET_EVENT],
                f[LOW],
                f[MID],
                f[HIGH],
                f[LOUD_M],
                f[LOUD_S],
                f[CENTROID],
                f[ROLLOFF_HZ],
                f[FLUX],
                chroma,
                keys,
                strict=True,
            )
        ]
