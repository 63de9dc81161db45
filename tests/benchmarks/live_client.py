"""A Python WebRTC performer for live benchmarks: aiortc sends an array of audio in real time
(20 ms Opus frames, like a browser microphone) after signalling through the control plane."""

from __future__ import annotations

import asyncio
import fractions
import json
import time
import urllib.request
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription

__all__ = ["ArrayTrack", "go_live"]


class ArrayTrack(MediaStreamTrack):
    """Loops ``samples`` (mono float32, 48 kHz) as 20 ms s16 frames, paced by the wall clock."""

    kind = "audio"

    def __init__(self, samples: npt.NDArray[np.float32], rate: int = 48000) -> None:
        super().__init__()
        self._pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
        self._rate = rate
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        n = self._rate // 50
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / self._rate - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        at = self._pts % self._pcm.size
        chunk = np.take(self._pcm, np.arange(at, at + n), mode="wrap")
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
        frame.sample_rate = self._rate
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, self._rate)
        self._pts += n
        return frame


def _post(url: str, body: dict[str, Any], token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


async def go_live(base: str, code: str, token: str, samples: npt.NDArray[np.float32]) -> tuple[RTCPeerConnection, str]:
    pc = RTCPeerConnection()
    pc.addTrack(ArrayTrack(samples))
    await pc.setLocalDescription(await pc.createOffer())
    loop = asyncio.get_running_loop()
    status, answer = await loop.run_in_executor(
        None, _post, f"{base}/api/rooms/{code}/stream", {"sdp": pc.localDescription.sdp, "type": "offer"}, token
    )
    if status != 200:
        await pc.close()
        raise RuntimeError(f"offer refused: {status} {answer}")
    await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
    return pc, str(answer["stream_id"])
