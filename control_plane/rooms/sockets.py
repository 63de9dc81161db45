"""One open /ws/rooms/<code> socket: presence, the room's fan-out, clock pings and commands.

Two threads per socket. A forwarder passes everything published on Redis ``room:<code>``
(state, queue, participants, track, visual) to this socket. On opening, the socket gets the
room (participants, queue, state) and, while someone streams, the room's newest ``visual``
frame (``visual:last:<code>``, kept a few seconds by the stream worker), so a late joiner
sees the visuals at once instead of after the next frame, then the room's recent chat
(``chat_history``, kept in Redis by ``services/chat.py``). The socket's own thread blocks
on the next client message, so a ``ping`` is answered the moment it arrives: the pong
carries ``server_receive_ms`` (taken on arrival) and ``server_time_ms`` (taken just before
the send, under the send lock), which is what an NTP-style offset estimate needs. Sends
from both threads go through one lock (wsproto is not thread-safe).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import redis
from flask import Blueprint, Flask, current_app
from simple_websocket import ConnectionClosed, Server

from contracts.channels import last_visual_key, room_channel
from contracts.sockets import CHAT, PING, ErrorMessage, RoomMessage, SocketMessage, echoed_time, pong_text
from control_plane.accounts.auth import authenticate_socket
from control_plane.accounts.models import User
from control_plane.kits.extensions import HUB_KEY, REDIS_KEY, current_settings, db, sock
from control_plane.kits.realtime.hub import RESYNC, RedisHub
from control_plane.kits.realtime.protocol import SocketRefused, parse, refuse, server_time_ms
from control_plane.rooms.jobs import RoomTicker
from control_plane.rooms.models import Room
from control_plane.rooms.queries import room_by_code
from control_plane.rooms.services import chat, messages
from control_plane.rooms.services import rooms as service
from control_plane.rooms.services.presence import Presence, PresenceConnection, room_keys_lifetime_ms

__all__ = [
    "RoomConnection",
    "bp",
    "present_in",
    "room_chat",
    "room_presence",
    "room_snapshot",
    "room_socket",
    "server_time_ms",
]

log = logging.getLogger(__name__)

_TICKER_LOCK = threading.Lock()


# --- who is present, and the room as every client first sees it ---------------------------


def room_presence() -> Presence:
    """This app's view of who is in which room (Redis, shared by every gateway process)."""
    found: Presence | None = current_app.extensions.get("downbeat.room_presence")
    if found is None:
        settings = current_settings()
        found = Presence(current_app.extensions[REDIS_KEY], settings.rooms.presence_ttl_ms)
        current_app.extensions["downbeat.room_presence"] = found
    return found


def room_chat() -> chat.RoomChat | None:
    """This app's room chat (in the app's Redis; None when the app has none)."""
    found: chat.RoomChat | None = current_app.extensions.get("downbeat.room_chat")
    client: redis.Redis | None = current_app.extensions.get(REDIS_KEY)
    if found is None and client is not None:
        lifetime = room_keys_lifetime_ms(current_settings().rooms.presence_ttl_ms)
        found = chat.RoomChat(client, lifetime)
        current_app.extensions["downbeat.room_chat"] = found
    return found


def present_in(code: str) -> dict[int, float]:
    """Who is present; nobody when Redis is unreachable (presence is best effort, rooms are not)."""
    try:
        return room_presence().present(code)
    except redis.RedisError:
        log.warning("Redis unreachable: room %s shows nobody present", code)
        return {}


def room_snapshot(room: Room) -> dict[str, Any]:
    """The room as JSON values (``contracts.sockets.RoomSnapshot``), for an HTTP answer or a page."""
    return messages.room_snapshot(db.session, room, present_in(room.code)).to_dict()


