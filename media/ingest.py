"""WebRTC ingest: one RTCPeerConnection per live stream; audio decoded, resampled to the
kernels' mono rate with PyAV, cut into fixed hops and queued for ``audio.frames`` in the binary
hop format of ``contracts.live`` (key = stream id).

Analysis never runs here: this loop only decodes, resamples, frames and enqueues, so it
stays free. Every way a stream can end (the peer stops the track, closes, its ICE or DTLS
fails, it disconnects and does not come back, it never sends audio, it goes silent) ends in
:meth:`LiveIngest.end`, which announces ``StreamEnded`` exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from contracts import AudioHop, EventBase, StreamEnded, StreamStarted, encode, encode_audio_hop
from media.hops import HopFramer
from media.outbound import OutboundQueue, Outgoing

__all__ = ["InvalidOffer", "LiveIngest", "StreamLimitReached"]

log = logging.getLogger(__name__)
IDLE_TIMEOUT_S = 15.0  # connected but no audio (or no more audio) this long: the stream is gone
DISCONNECT_GRACE_S = 5.0  # ICE "disconnected" often recovers by itself; "failed" never does


class StreamLimitReached(Exception):
    pass


class InvalidOffer(ValueError):
    """The SDP is not a usable audio offer."""


@dataclass
class LiveStream:
    stream_id: str
    room_code: str
    user_id: int | None
    pc: RTCPeerConnection
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    ended: bool = False
    started: bool = False
    hops: int = 0
    disconnect_timer: asyncio.TimerHandle | None = None


class LiveIngest:
    def __init__(self, queue: OutboundQueue, *, sample_rate: int, hop: int, max_streams: int) -> None:
        self._queue = queue
        self._sample_rate = sample_rate
        self._hop = hop
        self._max_streams = max_streams
        self.streams: dict[str, LiveStream] = {}
        self.ended_reasons: dict[str, int] = {}

    async def accept_offer(self, sdp: str, room_code: str, stream_id: str, user_id: int | None = None) -> str:
        if "m=audio" not in sdp:
            raise InvalidOffer("the offer carries no audio")
        if stream_id in self.streams:
            raise InvalidOffer("that stream id is already live")
        if len(self.streams) >= self._max_streams:
            raise StreamLimitReached(f"this media process already carries {self._max_streams} streams")
        pc = RTCPeerConnection()
        live = LiveStream(stream_id, room_code, user_id, pc)
        self.streams[stream_id] = live

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "audio" and not live.started:
                live.started = True
                self._event(StreamStarted(stream_id=stream_id, room_code=room_code, user_id=user_id,
                                          sample_rate=self._sample_rate, hop=self._hop))  # fmt: skip
                self._spawn(live, self._pump(live, track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            await self._on_state(live, pc.connectionState)

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await self.end(stream_id, reason="invalid-offer")
            raise InvalidOffer(f"the SDP offer could not be used: {exc}") from exc
        # A peer that connects but never sends audio must not hold a slot forever.
        asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._end_if_silent, stream_id)
        return str(pc.localDescription.sdp)

    async def _on_state(self, live: LiveStream, state: str) -> None:
        if live.disconnect_timer is not None:
            live.disconnect_timer.cancel()
            live.disconnect_timer = None
        if state == "failed":
            await self.end(live.stream_id, reason="connection-failed")
        elif state == "closed":
            await self.end(live.stream_id, reason="closed")
        elif state == "disconnected":
            live.disconnect_timer = asyncio.get_running_loop().call_later(
                DISCONNECT_GRACE_S, self._end_soon, live.stream_id, "disconnected"
            )

    def _spawn(self, live: LiveStream, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        live.tasks.add(task)  # keep a reference until it is done
        task.add_done_callback(live.tasks.discard)

    def _end_soon(self, stream_id: str, reason: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None:
            self._spawn(live, self.end(stream_id, reason=reason))

    def _end_if_silent(self, stream_id: str) -> None:
        live = self.streams.get(stream_id)
        if live is not None and not live.started:
            self._spawn(live, self.end(stream_id, reason="no-audio"))

    def _event(self, event: EventBase) -> None:
        stream_id = str(getattr(event, "stream_id", ""))
        self._queue.put(Outgoing(event.partition_key, encode(event), droppable=False, stream_id=stream_id))

    async def _pump(self, live: LiveStream, track: MediaStreamTrack) -> None:
        # Resample to interleaved stereo and average the channels ourselves: libswresample's
        # stereo-to-mono downmix sums at -3 dB, which reads identical channels (what a browser
        # sends for a mono microphone) 3 dB too hot.
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=self._sample_rate)
        framer = HopFramer(self._sample_rate, self._hop)
        key = live.stream_id.encode()
        reason = "track-ended"
        try:
            while not live.ended:
                frame = await asyncio.wait_for(track.recv(), timeout=IDLE_TIMEOUT_S)
                # Capture time at ingest: when the audio that completes a hop got here.
                arrived_ms = time.time() * 1000.0
                if not isinstance(frame, av.AudioFrame):
                    continue
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1, 2).mean(axis=1, dtype=np.float32)
                    for hop in framer.push(samples):
                        raw = encode_audio_hop(
                            AudioHop(
                                live.stream_id, live.room_code, hop.seq, arrived_ms, self._sample_rate, hop.samples
                            )
                        )
                        self._queue.put(Outgoing(key, raw, droppable=True, stream_id=live.stream_id))
                        live.hops += 1
        except MediaStreamError:
            pass
        except TimeoutError:
            reason = "silent"
        except Exception:
            log.exception("stream %s failed", live.stream_id)
            reason = "error"
        finally:
            await self.end(live.stream_id, reason=reason)

    async def end(self, stream_id: str, *, reason: str = "stopped") -> None:
        live = self.streams.pop(stream_id, None)
        if live is None or live.ended:
            return
        live.ended = True
        self.ended_reasons[reason] = self.ended_reasons.get(reason, 0) + 1
        if live.disconnect_timer is not None:
            live.disconnect_timer.cancel()
        if live.started:
            dropped = self._queue.dropped_by_stream.pop(stream_id, 0)
            self._event(
                StreamEnded(
                    stream_id=stream_id, room_code=live.room_code, reason=reason, hops=live.hops, dropped_hops=dropped
                )
            )
        log.info("stream %s ended (%s) after %d hops", stream_id, reason, live.hops)
        await live.pc.close()

    async def close(self) -> None:
        for stream_id in list(self.streams):
            await self.end(stream_id, reason="shutdown")
