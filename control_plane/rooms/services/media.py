"""The media process as the rooms area sees it: a port that takes a checked WebRTC offer and
gives back the SDP answer, and its HTTP adapter (``POST`` ``contracts.live.MEDIA_OFFER_PATH``).

``create_app`` binds one :class:`HttpMediaClient` under :data:`MEDIA_KEY`; tests may bind a
hand-written fake there instead.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Protocol

import requests
from pydantic import ValidationError

from contracts.live import MEDIA_OFFER_PATH, MediaAnswer, MediaOffer
from control_plane.rooms.services.refusals import RoomsRefused

__all__ = ["MEDIA_KEY", "HttpMediaClient", "MediaClient"]

MEDIA_KEY = "downbeat.media"
OFFER_TIMEOUT_S = 15.0  # the answer waits on ICE gathering and the DTLS set-up


class MediaClient(Protocol):
    def offer(self, offer: MediaOffer) -> MediaAnswer:
        """The media process's answer to ``offer``, or ``RoomsRefused``: 503
        ``media-unavailable`` when it cannot be reached or answers nonsense, its own 4xx (such
        as 422 ``invalid-offer`` for SDP aiortc cannot use) passed through."""
        ...


class HttpMediaClient:
    """The media process's internal HTTP API."""

    def __init__(
        self,
        base_url: str,
        timeout: float = OFFER_TIMEOUT_S,
        *,
        while_waiting: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self._url = base_url.rstrip("/") + MEDIA_OFFER_PATH
        self._timeout = timeout
        # Wraps the call: the control plane passes ``request_gate.slot_released`` so that the
        # seconds spent on the media process do not hold one of its request slots.
        self._while_waiting = while_waiting

    def offer(self, offer: MediaOffer) -> MediaAnswer:
        try:
            with self._while_waiting():
                answer = requests.post(
                    self._url,
                    data=offer.model_dump_json(),
                    headers={"Content-Type": "application/json"},
                    timeout=self._timeout,
                )
        except requests.RequestException:
            raise RoomsRefused(
                503, "media-unavailable", "The media service is not reachable; try again shortly"
            ) from None
        if answer.status_code != 200:
            body = _problem_body(answer)
            status = answer.status_code if 400 <= answer.status_code < 500 else 503
            code = str(body.get("code", "media-refused"))
            raise RoomsRefused(status, code, str(body.get("detail", "The media service refused the offer")))
        try:
            return MediaAnswer.model_validate_json(answer.content)
        except ValidationError:
            raise RoomsRefused(
                503, "media-unavailable", "The media service gave an answer that is not an SDP answer"
            ) from None


def _problem_body(answer: requests.Response) -> dict[str, Any]:
    if not answer.headers.get("Content-Type", "").startswith("application/"):
        return {}
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
