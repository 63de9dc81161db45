"""Chat in a listening room: a member's ``{"type": "chat", "body", "client_id"}`` on the room
socket becomes a ``chat`` message (``contracts.sockets.ChatMessage``) for everyone in the room.

Rooms are ephemeral, and so is their chat: nothing of it is in the database. Redis holds, per
room, the message counter and the newest :data:`HISTORY_LENGTH` messages (for a socket that
joins later), both living as long as the room's other Redis keys (``presence.py``), and per
sender the client ids of the last ten minutes (so a retry adds nothing) and a sliding rate
window. Keys:

- ``chat:<code>:seq``: the counter the ids come from (INCR);
- ``chat:<code>:log``: the recent messages as their wire text, oldest first (RPUSH, LTRIM);
- ``chat:<code>:sent:<user>:<client id>``: the message that client id made (SET NX);
- ``chat:<code>:rate:<user>``: the sender's recent posts (``rate_window.py``).

The caller publishes a new message on ``room:<code>`` like every room message
(``messages.publish``); a retry is answered to its own socket only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis
from pydantic import ValidationError

from contracts.sockets import CHAT_CLIENT_ID_PATTERN, ChatHistoryMessage, ChatMessage, ChatUser
from control_plane.kits.db.types import DB
from control_plane.rooms.queries import room_by_code
from control_plane.rooms.schemas import CHAT_RULES, ChatDraft
from control_plane.rooms.services.permissions import active_member
from control_plane.rooms.services.rate_window import SlidingWindow

__all__ = [
    "DEDUPE_MS",
    "HISTORY_LENGTH",
    "RATE_LIMIT",
    "RATE_WINDOW_MS",
    "ChatAuthor",
    "ChatRefused",
    "Posted",
    "RoomChat",
    "post_chat",
    "read_draft",
]

HISTORY_LENGTH = 50  # what a late joiner is shown: a screenful and some scrolling
# A client retries a message it has no answer for; past ten minutes it has given up (or the
# person has retyped it), and the same client id may then make a new message.
DEDUPE_MS = 10 * 60 * 1000
# A post holds its client id this long before its message is written: if the gateway dies in
# between, a retry after this makes the message instead of waiting out DEDUPE_MS.
CLAIM_MS = 10_000
# Per person per room: 5 messages in any 5 seconds. Room chat runs beside the music, at
# conversation pace; more than one line a second kept up is pasting or a stuck client. (The
# conversations' `limits.message_*` settings are per conversation over HTTP, a different
# budget.)
RATE_LIMIT = 5
RATE_WINDOW_MS = 5_000

_CLIENT_ID = re.compile(CHAT_CLIENT_ID_PATTERN)


class ChatRefused(Exception):
    """A chat message that does not go out; the socket answers its sender with ``error``."""

    def __init__(self, code: str, detail: str, client_id: str | None = None, retry_after_ms: int | None = None) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail
        self.client_id, self.retry_after_ms = client_id, retry_after_ms


@dataclass(frozen=True)
class ChatAuthor:
    id: int
    name: str


@dataclass(frozen=True)
class Posted:
    """What a post came to. ``first`` is True for a new message (publish it to the room). A
    retry of a message that went out has ``first`` False and that message (answer it to the
    retrying socket only); a retry while the first attempt is still being written has no
    message at all (the first attempt's broadcast will reach the sender)."""

    message: ChatMessage | None
    first: bool


def usable_client_id(message: Mapping[str, Any]) -> str | None:
    """The message's ``client_id`` if it is a valid one, so even a refusal can name it."""
    value = message.get("client_id")
    return value if isinstance(value, str) and _CLIENT_ID.match(value) else None


def read_draft(message: Mapping[str, Any]) -> ChatDraft:
    """The draft in a client's chat message, or ChatRefused ``bad-chat`` naming each broken rule."""
    try:
        return ChatDraft.model_validate(dict(message))
    except ValidationError as exc:
        problems: list[str] = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            if error["type"] == "extra_forbidden":
                rule = f"{field!r} is not a field of a chat message"
            else:
                rule = CHAT_RULES.get(field, f"{field} is not valid")
            if rule not in problems:
                problems.append(rule)
        raise ChatRefused("bad-chat", "; ".join(problems), usable_client_id(message)) from None


class RoomChat:
    """The chat of every room, in one Redis (shared by all gateway processes)."""

    def __init__(self, client: redis.Redis, lifetime_ms: int, rate: SlidingWindow | None = None) -> None:
        self._redis = client
        self._lifetime_ms = lifetime_ms
        self._rate = rate or SlidingWindow(client, RATE_LIMIT, RATE_WINDOW_MS)

    @staticmethod
    def _key(code: str, *parts: object) -> str:
        return ":".join(("chat", code, *map(str, parts)))

    def post(self, code: str, author: ChatAuthor, draft: ChatDraft, now_ms: float) -> Posted:
        """Make the message (or find the one this client id made) and keep it in the history."""
        sent_key = self._key(code, "sent", author.id, draft.client_id)
        earlier = self._earlier(sent_key)
        if earlier is not None:
            return earlier  # a retry does not count against the rate limit
        wait_ms = self._rate.hit(self._key(code, "rate", author.id), now_ms)
        if wait_ms is not None:
            seconds = max(1, round(wait_ms / 1000))
            limit, window_s = self._rate.limit, self._rate.window_ms / 1000
            raise ChatRefused(
                "rate-limited",
                f"at most {limit} messages in {window_s:g} seconds; try again in {seconds} s",
                draft.client_id,
                wait_ms,
            )
        if not self._redis.set(sent_key, "", nx=True, px=CLAIM_MS):
            return self._earlier(sent_key) or Posted(None, first=False)  # the same retry raced us
        message = ChatMessage(
            id=int(self._redis.incr(self._key(code, "seq"))),
            user=ChatUser(id=author.id, name=author.name),
            body=draft.body,
            client_id=draft.client_id,
            created_at=datetime.fromtimestamp(now_ms / 1000.0, tz=UTC).isoformat(timespec="milliseconds"),
        )
        text = message.to_json()
        log_key = self._key(code, "log")
        pipe = self._redis.pipeline(transaction=True)
        pipe.set(sent_key, text, px=DEDUPE_MS)
        pipe.rpush(log_key, text)
        pipe.ltrim(log_key, -HISTORY_LENGTH, -1)
        pipe.pexpire(log_key, self._lifetime_ms)
        pipe.pexpire(self._key(code, "seq"), self._lifetime_ms)
        pipe.execute()
        return Posted(message, first=True)

    def _earlier(self, sent_key: str) -> Posted | None:
        found = self._redis.get(sent_key)
        if found is None:
            return None
        if not found:  # claimed, not yet written: that attempt's broadcast is on its way
            return Posted(None, first=False)
        text = found.decode() if isinstance(found, bytes) else str(found)
        return Posted(ChatMessage.model_validate_json(text), first=False)

    def history(self, code: str) -> ChatHistoryMessage:
        """The room's recent messages in id order (two gateways may append in the other order
        of their ids); anything unreadable in the list is skipped."""
        raw: list[bytes] = list(self._redis.lrange(self._key(code, "log"), 0, -1))  # type: ignore[arg-type]
        items: dict[int, ChatMessage] = {}
        for text in raw:
            try:
                message = ChatMessage.model_validate_json(text)
            except ValidationError:
                continue
            items[message.id] = message
        return ChatHistoryMessage(items=[items[i] for i in sorted(items)])

    def keep(self, code: str) -> None:
        """Extend the room's chat as long as its presence (each socket's heartbeat calls this)."""
        pipe = self._redis.pipeline(transaction=False)
        pipe.pexpire(self._key(code, "log"), self._lifetime_ms)
        pipe.pexpire(self._key(code, "seq"), self._lifetime_ms)
        pipe.execute()


def post_chat(
    session: DB, chat: RoomChat, code: str, author: ChatAuthor, message: Mapping[str, Any], now_ms: float
) -> Posted:
    """A member says something in the room: only an active member (whoever opened the room's
    socket and has not left since), only valid text, at most :data:`RATE_LIMIT` messages per
    :data:`RATE_WINDOW_MS`; the same ``client_id`` again makes nothing new."""
    room = room_by_code(session, code)
    if room is None or active_member(session, room, author.id) is None:
        raise ChatRefused("not-member", "join the room first", usable_client_id(message))
    return chat.post(room.code, author, read_draft(message), now_ms)
