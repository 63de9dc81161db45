"""Posting, editing and deleting messages, and moving read markers.

Posting locks the conversation's row first (``SELECT ... FOR UPDATE``; SQLite's
``BEGIN IMMEDIATE`` serialises every writer anyway). That one lock gives three things:

- retries of one send (same sender, same ``client_id``) run one after another, and every
  retry finds the first message (20 parallel retries give one message);
- ids within a conversation commit in the order they are given, so a client that fetched
  ``after`` an id never misses a message that commits later with a smaller one;
- the conversation's ``last_message_id``, which former members' ``visible_until`` is cut at,
  cannot move under a membership change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from contracts.messages import EDIT_WINDOW_S
from control_plane.accounts.models import User
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.kits.db.types import DB, utcnow
from control_plane.kits.markdown import render
from control_plane.messages.models import Conversation, ConversationMember, Message, MessageAttachment, UserBlock
from control_plane.messages.queries import (
    Access,
    conversation_access,
    conversation_title,
    member_rows,
    messages_json,
    visible_message,
)
from control_plane.messages.schemas import MessageBody
from control_plane.messages.services.events import stage_changed, stage_posted
from control_plane.messages.services.membership import MemberChange, sync_conversation
from control_plane.messages.services.mentions import mentioned
from control_plane.messages.services.refusals import MessagesRefused, invalid, not_found
from control_plane.messages.services.safety import blocked_between

__all__ = ["Changed", "OnlineCheck", "Posted", "delete_message", "edit_message", "mark_read", "post_message"]

# Which of these members have a socket open now (Redis presence; the route hands it in).
OnlineCheck = Callable[[list[int]], set[int]]


@dataclass(frozen=True)
class Posted:
    message: dict[str, Any]
    created: bool  # False: a retry of a message that exists (nothing was added)
    members: list[int]  # every active member, the sender included: whose sockets hear it
    changes: list[MemberChange]


@dataclass(frozen=True)
class Changed:
    message: dict[str, Any]
    members: list[int]


def _locked_access(db: DB, conversation_id: int, actor: User) -> Access:
    access = conversation_access(db, conversation_id, actor.id, for_update=True)
    if access is None:
        raise not_found()
    return access


def _names(db: DB, rows: list[ConversationMember]) -> dict[int, str]:
    ids = [r.user_id for r in rows]
    return dict(db.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _title(db: DB, conversation: Conversation, names: dict[int, str], sender_id: int) -> str:
    if conversation.kind == "direct":
        return names.get(sender_id, "")  # the recipient sees the sender's name
    return conversation_title(db, conversation, sender_id, list(names.items()))


def _check_direct(db: DB, conversation: Conversation, rows: list[ConversationMember], actor: User) -> None:
    if conversation.kind != "direct":
        return
    other = next((r.user_id for r in rows if r.user_id != actor.id), None)
    if other is not None and blocked_between(db, actor.id, other):
        raise MessagesRefused(403, "blocked", "You cannot send messages in this conversation")


def _check_reply(db: DB, conversation: Conversation, reply_to: int | None) -> None:
    if reply_to is None:
        return
    parent = db.get(Message, reply_to)
    if parent is None or parent.conversation_id != conversation.id:
        raise invalid("reply_to", "is not a message of this conversation")


def _attachments(db: DB, conversation: Conversation, ids: list[int]) -> list[tuple[FileVersion, ProjectFile]]:
    if not ids:
        return []
    if conversation.kind != "project" or conversation.project_id is None:
        raise invalid("attachments", "only project conversations carry project files")
    wanted = list(dict.fromkeys(ids))
    found = {
        version.id: (version, file)
        for version, file in db.execute(
            select(FileVersion, ProjectFile)
            .join(ProjectFile, ProjectFile.id == FileVersion.file_id)
            .where(
                FileVersion.id.in_(wanted),
                ProjectFile.project_id == conversation.project_id,
                ProjectFile.deleted_at.is_(None),
            )
        )
    }
    missing = [i for i in wanted if i not in found]
    if missing:
        raise invalid("attachments", "not a file version of this project: " + ", ".join(map(str, missing)))
    return [found[i] for i in wanted]


def post_message(db: DB, actor: User, conversation_id: int, body: MessageBody, online: OnlineCheck) -> Posted:
    # Who has a socket open is asked before the lock: a slow Redis must not hold every other
    # post to this conversation. Someone who joins in between counts as away (told, not live).
    present = online([r.user_id for r in member_rows(db, conversation_id) if r.user_id != actor.id])
    access = _locked_access(db, conversation_id, actor)
    conversation = access.conversation
    # A retry finds the first message, even one sent before its sender left.
    existing = db.scalar(
        select(Message).where(
            Message.conversation_id == conversation.id,
            Message.sender_id == actor.id,
            Message.client_id == body.client_id,
        )
    )
    if existing is not None:
        members = [r.user_id for r in member_rows(db, conversation.id)]
        return Posted(messages_json(db, [existing])[0], False, members, [])
    if not access.active:
        raise MessagesRefused(
            403, "not-a-member", "You are no longer in this conversation: you can read what was said, not post"
        )
    text = body.body.strip()
    if not text and not body.attachments:
        raise invalid("body", "write something, or attach a file")
    changes = sync_conversation(db, conversation)
    rows = member_rows(db, conversation.id)
    _check_direct(db, conversation, rows, actor)
    _check_reply(db, conversation, body.reply_to)
    versions = _attachments(db, conversation, body.attachments)
    names = _names(db, rows)
    now = utcnow()
    message = Message(
        conversation_id=conversation.id,
        sender_id=actor.id,
        client_id=body.client_id,
        body=text,
        html=render(text),
        reply_to_id=body.reply_to,
        mentions=mentioned(text, names, actor.id),
        created_at=now,
    )
    db.add(message)
    db.flush()
    for position, (version, file) in enumerate(versions):
        db.add(
            MessageAttachment(
                message_id=message.id,
                position=position,
                version_id=version.id,
                file_id=file.id,
                name=file.name,
                kind=file.kind,
                number=version.number,
            )
        )
    conversation.last_message_id = message.id
    conversation.last_activity_at = now
    mine = next((r for r in rows if r.user_id == actor.id), None)
    if mine is not None:
        mine.last_read_id = message.id  # your own message is read
    db.flush()
    shaped = messages_json(db, [message])[0]
    others = [r.user_id for r in rows if r.user_id != actor.id]
    # Whoever blocked the sender sees a shared group's messages but is never told of them.
    silenced = set(
        db.scalars(
            select(UserBlock.blocker_id).where(UserBlock.blocked_id == actor.id, UserBlock.blocker_id.in_(others))
        )
    )
    title = _title(db, conversation, names, actor.id)
    stage_posted(db, conversation, title, actor, shaped, rows, present, silenced)
    return Posted(shaped, True, [r.user_id for r in rows], [c for c in changes if c.user_id != actor.id])


def _own_message(db: DB, actor: User, message_id: int) -> tuple[Message, Access]:
    found = visible_message(db, message_id, actor.id)
    if found is None:
        raise not_found("message")
    message, access = found
    if message.sender_id != actor.id:
        raise MessagesRefused(403, "not-the-sender", "Only the sender can change a message")
    if not access.active:
        raise MessagesRefused(403, "not-a-member", "You are no longer in this conversation")
    # Lock the conversation like a post does: an edit and a post never interleave.
    _locked_access(db, message.conversation_id, actor)
    return message, access


def _refuse_if_blocked(db: DB, actor: User, access: Access) -> None:
    """A block silences edits too (a changed message reaches the blocker live); deleting one's
    own message stays possible."""
    if access.conversation.kind == "direct":
        _check_direct(db, access.conversation, member_rows(db, access.conversation.id), actor)


def _changed(db: DB, actor: User, message: Message, access: Access) -> Changed:
    db.flush()
    shaped = messages_json(db, [message])[0]
    rows = member_rows(db, message.conversation_id)
    names = _names(db, rows)
    members = [r.user_id for r in rows]
    stage_changed(db, access.conversation, _title(db, access.conversation, names, actor.id), actor, shaped, members)
    return Changed(shaped, members)


def edit_message(db: DB, actor: User, message_id: int, new_body: str) -> Changed:
    message, access = _own_message(db, actor, message_id)
    _refuse_if_blocked(db, actor, access)
    if message.deleted_at is not None:
        raise MessagesRefused(409, "message-deleted", "A deleted message cannot be edited")
    if utcnow() - message.created_at > timedelta(seconds=EDIT_WINDOW_S):
        raise MessagesRefused(
            409, "edit-window-passed", f"Messages can be edited for {EDIT_WINDOW_S // 60} minutes after sending"
        )
    text = new_body.strip()
    has_files = db.scalar(select(MessageAttachment.position).where(MessageAttachment.message_id == message.id))
    if not text and has_files is None:
        raise invalid("body", "write something (or delete the message)")
    if text == message.body:
        return Changed(messages_json(db, [message])[0], [r.user_id for r in member_rows(db, message.conversation_id)])
    names = _names(db, member_rows(db, message.conversation_id))
    message.body = text
    message.html = render(text)
    message.mentions = mentioned(text, names, actor.id)
    message.edited_at = utcnow()
    return _changed(db, actor, message, access)


def delete_message(db: DB, actor: User, message_id: int) -> Changed | None:
    """A tombstone: the row stays (replies keep their place), its text and files go.
    None when it was deleted already (a repeat changes nothing)."""
    message, access = _own_message(db, actor, message_id)
    if message.deleted_at is not None:
        return None
    message.body = ""
    message.html = ""
    message.mentions = []
    message.deleted_at = utcnow()
    return _changed(db, actor, message, access)


def mark_read(db: DB, actor: User, conversation_id: int, up_to: int) -> tuple[int, list[int]] | None:
    """Move the caller's read marker forward to ``up_to`` (never back, never past what they
    may read). Returns (the marker, the members to tell), or None if nothing moved."""
    access = conversation_access(db, conversation_id, actor.id)
    if access is None:
        raise not_found()
    member = access.member
    if member is None:
        sync_conversation(db, access.conversation)
        member = db.get(ConversationMember, (conversation_id, actor.id))
        if member is None:
            raise not_found()
    newest = access.conversation.last_message_id or 0
    if access.visible_until is not None:
        newest = min(newest, access.visible_until)
    target = min(up_to, newest)
    # Compare-and-set in SQL: two tabs racing never move the marker back.
    moved = db.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == actor.id,
            ConversationMember.last_read_id < target,
        )
        .values(last_read_id=target)
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return None
    return target, [r.user_id for r in member_rows(db, conversation_id)]
