"""What the user's socket (``/ws/notifications``, served by the notifications area) does about
conversations: forward what the user's channel carries about them, each message once, and
relay the user's ``typing``.

A new message reaches the channel twice: from the control plane right after its commit, and
again from the notification service after the outbox and Kafka (``redelivered``), the
durable path that covers a control plane killed between commit and publish. This socket
remembers what it sent (message id, edit time, deleted) and sends each version once.
After a reconnect the browser fetches what it missed by id (``?after=``), and drops ids it
already shows.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from typing import Any

import redis

from contracts.messages import TYPING, MessageMessage, MessageUpdatedMessage
from contracts.sockets import ErrorMessage, SocketMessage
from control_plane.kits.extensions import db
from control_plane.kits.http.validation import MAX_ROW_ID
from control_plane.messages.queries import conversation_access, member_rows
from control_plane.messages.services.live import publish_typing
from control_plane.messages.services.safety import blocked_between

__all__ = ["ConversationLive"]

log = logging.getLogger(__name__)
SENT_LIMIT = 5_000  # message versions remembered per socket; older ones are long forgotten by any copy
TYPING_EVERY_S = 1.0  # at most one typing signal per conversation per second goes out
ACCESS_TTL_S = 5.0  # how long a membership answer is trusted for typing (sockets live long)
_LIVE_TYPES = frozenset({"message", "message_updated"})
_PASSED_TYPES = frozenset({"read", "typing", "conversation"})


class ConversationLive:
    def __init__(self, user_id: int, client: redis.Redis | None) -> None:
        self._user_id = user_id
        self._redis = client
        self._sent: OrderedDict[tuple[int, str, bool], None] = OrderedDict()
        self._typing_at: dict[int, float] = {}
        self._members: dict[int, tuple[float, list[int] | None]] = {}

    def outgoing(self, raw: bytes | str) -> str | None:
        """The browser's text for one conversation message from the channel, or None (a copy
        already sent, or not a conversation message)."""
        try:
            message = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(message, dict):
            return None
        kind = message.get("type")
        if kind in _PASSED_TYPES:
            message.pop("redelivered", None)
            if kind == "conversation" and isinstance(message.get("conversation_id"), int):
                self.forget(message["conversation_id"])
            return json.dumps(message, separators=(",", ":"))
        if kind not in _LIVE_TYPES or not isinstance(message.get("message"), dict):
            return None
        body = message["message"]
        try:
            key = (int(body["id"]), str(body.get("edited_at") or ""), bool(body.get("deleted")))
        except (KeyError, TypeError, ValueError):
            log.warning("skipping a conversation message without a message id")
            return None
        if key in self._sent:
            return None
        self._sent[key] = None
        if len(self._sent) > SENT_LIMIT:
            self._sent.popitem(last=False)
        model = MessageMessage if kind == "message" else MessageUpdatedMessage
        return model(message=body).for_browser()

    def incoming(self, message: dict[str, Any]) -> SocketMessage | None:
        """A client message other than ping: ``typing`` is relayed to the conversation's other
        members; anything else is answered with an error."""
        if message["type"] != TYPING:
            return ErrorMessage(code="unknown-type", detail=f"this socket does not take {str(message['type'])[:40]!r}")
        cid = message.get("conversation_id")
        if not isinstance(cid, int) or isinstance(cid, bool) or not 1 <= cid <= MAX_ROW_ID:
            return ErrorMessage(code="bad-typing", detail="conversation_id must be a conversation id (integer)")
        now = time.monotonic()
        if now - self._typing_at.get(cid, -TYPING_EVERY_S) < TYPING_EVERY_S:
            return None  # typing is a hint: extra signals are dropped, not refused
        members = self._members_of(cid, now)
        if members is None:
            # The same answer as a conversation that does not exist: a stranger learns nothing.
            return ErrorMessage(code="conversation-not-found", detail="No conversation here, or not one you can see")
        self._typing_at[cid] = now
        publish_typing(self._redis, members, cid, self._user_id)
        return None

    def _members_of(self, conversation_id: int, now: float) -> list[int] | None:
        cached = self._members.get(conversation_id)
        if cached is not None and now - cached[0] < ACCESS_TTL_S:
            return cached[1]
        try:
            access = conversation_access(db.session, conversation_id, self._user_id)
            members = None
            if access is not None and access.active:
                members = [row.user_id for row in member_rows(db.session, conversation_id)]
                # A block silences typing too, in the one conversation the two share alone.
                if access.conversation.kind == "direct" and any(
                    blocked_between(db.session, self._user_id, uid) for uid in members if uid != self._user_id
                ):
                    members = None
        finally:
            db.session.remove()  # hand the connection back; sockets live long
        if members is None:
            return None  # "no" is not remembered: someone just added may type at once
        if len(self._members) > 1000:
            self._members.clear()
        self._members[conversation_id] = (now, members)
        return members

    def forget(self, conversation_id: int) -> None:
        """Membership of this conversation changed: ask again before relaying typing."""
        self._members.pop(conversation_id, None)
