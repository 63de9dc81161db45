"""/ws/notifications (API.md): the stored backlog after ``since``, then live notifications,
and everything live about the user's conversations (``control_plane.messages.sockets``:
messages, edits, read markers, typing; the client sends ``typing``). While open, the socket
marks its user present (``kits.realtime.presence``): present people are not told of new
messages through the notification service, they see them here.

The first message is ``{"type": "auth", "token", "since", "epoch"}``; see
``control_plane.kits.realtime.protocol`` for what every socket shares, and
``contracts.sockets`` for every message sent here (notifications are built by the
notification service and relayed).
"""

from __future__ import annotations

import logging
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from flask import Blueprint, current_app
from flask_jwt_extended import decode_token
from pydantic import ValidationError
from simple_websocket import ConnectionClosed, Server

from contracts.channels import user_channel
from contracts.messages import ResyncMessage
from contracts.sockets import (
    EpochMessage,
    ErrorMessage,
    NotificationMessage,
    ResetMessage,
)
from control_plane.accounts.auth import authenticate_socket
from control_plane.accounts.sockets import login_watch
from control_plane.kits.extensions import NOTIFICATIONS_KEY, REDIS_KEY, sock
from control_plane.kits.http.validation import MAX_ROW_ID
from control_plane.kits.realtime import presence
from control_plane.kits.realtime.hub import RESYNC
from control_plane.kits.realtime.protocol import SocketRefused, answer_pings, hub, refuse, send
from control_plane.messages.sockets import ConversationLive
from control_plane.notifications.services import NotificationsClient, NotificationsUnavailable

__all__ = ["bp", "notifications_socket"]

log = logging.getLogger(__name__)
T = TypeVar("T")
# Notifications are encoded type first (contracts.sockets); anything else on the user's
# channel is about their conversations.
NOTIFICATION_PREFIX = '{"type":"notification"'
LISTEN_S = 0.2  # longest wait for the channel before reading what the client sent


def notifications_socket(ws: Server) -> None:
    try:
        user, auth = authenticate_socket(ws)
        since = auth.get("since")
        if since is not None and (
            not isinstance(since, int) or isinstance(since, bool) or not 0 <= since <= MAX_ROW_ID
        ):
            raise SocketRefused("bad-since", "since must be a non-negative integer (a notification id) or null")
        known_epoch = auth.get("epoch")
        if known_epoch is not None and not isinstance(known_epoch, str):
            raise SocketRefused("bad-epoch", "epoch must be a string or null")
    except SocketRefused as exc:
        refuse(ws, exc)
        return
    client: NotificationsClient = current_app.extensions[NOTIFICATIONS_KEY]
    channel = user_channel(user.id)
    found = current_app.extensions.get(REDIS_KEY)
    store = found if isinstance(found, redis.Redis) else None
    # The same channel carries the user's conversations (messages, edits, read markers, typing).
    conversations = ConversationLive(user.id, store)
    socket_id = uuid.uuid4().hex
    family = str(decode_token(auth["token"]).get("fam", ""))  # checked valid by _authenticate
    # Subscribe before reading the backlog: anything stored meanwhile arrives live, and the
    # id filter below drops what the backlog already delivered. No gap, no duplicate.
    live = hub().subscribe(channel)
    presence.present(store, user.id, socket_id)
    logins = login_watch()
    logins.add(family)
    try:
        feed = _Feed(ws, client, user.id, since or 0, conversations)
        # Clients that send an "epoch" key (even null) speak the epoch protocol: they get the
        # store's epoch first. Older clients keep the original stream of notifications only.
        speaks_epoch = "epoch" in auth
        epoch = feed.epoch()
        if speaks_epoch:
            send(ws, EpochMessage(epoch=epoch))
        if since and speaks_epoch and known_epoch is not None and known_epoch != epoch:
            # The store was reset since this client last saw it: its ids mean nothing now.
            send(ws, ResetMessage(epoch=epoch))
            feed.reset()
        feed.backlog()
        next_presence = time.monotonic() + presence.PRESENCE_TTL_S / 3
        while True:
            try:
                # Short: what the browser sent (typing, pings) is read between waits, and
                # typing must not trail the message it came before.
                item = live.get(timeout=LISTEN_S)
            except queue.Empty:
                item = None
            if item is RESYNC:
                feed.backlog()
                ws.send(ResyncMessage().to_json())
            elif isinstance(item, bytes | str):
                feed.live(item)
            answer_pings(ws, conversations.incoming)
            if time.monotonic() >= next_presence:
                presence.present(store, user.id, socket_id)
                next_presence = time.monotonic() + presence.PRESENCE_TTL_S / 3
            # Logout (or a reused refresh token) revokes the login: its socket ends too. The
            # process's watch asks the database about every open socket's login at once.
            if logins.revoked(family):
                refuse(ws, SocketRefused("token-revoked", "this login was ended (logged out)"))
                return
    except (ConnectionClosed, OSError):
        pass
    finally:
        hub().unsubscribe(channel, live)
        presence.leave(store, user.id, socket_id)
        logins.discard(family)


class _Feed:
    """What one socket has sent. Ids normally rise, so ``last`` filters; the exception is a
    worker restart that re-pushes a stored row (``redelivered``) after newer rows from other
    partitions went out: that row is sent unless this socket already sent it."""

    SENT_LIMIT = 10_000

    def __init__(
        self, ws: Server, client: NotificationsClient, user_id: int, since: int, conversations: ConversationLive
    ) -> None:
        self._ws, self._client, self._user_id = ws, client, user_id
        self._conversations = conversations
        self.floor = self.last = since
        self._sent: set[int] = set()
        self._epoch: str | None = None

    def _page(self) -> dict[str, Any]:
        while True:
            try:
                return self._client.since(self._user_id, self.last)
            except NotificationsUnavailable:
                send(self._ws, ErrorMessage(code="notifications-unavailable", detail="retrying"))
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
                send(self._ws, ResetMessage(epoch=epoch))
                self.reset()
                continue
            for item in page["items"]:
                note = _notification(item, NotificationMessage.model_validate)
                if note is not None:
                    self._emit(note)
            if not page.get("has_more"):
                return

    def live(self, raw: bytes | str) -> None:
        head = raw[:40] if isinstance(raw, str) else raw[:40].decode("utf-8", "replace")
        if not head.startswith(NOTIFICATION_PREFIX):
            text = self._conversations.outgoing(raw)
            if text is not None:
                self._ws.send(text)
            return
        note = _notification(raw, NotificationMessage.model_validate_json)
        if note is None:
            return
        nid = note.id
        if nid > self.last or (note.redelivered and nid > self.floor and nid not in self._sent):
            self._emit(note)

    def _emit(self, note: NotificationMessage) -> None:
        self._ws.send(note.for_browser())
        nid = note.id
        self.last = max(self.last, nid)
        self._sent.add(nid)
        if len(self._sent) > self.SENT_LIMIT:
            # Forget the older half; ids at or below the floor count as sent.
            self.floor = sorted(self._sent)[len(self._sent) // 2]
            self._sent = {i for i in self._sent if i > self.floor}


def _notification(raw: T, parse: Callable[[T], NotificationMessage]) -> NotificationMessage | None:
    """A notification as the notification service sends it (contracts.sockets), else None."""
    try:
        return parse(raw)
    except ValidationError:
        log.warning("skipping a notification that does not match contracts.sockets.NotificationMessage")
        return None


bp = Blueprint("notifications_sockets", __name__)
sock.route("/ws/notifications", bp=bp)(notifications_socket)
