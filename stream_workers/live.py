"""Live analysis of audio hops, free of faust: frames in, visual parameters out.

Frames older than ``MAX_FRAME_AGE_S`` are dropped: after a restart or a backlog, analysing
stale audio would only delay the live picture.
"""

from __future__ import annotations

import base64
import logging
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np

from analysis_kernels import hop_levels
from contracts import AudioFrame, DecodeError, StreamEnded, VisualParams, decode

__all__ = ["MAX_FRAME_AGE_S", "analyse_batch"]

log = logging.getLogger(__name__)
MAX_FRAME_AGE_S = 2.0


def analyse_batch(raw_messages: list[bytes], now: datetime) -> list[VisualParams]:
    """Decode a batch, run the kernels once per hop size over every stream, and shape the output."""
    frames: list[AudioFrame] = []
    oldest = now - timedelta(seconds=MAX_FRAME_AGE_S)
    for raw in raw_messages:
        try:
            event = decode(raw)
        except DecodeError:
            log.warning("skipping an undecodable audio frame (%d bytes)", len(raw))
            continue
        if isinstance(event, StreamEnded):
            continue  # stateless kernels hold nothing per stream yet
        if isinstance(event, AudioFrame) and event.occurred_at >= oldest:
            frames.append(event)
    by_hop: dict[int, list[tuple[AudioFrame, np.ndarray]]] = defaultdict(list)
    for frame in frames:
        samples = np.frombuffer(base64.b64decode(frame.samples), dtype="<f4")
        if not np.all(np.isfinite(samples)):
            samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
        by_hop[samples.size].append((frame, samples))
    results: list[VisualParams] = []
    for group in by_hop.values():
        block = np.stack([samples for _, samples in group]).astype(np.float32)
        rms, peak = hop_levels(block)
        for (frame, _), r, p in zip(group, rms, peak, strict=True):
            results.append(
                VisualParams(
                    room_code=frame.room_code,
                    stream_id=frame.stream_id,
                    t_ms=frame.t_ms,
                    rms=float(r),
                    peak=float(p),
                )
            )
    results.sort(key=lambda v: (v.stream_id, v.t_ms))
    return results
