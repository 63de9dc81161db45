"""Producers emit valid events: the media ingest over a real WebRTC connection (aiortc on
both ends, in-process) and the stream workers' analysis output."""

from __future__ import annotations

import asyncio
import base64
import fractions
from datetime import UTC, datetime

import av
import numpy as np
import pytest
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

from contracts import AudioFrame, EventBase, StreamEnded, VisualParams, decode, encode
from media.ingest import LiveIngest
from stream_workers.live import analyse_batch


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
    async def scenario() -> list[EventBase]:
        sent: list[EventBase] = []

        async def send(event: EventBase) -> None:
            sent.append(decode(encode(event)))  # what goes on the wire must decode

        ingest = LiveIngest(send, sample_rate=48000, hop=800, max_streams=2)
        browser = RTCPeerConnection()
        browser.addTrack(SineTrack())
        await browser.setLocalDescription(await browser.createOffer())
        answer = await ingest.accept_offer(browser.localDescription.sdp, "ABCDEF", "abc123def456")
        await browser.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        for _ in range(200):
            if sum(isinstance(e, AudioFrame) for e in sent) >= 30:
                break
            await asyncio.sleep(0.05)
        await browser.close()
        await ingest.close()
        return sent

    events = asyncio.run(scenario())
    frames = [e for e in events if isinstance(e, AudioFrame)]
    assert len(frames) >= 30
    assert [f.seq for f in frames] == list(range(len(frames)))
    assert {f.room_code for f in frames} == {"ABCDEF"} and {f.sample_rate for f in frames} == {48000}
    samples = np.concatenate([np.frombuffer(base64.b64decode(f.samples), "<f4") for f in frames[10:]])
    assert samples.size == 800 * (len(frames) - 10)
    assert 0.2 < float(np.sqrt(np.mean(samples**2))) < 0.5  # the tone survived Opus at about 0.35 RMS
    assert isinstance(events[-1], StreamEnded)


def test_worker_turns_frames_into_valid_visual_params() -> None:

    loud = base64.b64encode((0.5 * np.ones(800)).astype("<f4").tobytes()).decode()
    quiet = base64.b64encode(np.zeros(800, dtype="<f4").tobytes()).decode()
    raw = [
        encode(AudioFrame(stream_id="s1", room_code="ABCDEF", seq=0, sample_rate=48000, t_ms=0.0, samples=loud)),
        encode(AudioFrame(stream_id="s2", room_code="GHJKMN", seq=0, sample_rate=48000, t_ms=0.0, samples=quiet)),
        b"garbage that must be skipped, not crash the worker",
    ]
    out = analyse_batch(raw, datetime.now(UTC))
    assert [decode(encode(v)) for v in out] == out
    by_stream = {v.stream_id: v for v in out}
    assert by_stream["s1"].rms == pytest.approx(0.5) and by_stream["s2"].rms == 0.0
    assert all(isinstance(v, VisualParams) for v in out)
    frame = by_stream["s1"].to_frame()
    assert frame["type"] == "visual" and {"stream_id", "t_ms", "rms", "bpm", "beat", "energy", "chroma"} <= frame.keys()


def test_stale_frames_are_dropped() -> None:
    from datetime import timedelta

    old = AudioFrame(
        stream_id="s1",
        room_code="ABCDEF",
        seq=0,
        sample_rate=48000,
        t_ms=0.0,
        samples=base64.b64encode(np.zeros(800, dtype="<f4").tobytes()).decode(),
        occurred_at=datetime.now(UTC) - timedelta(seconds=30),
    )
    assert analyse_batch([encode(old)], datetime.now(UTC)) == []
