"""The message events the outbox carries (contracts.messages): staged in the caller's
transaction, so a message and its event are kept together or not at all."""

from __future__ import annotations

from typing import Any

from contracts.messages import MessageDeleted, MessageEdited, MessagePosted, Recipient
from control_plane.accounts.models import User
from control_plane.kits.db.types import DB
from control_plane.kits.outbox.writer import add_event
from control_plane.messages.models import Conversation, ConversationMember

__all__ = ["stage_changed", "stage_posted"]


def _excerpt(body: str, attachments: int) -> str:
    text = " ".join(body.split())
    if not text:
        text = f"({attachments} attachment{'s' if attachments != 1 else ''})"
    return text if len(text) <= 200 else text[:199] + "…"


def stage_posted(
    db: DB,
    conversation: Conversation,
    title: str,
    sender: User,
    message: dict[str, Any],
    members: list[ConversationMember],
    online: set[int],
    silenced: set[int] = frozenset(),  # type: ignore[assignment]
) -> MessagePosted:
    """``silenced``: members who blocked the sender; they are never told (muted, no mention)."""
    mentions = set(message.get("mentions") or []) - silenced
    event = MessagePosted(
        conversation_id=conversation.id,
        conversation_kind=conversation.kind,  # type: ignore[arg-type]  # a check constraint keeps it one
        conversation_title=title[:200] or "Conversation",
        message_id=int(message["id"]),
        sender_id=sender.id,
        sender_name=sender.name[:120] or "Someone",
        members=[m.user_id for m in members],
        message=message,
        excerpt=_excerpt(str(message.get("body") or ""), len(message.get("attachments") or [])),
        recipients=[
            Recipient(
                user_id=m.user_id,
                online=m.user_id in online,
                muted=m.muted or m.user_id in silenced,
                mentioned=m.user_id in mentions,
            )
            for m in members
            if m.user_id != sender.id
        ],
    )
    add_event(db, event)
    return event


def stage_changed(
    db: DB, conversation: Conversation, title: str, sender: User, message: dict[str, Any], members: list[int]
) -> MessageEdited | MessageDeleted:
    kind = MessageDeleted if message.get("deleted") else MessageEdited
    event = kind(
        conversation_id=conversation.id,
        conversation_kind=conversation.kind,  # type: ignore[arg-type]
        conversation_title=title[:200] or "Conversation",
        message_id=int(message["id"]),
        sender_id=sender.id,
        sender_name=sender.name[:120] or "Someone",
        members=members,
        message=message,
    )
    add_event(db, event)
    return event
