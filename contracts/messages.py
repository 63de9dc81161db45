"""Conversations and messages (../shared/API.md, "Messages"): the message every client sees,
what the user's socket carries about conversations, and the events on ``message.events``.

Two paths carry a new message to the open sockets of its members, and both end on the
user's Redis channel ``notify:<user>`` (``contracts.channels.user_channel``):

- the fast path: the control plane publishes :class:`MessageMessage` right after its commit;
- the durable path: the message's :class:`MessagePosted` event is written to the outbox in
  the same transaction, travels over Kafka to the notification service, which publishes the
  same :class:`MessageMessage` again (with ``redelivered``). A control plane killed between
  its commit and its publish therefore loses nothing; the socket sends each message once
  (it remembers the ids it sent), so the second copy costs nothing.

Read markers and typing go the fast path only: they are refetched with the conversation list.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.base import EventBase

__all__ = [
    "CONVERSATION_KINDS",
    "EDIT_WINDOW_S",
    "MAX_ATTACHMENTS",
    "MAX_BODY_CHARS",
    "MAX_REPORT_CHARS",
    "MAX_TITLE_CHARS",
    "TYPING",
    "ConversationKind",
    "ConversationMessage",
    "MessageDeleted",
    "MessageEdited",
    "MessageEvent",
    "MessageMessage",
    "MessagePosted",
    "MessageUpdatedMessage",
    "ReadMessage",
    "Recipient",
    "ResyncMessage",
    "TypingMessage",
    "message_live_text",
]

ConversationKind = Literal["direct", "project", "session", "group"]
CONVERSATION_KINDS: Final = ("direct", "project", "session", "group")
MAX_BODY_CHARS: Final = 4000  # a message's text, in characters
MAX_TITLE_CHARS: Final = 120  # a group's name
MAX_REPORT_CHARS: Final = 1000  # why a message is reported
MAX_ATTACHMENTS: Final = 10  # file versions on one message
EDIT_WINDOW_S: Final = 15 * 60  # the sender may edit for 15 minutes
MAX_MEMBERS: Final = 100_000  # the largest session's seats (its capacity's limit)
TYPING: Final = "typing"  # from browsers: {"type": "typing", "conversation_id"}

# A message as every client sees it (the control plane's ``message_json``):
# {id, conversation_id, sender: {id, name}, body, html, reply_to, reply_preview, attachments,
#  mentions, edited_at, deleted, created_at}. Carried whole, not re-validated per hop.
MessageJson = dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class _LiveMessage(_Strict):
    OMITTED_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"redelivered"})
    type: str
    # Only between the notification service and the gateways (the durable path's copy);
    # browsers never see it.
    redelivered: Literal[True] | None = None

    def to_json(self) -> str:
        return self.model_dump_json(exclude={"redelivered"} if self.redelivered is None else None)

    def for_browser(self) -> str:
        return self.model_dump_json(exclude={"redelivered"})


class MessageMessage(_LiveMessage):
    """A new message in one of the user's conversations."""

    type: Literal["message"] = "message"
    message: MessageJson


class MessageUpdatedMessage(_LiveMessage):
    """A message was edited or deleted (then ``message.deleted`` is true and its body empty)."""

    type: Literal["message_updated"] = "message_updated"
    message: MessageJson


class ReadMessage(_LiveMessage):
    """A member's read marker moved (read ticks)."""

    type: Literal["read"] = "read"
    conversation_id: int = Field(ge=1)
    user_id: int = Field(ge=1)
    up_to: int = Field(ge=0)


class TypingMessage(_LiveMessage):
    """A member is typing (sent at most about once a second while they type)."""

    type: Literal["typing"] = "typing"
    conversation_id: int = Field(ge=1)
    user_id: int = Field(ge=1)


class ConversationMessage(_LiveMessage):
    """The user's list changed: a conversation was started with them, they joined or left one
    (membership follows requests and bookings), it was renamed, or someone else joined or left
    it (``members``); clients refetch the list."""

    type: Literal["conversation"] = "conversation"
    conversation_id: int = Field(ge=1)
    change: Literal["added", "removed", "renamed", "members"]


class ResyncMessage(_LiveMessage):
    """The server's link to Redis dropped and came back: live messages may have been missed
    meanwhile; clients fetch their conversations after the last ids they have."""

    type: Literal["resync"] = "resync"


def message_live_text(kind: Literal["message", "message_updated"], message: MessageJson) -> str:
    """The socket text of a new or changed message, built once for every member."""
    model = MessageMessage if kind == "message" else MessageUpdatedMessage
    return model(message=message).to_json()


# --- events on message.events (keyed by conversation id: one conversation stays in order) ---


class Recipient(_Strict):
    """A member other than the sender, as the control plane saw them when the message was
    posted: whether a socket of theirs was open, whether they muted the conversation, whether
    the message names them. The notification service decides by these (it knows no members)."""

    user_id: int = Field(ge=1)
    online: bool = False
    muted: bool = False
    mentioned: bool = False


class MessageEvent(EventBase):
    KEY_FIELD: ClassVar[str] = "conversation_id"
    conversation_id: int = Field(ge=1)
    conversation_kind: ConversationKind
    # What a notification calls the conversation ("Ana Silva", "Project: Demo EP", ...).
    conversation_title: str = Field(min_length=1, max_length=200)
    message_id: int = Field(ge=1)
    sender_id: int = Field(ge=1)
    sender_name: str = Field(min_length=1, max_length=120)
    # Every current member, the sender included: whose sockets get the durable live copy.
    # A session's conversation holds everyone with a seat: capacity, not a group's size.
    members: list[int] = Field(default_factory=list, max_length=MAX_MEMBERS)
    message: MessageJson


class MessagePosted(MessageEvent):
    """A new message; ``recipients`` are the members to consider telling (not the sender)."""

    type: Literal["message.posted"] = "message.posted"
    excerpt: str = Field(min_length=1, max_length=200)
    recipients: list[Recipient] = Field(default_factory=list, max_length=MAX_MEMBERS)


class MessageEdited(MessageEvent):
    """The sender edited a message (the durable copy of ``message_updated``)."""

    type: Literal["message.edited"] = "message.edited"


class MessageDeleted(MessageEvent):
    """The sender deleted a message; it stays as a tombstone."""

    type: Literal["message.deleted"] = "message.deleted"