class RoomConnection:
    def __init__(self, ws: Server, user: User, code: str) -> None:
        self.ws, self.user, self.code = ws, user, code
        self.settings = current_settings()
        self.hub: RedisHub = current_app.extensions[HUB_KEY]
        self.redis: redis.Redis | None = current_app.extensions.get(REDIS_KEY)
        self._send_lock = threading.Lock()
        self._closed = threading.Event()
        self._presence: PresenceConnection | None = None
        self.chat = room_chat()
        self.author = chat.ChatAuthor(id=user.id, name=user.name)  # read once: the user row is detached

    # --- sending ---------------------------------------------------------------------------

    def send_text(self, text: str) -> None:
        with self._send_lock:
            self.ws.send(text)

    def send(self, message: SocketMessage) -> None:
        self.send_text(message.to_json())

    def error(self, code: str, detail: str, request: str | None = None, **extra: Any) -> None:
        self.send(ErrorMessage(code=code, detail=detail, request=request or None, **extra))

    def pong(self, client_time: object, received_ms: float) -> None:
        echoed = echoed_time(client_time)
        with self._send_lock:
            # Taken as late as possible: nothing but the text formatting sits between the
            # clock read and the bytes leaving for the socket.
            self.ws.send(pong_text(echoed, received_ms, server_time_ms()))

    # --- lifecycle -------------------------------------------------------------------------

    def run(self) -> None:
        channel = room_channel(self.code)
        live = self.hub.subscribe(channel, self.ws)  # before the snapshot; visual frames go direct
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        forwarder = threading.Thread(target=self._forward, args=(app, live), name=f"room-fwd-{self.code}", daemon=True)
        try:
            self._arrive()
            self._send_snapshot()
            self._send_last_visual()
            self._send_recent_chat()
            forwarder.start()
            self._listen()
        except (ConnectionClosed, OSError):
            pass
        finally:
            self._closed.set()
            self.hub.unsubscribe(channel, live)
            self._depart()
            db.session.remove()

    def _arrive(self) -> None:
        with _TICKER_LOCK:  # two sockets arriving at once must not each build a ticker
            ticker = current_app.extensions.get("downbeat.room_ticker")
            if ticker is None:
                ticker = RoomTicker(db.engine, current_app.extensions[REDIS_KEY], self.settings)
                current_app.extensions["downbeat.room_ticker"] = ticker
        ticker.ensure_started()
        room = service.locked_room(db.session, self.code)
        service.join(db.session, room, self.user.id)  # opening the room's link joins it
        db.session.commit()
        try:
            self._presence, newly = room_presence().connect(self.code, self.user.id)
        except redis.RedisError:
            log.warning("Redis unreachable: %s is not shown present in %s", self.user.id, self.code)
            newly = False
        if newly:
            self._publish_participants()
        db.session.remove()

    def _depart(self) -> None:
        if self._presence is None:
            return
        try:
            last = room_presence().disconnect(self._presence)
        except redis.RedisError:
            return  # the entry expires on its own
        if last:
            try:
                self._publish_participants(queue_too=True)
            except Exception:
                log.exception("could not announce that %s left %s", self.user.id, self.code)

    def _publish_participants(self, queue_too: bool = False) -> None:
        room = db.session.scalar(db.select(Room).where(Room.code == self.code))
        if room is None:
            return
        present = present_in(self.code)
        out: list[RoomMessage] = [messages.participants_message(db.session, room, present)]
        if queue_too:
            out.append(messages.queue_message(db.session, room, present))  # skip_needed changed
        db.session.rollback()
        messages.publish(self.redis, self.code, out)

    def _send_snapshot(self) -> None:
        room = db.session.scalar(db.select(Room).where(Room.code == self.code))
        if room is None:
            raise ConnectionClosed(1008, "room-not-found")
        present = present_in(self.code)
        out = [
            messages.participants_message(db.session, room, present),
            messages.queue_message(db.session, room, present),
            messages.state_message(db.session, room),
        ]
        db.session.rollback()
        db.session.remove()
        for message in out:
            self.send(message)

    def _send_last_visual(self) -> None:
        """The room's newest visual frame, if one is fresh (the key expires a few seconds after
        the last frame). A live frame may already have gone out directly: the visualiser drops
        frames whose ``seq`` is not newer than the one it drew."""
        if self.redis is None:
            return
        try:
            frame = self.redis.get(last_visual_key(self.code))
        except redis.RedisError:
            return  # visuals resume with the next live frame
        if isinstance(frame, bytes):
            self.send_text(frame.decode())

    def _send_recent_chat(self) -> None:
        """The room's recent chat, after the state. Messages posted meanwhile may also arrive
        live; clients keep each id once."""
        if self.chat is None:
            return
        try:
            history = self.chat.history(self.code)
        except redis.RedisError:
            return  # chat resumes with the next live message
        self.send(history)

    def _forward(self, app: Flask, live: queue.Queue[object]) -> None:
        with app.app_context():  # a resync reads the database
            try:
                self._forward_until_closed(live)
            finally:
                db.session.remove()

    def _forward_until_closed(self, live: queue.Queue[object]) -> None:
        while not self._closed.is_set():
            try:
                item = live.get(timeout=0.5)
            except queue.Empty:
                continue
            try:
                if item is RESYNC:
                    self._send_snapshot()  # Redis came back: we may have missed changes
                    self._send_recent_chat()
                elif isinstance(item, bytes | str):
                    self.send_text(item.decode() if isinstance(item, bytes) else item)
            except (ConnectionClosed, OSError):
                return
            except Exception:
                log.exception("room forwarder for %s failed on one message", self.code)

    def _listen(self) -> None:
        beat_s = self.settings.rooms.presence_heartbeat_ms / 1000.0
        next_beat = time.monotonic() + beat_s
        while True:
            raw = self.ws.receive(timeout=max(0.0, next_beat - time.monotonic()))
            received = server_time_ms()
            if raw is not None:
                self._answer(raw, received)
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + beat_s
                self._heartbeat()

    def _heartbeat(self) -> None:
        if self._presence is None:
            try:
                self._presence, newly = room_presence().connect(self.code, self.user.id)
            except redis.RedisError:
                return
            if newly:
                self._publish_participants(queue_too=True)
            return
        try:
            still_here = room_presence().heartbeat(self._presence)
        except redis.RedisError:
            log.debug("presence heartbeat failed for %s", self.code)
            return
        if still_here and self.chat is not None:
            try:
                self.chat.keep(self.code)  # the room's chat lives as long as its presence
            except redis.RedisError:
                log.debug("chat keep-alive failed for %s", self.code)
        if not still_here:
            # Left the room (POST /leave) or stalled past the TTL: this socket is over; a
            # client that still wants the room reconnects, which joins it again.
            self._presence = None
            self.error("left", "you are no longer in this room; reconnect to join again")
            self.ws.close(reason=1000, message="left")
            raise ConnectionClosed(1000, "left")

    # --- client messages -------------------------------------------------------------------

    def _answer(self, raw: object, received_ms: float) -> None:
        try:
            message = parse(raw)
        except SocketRefused as exc:  # a bad message is answered, not fatal, on this socket
            self.error(exc.code, exc.detail)
            return
        kind = message["type"]
        if kind == PING:
            self.pong(message.get("client_time_ms"), received_ms)
            return
        if kind == CHAT:
            self._chat(message)
            return
        try:
            outcome = service.handle_command(
                db.session,
                self.code,
                self.user.id,
                message,
                present_in(self.code),
                self.settings.rooms.lead_ms,
                server_time_ms(),
            )
            db.session.commit()
        except service.CommandRefused as exc:
            db.session.rollback()
            self.error(exc.code, exc.detail, kind)
            return
        except Exception:
            db.session.rollback()
            log.exception("room command %s failed in %s", kind, self.code)
            self.error("internal-error", "that did not work; nothing changed", kind)
            return
        finally:
            db.session.remove()  # sockets live long: hand the connection back at once
        messages.publish(self.redis, self.code, outcome.messages)

    def _chat(self, message: dict[str, Any]) -> None:
        """A chat line: to everyone in the room, or an ``error`` to this socket only (which
        stays open). A retry of a message that went out is answered to this socket only."""
        try:
            if self.chat is None:
                raise redis.RedisError("no Redis configured")
            posted = chat.post_chat(db.session, self.chat, self.code, self.author, message, server_time_ms())
        except chat.ChatRefused as exc:
            self.error(exc.code, exc.detail, CHAT, client_id=exc.client_id, retry_after_ms=exc.retry_after_ms)
            return
        except redis.RedisError:
            log.warning("chat in %s failed: Redis unreachable", self.code)
            client_id = chat.usable_client_id(message)
            self.error("chat-unavailable", "chat is unavailable right now; try again", CHAT, client_id=client_id)
            return
        finally:
            db.session.remove()  # the membership read; sockets live long
        if posted.message is None:
            return
        if posted.first:
            messages.publish(self.redis, self.code, [posted.message])
        else:
            self.send(posted.message)


def room_socket(ws: Server, code: str) -> None:
    """Presence, the room's live messages, clock pings and commands."""
    try:
        user, _auth = authenticate_socket(ws)
        room = room_by_code(db.session, code)
        if room is None:
            raise SocketRefused("room-not-found", f"no room has the code {code!r}")
        room_code = room.code
        db.session.remove()
    except SocketRefused as exc:
        refuse(ws, exc)
        return
    RoomConnection(ws, user, room_code).run()


bp = Blueprint("rooms_sockets", __name__)
sock.route("/ws/rooms/<code>", bp=bp)(room_socket)
