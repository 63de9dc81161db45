"""WebSocket endpoints: /ws/notifications and /ws/rooms/<code> (API.md).

Both start with ``{"type": "auth", "token": ..., "since": ...}``. Sockets never trust the
handshake cookies (cross-site WebSocket hijacking); the page fetches a short-lived token.
"""

from __future__ import annotations

import json
import logging
import queue
import time
from typing import Any

from flask import Blueprint, current_app
from flask_jwt_extended import decode_token
from simple_websocket import ConnectionClosed, Server

from control_plane.accounts.models import User
from control_plane.accounts.tokens import token_is_revoked
from control_plane.extensions import db, sock
from control_plane.gateway.hub import RESYNC, RedisHub
from control_plane.notifications_client import NotificationsClient, NotificationsUnavailable
from control_plane.rooms.codes import normalise_code
from control_plane.rooms.models import Room
from control_plane.validation import MAX_ROW_ID

__all__ = ["bp", "server_time_ms"]

log = logging.getLogger(__name__)
AUTH_TIMEOUT_S = 10
# How often an open notifications socket checks that its login was not ended.
REVOCATION_CHECK_S = 1.0
MAX_CLIENT_MESSAGE = 4096


class SocketRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


def server_time_ms() -> float:
    return time.time() * 1000.0


def _send(ws: Server, message: dict[str, Any]) -> None:
    ws.send(json.dumps(message))


def _parse(raw: object) -> dict[str, Any]:
    if not isinstance(raw, str) or len(raw) > MAX_CLIENT_MESSAGE:
        raise SocketRefused("bad-message", "messages are JSON text of at most 4 KiB")
    try:
        message = json.loads(raw)
    except ValueError:
        raise SocketRefused("bad-message", "message is not valid JSON") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise SocketRefused("bad-message", "message must be an object with a string 'type'")
    return message


def _authenticate(ws: Server) -> tuple[User, dict[str, Any]]:
    message = _parse(ws.receive(timeout=AUTH_TIMEOUT_S))
    if message["type"] != "auth" or not isinstance(message.get("token"), str):
        raise SocketRefused("auth-required", "first message must be {type: auth, token}")
    try:
        claims = decode_token(message["token"])
    except Exception:
        raise SocketRefused("invalid-token", "token is invalid or expired") from None
    if claims.get("type") != "access" or token_is_revoked(claims):
        raise SocketRefused("invalid-token", "token is revoked or not an access token")
    user = db.session.get(User, int(claims["sub"]))
    if user is None:
        raise SocketRefused("invalid-token", "unknown user")
    db.session.expunge(user)
    db.session.remove()  # hand the connection back; sockets live long
    return user, message


def _refuse(ws: Server, exc: SocketRefused) -> None:
    try:
        _send(ws, {"type": "error", "code": exc.code, "detail": exc.detail})
        ws.close(reason=1008, message=exc.code)
    except ConnectionClosed:
        pass


def _hub() -> RedisHub:
    hub: RedisHub = current_app.extensions["downbeat.hub"]
    return hub


def notifications_socket(ws: Server) -> None:
    try:
        user, auth = _authenticate(ws)
        since = auth.get("since")
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or not 0 <= since <= MAX_ROW_ID
        ):
            raise SocketRefused("bad-since", "since must be a non-negative integer (a notification id) or null")
        known_epoch = auth.get("epoch")
        if known_epoch is not None and not isinstance(known_epoch, str):
            raise SocketRefused("bad-epoch", "epoch must be a string or null")
    except SocketRefused as exc:
        _refuse(ws, exc)
        return
    client: NotificationsClient = current_app.extensions["downbeat.notifications"]
    channel = f"notify:{user.id}"
    family = str(decode_token(auth["token"]).get("fam", ""))  # checked valid by _authenticate
    # Subscribe before reading the backlog: anything stored meanwhile arrives live, and the
    # id filter below drops what the backlog already delivered. No gap, no duplicate.
    live = _hub().subscribe(channel)
    try:
        feed = _Feed(ws, client, user.id, since or 0)
        # Clients that send an "epoch" key (even null) speak the epoch protocol: they get the
        # store's epoch first. Older clients keep the original stream of notifications only.
        speaks_epoch = "epoch" in auth
        epoch = feed.epoch()
        if speaks_epoch:
            _send(ws, {"type": "epoch", "epoch": epoch})
        if since and speaks_epoch and known_epoch is not None and known_epoch != epoch:
            # The store was reset since this client last saw it: its ids mean nothing now.
            _send(ws, {"type": "reset", "epoch": epoch})
            feed.reset()
        feed.backlog()
        next_check = time.monotonic() + REVOCATION_CHECK_S
        while True:
            try:
                item = live.get(timeout=0.5)
            except queue.Empty:
                item = None
            if item is RESYNC:
                feed.backlog()
            elif isinstance(item, bytes | str):
                feed.live(json.loads(item))
            _answer_client(ws)
            if time.monotonic() >= next_check:
                # Logout (or a reused refresh token) revokes the login: its socket ends too.
                if _login_revoked(family):
                    _refuse(ws, SocketRefused("token-revoked", "this login was ended (logged out)"))
                    return
                next_check = time.monotonic() + REVOCATION_CHECK_S
    except (ConnectionClosed, OSError):
        pass
    finally:
        _hub().unsubscribe(channel, live)


