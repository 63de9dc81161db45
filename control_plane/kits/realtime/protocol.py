"""The socket protocol every WebSocket of the control plane shares (API.md): JSON text
messages of at most 4 KiB, each an object with a string ``type``; refusals as
``{"type": "error", "code", "detail"}`` followed by a close (1008). What the server sends is
defined in ``contracts.sockets``.

Sockets never trust the handshake cookies (cross-site WebSocket hijacking): the first message
is ``{"type": "auth", "token", ...}``, checked by ``control_plane.accounts.auth``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from flask import current_app
from simple_websocket import ConnectionClosed, Server

from contracts.sockets import PING, ErrorMessage, PongMessage, SocketMessage, echoed_time
from control_plane.kits.extensions import HUB_KEY
from control_plane.kits.realtime.hub import RedisHub

__all__ = [
    "AUTH_TIMEOUT_S",
    "MAX_CLIENT_MESSAGE",
    "SocketRefused",
    "answer_pings",
    "hub",
    "parse",
    "refuse",
    "send",
    "server_time_ms",
]

AUTH_TIMEOUT_S = 10
DRAIN_LIMIT = 32  # client messages handled between two looks at what the server has to send
MAX_CLIENT_MESSAGE = 4096


class SocketRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail

    def message(self) -> ErrorMessage:
        return ErrorMessage(code=self.code, detail=self.detail)


def server_time_ms() -> float:
    return time.time() * 1000.0


def send(ws: Server, message: SocketMessage) -> None:
    ws.send(message.to_json())


def parse(raw: object) -> dict[str, Any]:
    """One client message, or SocketRefused saying what is wrong with it."""
    if not isinstance(raw, str) or len(raw) > MAX_CLIENT_MESSAGE:
        raise SocketRefused("bad-message", "messages are JSON text of at most 4 KiB")
    try:
        message = json.loads(raw)
    except ValueError:
        raise SocketRefused("bad-message", "message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise SocketRefused("bad-message", "message must be an object with a string 'type'")
    return message


def refuse(ws: Server, exc: SocketRefused) -> None:
    try:
        send(ws, exc.message())
        ws.close(reason=1008, message=exc.code)
    except ConnectionClosed:
        pass


def hub() -> RedisHub:
    """This process's Redis pub/sub hub (built in create_app)."""
    found: RedisHub = current_app.extensions[HUB_KEY]
    return found


def answer_pings(ws: Server, others: Callable[[dict[str, Any]], SocketMessage | None] | None = None) -> None:
    """Drain what the client sent without blocking: answer pings, tell what is malformed
    (every socket that only listens does this between the messages it forwards). Any other
    message goes to ``others``, whose answer (an error, say) is sent back. At most
    ``DRAIN_LIMIT`` per call: a client sending without pause must not keep its socket from
    forwarding what the server has for it (or from noticing a logout)."""
    for _ in range(DRAIN_LIMIT):
        raw = ws.receive(timeout=0)
        if raw is None:
            return
        try:
            message = parse(raw)
        except SocketRefused as exc:
            send(ws, exc.message())
            continue
        if message["type"] == PING:
            send(
                ws,
                PongMessage(client_time_ms=echoed_time(message.get("client_time_ms")), server_time_ms=server_time_ms()),
            )
        elif others is not None:
            answer = others(message)
            if answer is not None:
                send(ws, answer)
