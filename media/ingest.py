"""WebRTC ingest: one RTCPeerConnection per live stream, audio decoded, resampled to mono
float32 and published as fixed-size hops on audio.frames (key = stream id).

Analysis never runs here; this loop only decodes, resamples and produces, so it stays free.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from contracts import AudioFrame, EventBase, StreamEnded
from media.hops import HopFramer

__all__ = ["LiveIngest", "StreamLimitReached"]

log = logging.getLogger(__name__)
Send = Callable[[EventBase], Awaitable[None]]
IDLE_TIMEOUT_S = 15.0


class StreamLimitReached(Exception):
    pass


@dataclass
class LiveStream:
    stream_id: str
    room_code: str
    pc: RTCPeerConnection
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ended: bool = False
    audio_started: bool = False


class LiveIngest:
    def __init__(self, send: Send, *, sample_rate: int, hop: int, max_streams: int) -> None:
        self._send = send
        self._sample_rate = sample_rate
        self._hop = hop
        self._max_streams = max_streams
        self.streams: dict[str, LiveStream] = {}

    async def accept_offer(self, sdp: str, room_code: str, stream_id: str) -> str:
        if "m=audio" not in sdp:
            raise ValueError("the offer carries no audio")
        if len(self.streams) >= self._max_streams:
            raise StreamLimitReached(f"this media process already carries {self._max_streams} streams")
        pc = RTCPeerConnection()
        live = LiveStream(stream_id, room_code, pc)
        self.streams[stream_id] = live

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio":
                live.audio_started = True
                task = asyncio.ensure_future(self._pump(live, track))
                live.tasks.add(task)
                task.add_done_callback(live.tasks.discard)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.end(stream_id)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            await self.end(stream_id, announce=False)
            raise
        # A peer that connects but never sends audio must not hold a slot forever.
        asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._end_if_silent, stream_id)
        return str(pc.localDescription.sdp)

    def _end_if_silent(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None and not live.audio_started:
            task = asyncio.ensure_future(self.end(stream_id))
            live.tasks.add(task)  # keep a reference until it is done

    async def _pump(self, live: LiveStream, track: MediaStreamTrack) -> None:
        # Resample to interleaved stereo and average the channels ourselves: libswresample's
        # stereo-to-mono downmix sums at -3 dB, which reads identical channels (what a browser
        # sends for a mono microphone) 3 dB too hot.
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=self._sample_rate)
        framer = HopFramer(self._sample_rate, self._hop)
        try:
            while True:
                frame = await asyncio.wait_for(track.recv(), timeout=IDLE_TIMEOUT_S)
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1, 2).mean(axis=1, dtype=np.float32)
                    for hop in framer.push(samples):
                        await self._send(
                            AudioFrame(
                                stream_id=live.stream_id,
                                room_code=live.room_code,
                                seq=hop.seq,
                                sample_rate=self._sample_rate,
                                t_ms=hop.t_ms,
                                samples=base64.b64encode(hop.samples.astype("<f4").tobytes()).decode(),
                            )
                        )
        except (MediaStreamError, TimeoutError):
            pass
        except Exception:
            log.exception("stream %s failed", live.stream_id)
        finally:
            await self.end(live.stream_id)

    async def end(self, stream_id: str, *, announce: bool = True) -> None:
        live = self.streams.pop(stream_id, None)
        if live is None or live.ended:
            return
        live.ended = True
        if announce:
            try:
                await self._send(StreamEnded(stream_id=stream_id, room_code=live.room_code))
            except Exception:
                log.warning("could not announce the end of stream %s", stream_id)
        await live.pc.close()

    async def close(self) -> None:
        for stream_id in list(self.streams):
            await self.end(stream_id)