def _login_revoked(family: str) -> bool:
    """One primary-key read; the connection goes straight back to the pool (sockets live long)."""
    try:
        return token_is_revoked({"fam": family})
    finally:
        db.session.remove()


class _Feed:
    """What one socket has sent. Ids normally rise, so ``last`` filters; the exception is a
    worker restart that re-pushes a stored row (``redelivered``) after newer rows from other
    partitions went out: that row is sent unless this socket already sent it."""

    SENT_LIMIT = 10_000

    def __init__(self, ws: Server, client: NotificationsClient, user_id: int, since: int) -> None:
        self._ws, self._client, self._user_id = ws, client, user_id
        self.floor = self.last = since
        self._sent: set[int] = set()
        self._epoch: str | None = None

    def _page(self) -> dict[str, Any]:
        while True:
            try:
                return self._client.since(self._user_id, self.last)
            except NotificationsUnavailable:
                _send(self._ws, {"type": "error", "code": "notifications-unavailable", "detail": "retrying"})
                time.sleep(1.0)

    def epoch(self) -> str:
        if self._epoch is None:
            self._epoch = str(self._page().get("epoch") or "")
        return self._epoch

    def reset(self) -> None:
        self.floor = self.last = 0
        self._sent.clear()

    def backlog(self) -> None:
        while True:
            page = self._page()
            epoch = str(page.get("epoch") or "")
            if self._epoch is not None and epoch != self._epoch:
                self._epoch = epoch  # reset while connected
                _send(self._ws, {"type": "reset", "epoch": epoch})
                self.reset()
                continue
            for note in page["items"]:
                self._emit(note)
            if not page.get("has_more"):
                return

    def live(self, note: dict[str, Any]) -> None:
        nid = note.get("id")
        if not isinstance(nid, int):
            return
        if nid > self.last or (note.pop("redelivered", False) and nid > self.floor and nid not in self._sent):
            self._emit(note)

    def _emit(self, note: dict[str, Any]) -> None:
        note.pop("redelivered", None)
        _send(self._ws, note)
        nid = int(note["id"])
        self.last = max(self.last, nid)
        self._sent.add(nid)
        if len(self._sent) > self.SENT_LIMIT:
            # Forget the older half; ids at or below the floor count as sent.
            self.floor = sorted(self._sent)[len(self._sent) // 2]
            self._sent = {i for i in self._sent if i > self.floor}


def _answer_client(ws: Server) -> None:
    """Drain client messages without blocking; answer pings."""
    while True:
        raw = ws.receive(timeout=0)
        if raw is None:
            return
        try:
            message = _parse(raw)
        except SocketRefused as exc:
            _send(ws, {"type": "error", "code": exc.code, "detail": exc.detail})
            continue
        if message["type"] == "ping":
            _send(
                ws,
                {"type": "pong", "client_time_ms": message.get("client_time_ms"), "server_time_ms": server_time_ms()},
            )
        else:
            _send(ws, {"type": "error", "code": "unknown-type", "detail": f"unknown message type {message['type']!r}"})


def room_socket(ws: Server, code: str) -> None:
    """Presence, the room's live messages, clock pings and commands (see room_socket.py)."""
    from control_plane.gateway.room_socket import RoomConnection

    try:
        user, _auth = _authenticate(ws)
        room_code = normalise_code(code)
        room = db.session.scalar(db.select(Room).where(Room.code == room_code)) if room_code else None
        if room is None:
            raise SocketRefused("room-not-found", f"no room has the code {code!r}")
        room_code = room.code
        db.session.remove()
    except SocketRefused as exc:
        _refuse(ws, exc)
        return
    RoomConnection(ws, user, room_code).run()


bp = Blueprint("sockets", __name__)
sock.route("/ws/notifications", bp=bp)(notifications_socket)
sock.route("/ws/rooms/<code>", bp=bp)(room_socket)
