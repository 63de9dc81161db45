"""Producers emit valid events: the media ingest over a real WebRTC connection (aiortc on
both ends, in-process) and the stream workers' analysis output."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from contracts import (
    AudioHop,
    StreamEnded,
    StreamStarted,
    VisualParams,
    decode,
    decode_audio_hop,
    encode,
    encode_audio_hop,
    is_audio_hop,
)
from media.ingest import LiveIngest
from media.outbound import OutboundQueue
from stream_workers.live import LiveEngine


class SineTrack(MediaStreamTrack):
    """20 ms stereo s16 frames of a 440 Hz tone at 48 kHz, like a browser microphone."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        await asyncio.sleep(0.02)
        n = 960
        t = (self._pts + np.arange(n)) / 48000
        mono = (0.5 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2)[None, :], format="s16", layout="stereo")
        frame.sample_rate = 48000
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, 48000)
        self._pts += n
        return frame


def test_media_ingest_publishes_valid_fixed_size_hops() -> None:
    async def scenario() -> list[object]:
        queue = OutboundQueue(limit=1000)
        ingest = LiveIngest(queue, sample_rate=48000, hop=800, max_streams=2)
        browser = RTCPeerConnection()
        browser.addTrack(SineTrack())
        await browser.setLocalDescription(await browser.createOffer())
        answer = await ingest.accept_offer(browser.localDescription.sdp, "ABCDEF", "abc123def456", user_id=3)
        await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        sent: list[object] = []
        for _ in range(200):
            # what goes on the wire must decode: binary hops and JSON events, keyed by stream id
            for item in queue.take_all():
                assert item.key == b"abc123def456"
                sent.append(decode_audio_hop(item.value) if is_audio_hop(item.value) else decode(item.value))
            if sum(isinstance(e, AudioHop) for e in sent) >= 30:
                break
            await asyncio.sleep(0.05)
        await browser.close()
        await ingest.close()
        sent += [decode_audio_hop(i.value) if is_audio_hop(i.value) else decode(i.value) for i in queue.take_all()]
        return sent

    events = asyncio.run(scenario())
    assert isinstance(events[0], StreamStarted) and events[0].user_id == 3
    frames = [e for e in events if isinstance(e, AudioHop)]
    assert len(frames) >= 30
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert {f.room_code for f in frames} == {"ABCDEF"} and {f.sample_rate for f in frames} == {48000}
    assert all(f.capture_ms <= time.time() * 1000 for f in frames)
    samples = np.concatenate([f.samples for f in frames[10:]])
    assert samples.size == 800 * (len(frames) - 10)
    assert 0.2 < float(np.sqrt(np.mean(samples**2))) < 0.5  # the tone survived Opus at about 0.35 RMS
    assert isinstance(events[-1], StreamEnded) and events[-1].hops >= 30


def _raw_hop(stream: str, room: str, level: float, *, capture_ms: float | None = None) -> bytes:
    samples = np.full(800, level, dtype=np.float32)
    now = time.time() * 1000 if capture_ms is None else capture_ms
    return encode_audio_hop(AudioHop(stream, room, 0, now, 48000, samples))


def test_worker_turns_frames_into_valid_visual_params() -> None:
    raw = [
        _raw_hop("s1", "ABCDEF", 0.5),
        _raw_hop("s2", "GHJKMN", 0.0),
        b"garbage that must be skipped, not crash the worker",
    ]
    engine = LiveEngine(48000, 800, rows_per_analyzer=4)
    out = engine.handle(raw, time.time() * 1000)
    assert [decode(encode(v)) for v in out] == out
    by_stream = {v.stream_id: v for v in out}
    assert by_stream["s1"].rms == pytest.approx(0.5) and by_stream["s2"].rms == 0.0
    assert by_stream["s1"].room_code == "ABCDEF" and by_stream["s2"].room_code == "GHJKMN"
    assert all(isinstance(v, VisualParams) for v in out)
    frame = by_stream["s1"].to_frame()
    api_fields = {"stream_id", "t_ms", "bpm", "beat", "beat_phase", "onset", "energy", "rms", "loudness_lufs"}
    assert frame["type"] == "visual" and api_fields | {"centroid_hz", "flux", "chroma", "key", "mel"} <= frame.keys()
    assert engine.stats.refused == 1


def test_stale_frames_are_dropped() -> None:
    engine = LiveEngine(48000, 800, rows_per_analyzer=4)
    old = _raw_hop("s1", "ABCDEF", 0.1, capture_ms=time.time() * 1000 - 30_000)
    assert engine.handle([old], time.time() * 1000) == []
    assert engine.stats.stale == 1
