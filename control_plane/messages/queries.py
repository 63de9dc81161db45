"""Who may read and post where, and the shapes every client gets (docs/MESSAGES.md).

Project and session conversations follow requests and bookings: the people *entitled* now
are the project's owner and every musician with a pending (unexpired) or accepted request,
or the session's host and everyone holding a confirmed seat. Rows in
``conversation_members`` catch up with that (``services.membership``) whenever a message is
posted, the conversation is opened or the list is read; until then the check here is made
against the requests and bookings themselves, so nobody reads or posts a moment too long.

Every lookup returns None both for "no such conversation" and "not yours": one 404 for both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, func, literal_column, or_, select, text

from control_plane.accounts.models import User
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.kits.db.types import DB, utcnow
from control_plane.messages.models import Conversation, ConversationMember, Message, MessageAttachment
from control_plane.musicians.models import BookingRequest, Project

__all__ = [
    "Access",
    "access_to",
    "conversation_access",
    "conversation_json",
    "conversation_title",
    "entitled_ids",
    "history",
    "is_entitled",
    "member_rows",
    "messages_json",
    "search",
    "search_terms",
    "unread_counts",
    "unread_total",
    "visible_message",
]

PREVIEW_CHARS = 140


@dataclass(frozen=True)
class Access:
    """What one user may do in one conversation. ``visible_until``: the newest message id a
    former member may read (None: everything). ``active``: they may post and see new ones."""

    conversation: Conversation
    member: ConversationMember | None
    active: bool
    visible_until: int | None


def _active_request(project_id: Any, now: datetime) -> Any:
    return and_(
        BookingRequest.project_id == project_id,
        or_(
            BookingRequest.status == "accepted",
            and_(BookingRequest.status == "pending", BookingRequest.expires_at > now),
        ),
    )


def entitled_ids(db: DB, conversation: Conversation, now: datetime | None = None) -> set[int] | None:
    """Who belongs in a project or session conversation now; None for direct and group
    conversations, whose rows alone decide."""
    now = now or utcnow()
    if conversation.kind == "project" and conversation.project_id is not None:
        project = db.get(Project, conversation.project_id)
        if project is None:
            return set()
        musicians = db.scalars(
            select(BookingRequest.musician_id).where(_active_request(project.id, now)).distinct()
        ).all()
        return {project.owner_id, *musicians}
    if conversation.kind == "session" and conversation.session_id is not None:
        listing = db.get(CatalogSession, conversation.session_id)
        if listing is None:
            return set()
        attendees = db.scalars(
            select(Booking.user_id).where(Booking.session_id == listing.id, Booking.status == "confirmed").distinct()
        ).all()
        return {listing.owner_id, *attendees}
    return None


def is_entitled(db: DB, conversation: Conversation, user_id: int, now: datetime | None = None) -> bool | None:
    """The one-person form of :func:`entitled_ids` (one EXISTS, not the whole list)."""
    now = now or utcnow()
    if conversation.kind == "project" and conversation.project_id is not None:
        project = db.get(Project, conversation.project_id)
        if project is None:
            return False
        if project.owner_id == user_id:
            return True
        found = db.scalar(
            select(BookingRequest.id)
            .where(_active_request(project.id, now), BookingRequest.musician_id == user_id)
            .limit(1)
        )
        return found is not None
    if conversation.kind == "session" and conversation.session_id is not None:
        listing = db.get(CatalogSession, conversation.session_id)
        if listing is None:
            return False
        if listing.owner_id == user_id:
            return True
        found = db.scalar(
            select(Booking.id)
            .where(Booking.session_id == listing.id, Booking.user_id == user_id, Booking.status == "confirmed")
            .limit(1)
        )
        return found is not None
    return None


def conversation_access(
    db: DB, conversation_id: int, user_id: int, *, now: datetime | None = None, for_update: bool = False
) -> Access | None:
    stmt = select(Conversation).where(Conversation.id == conversation_id)
    conversation: Conversation | None = db.scalar(stmt.with_for_update() if for_update else stmt)
    if conversation is None:
        return None
    return access_to(db, conversation, user_id, now=now)


def access_to(db: DB, conversation: Conversation, user_id: int, *, now: datetime | None = None) -> Access | None:
    member = db.get(ConversationMember, (conversation.id, user_id))
    entitled = is_entitled(db, conversation, user_id, now)
    if entitled is None:  # direct or group: the row decides
        if member is None:
            return None
        return Access(conversation, member, member.left_at is None, member.visible_until)
    if entitled:
        # Entitled but not yet a row (a new request): a member all the same; the row follows.
        return Access(conversation, member, True, None)
    if member is None:
        return None
    # No longer entitled: they keep what they could read. A row not yet marked as left reads
    # up to the newest message, because every post marks leavers first.
    until = member.visible_until if member.left_at is not None else conversation.last_message_id
    return Access(conversation, member, False, until)


def visible_message(db: DB, message_id: int, user_id: int) -> tuple[Message, Access] | None:
    message = db.get(Message, message_id)
    if message is None:
        return None
    access = conversation_access(db, message.conversation_id, user_id)
    if access is None or (access.visible_until is not None and message.id > access.visible_until):
        return None
    return message, access


def member_rows(db: DB, conversation_id: int, *, active_only: bool = True) -> list[ConversationMember]:
    stmt = select(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
    if active_only:
        stmt = stmt.where(ConversationMember.left_at.is_(None))
    return list(db.scalars(stmt.order_by(ConversationMember.joined_at, ConversationMember.user_id)))


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def messages_json(db: DB, messages: list[Message]) -> list[dict[str, Any]]:
    """The contract's message shape for a page of messages: names, replies and attachments
    loaded in three queries, whatever the page's length."""
    if not messages:
        return []
    ids = [m.id for m in messages]
    names = dict(db.execute(select(User.id, User.name).where(User.id.in_({m.sender_id for m in messages}))).all())
    replies: dict[int, tuple[int, str, str]] = {}
    reply_ids = {m.reply_to_id for m in messages if m.reply_to_id is not None}
    if reply_ids:
        for rid, sender, name, body, removed_at in db.execute(
            select(Message.id, Message.sender_id, User.name, Message.body, Message.deleted_at)
            .join(User, User.id == Message.sender_id)
            .where(Message.id.in_(reply_ids))
        ):
            replies[rid] = (sender, name, body if removed_at is None else "")
    attachments: dict[int, list[dict[str, Any]]] = {}
    for attached, version, file in db.execute(
        select(MessageAttachment, FileVersion, ProjectFile)
        .outerjoin(FileVersion, FileVersion.id == MessageAttachment.version_id)
        .outerjoin(ProjectFile, ProjectFile.id == FileVersion.file_id)
        .where(MessageAttachment.message_id.in_(ids))
        .order_by(MessageAttachment.message_id, MessageAttachment.position)
    ):
        # A file deleted (or purged since) keeps its place, named as it was, without its bytes.
        gone = version is None or file is None or file.deleted_at is not None
        attachments.setdefault(attached.message_id, []).append(
            {
                "version_id": attached.version_id,
                "file_id": attached.file_id,
                "name": attached.name if gone else file.name,
                "kind": attached.kind,
                "number": attached.number,
                "size": None if version is None else version.size,
                "content_type": None if version is None else version.content_type,
                "deleted": gone,
                "url": None if gone else f"/files/{attached.file_id}?version={attached.number}",
                "content_url": None if gone else f"/api/files/{attached.file_id}/versions/{attached.number}/content",
            }
        )
    out = []
    for m in messages:
        deleted = m.deleted_at is not None
        reply = replies.get(m.reply_to_id) if m.reply_to_id is not None else None
        out.append(
            {
                "id": m.id,
                "conversation_id": m.conversation_id,
                "sender": {"id": m.sender_id, "name": names.get(m.sender_id, "")},
                "body": "" if deleted else m.body,
                "html": "" if deleted else m.html,
                "reply_to": m.reply_to_id,
                "reply_preview": None
                if reply is None
                else {"sender": {"id": reply[0], "name": reply[1]}, "excerpt": _excerpt(reply[2])},
                "attachments": [] if deleted else attachments.get(m.id, []),
                "mentions": [] if deleted else list(m.mentions or []),
                "client_id": m.client_id,
                "edited_at": _when(m.edited_at),
                "deleted": deleted,
                "created_at": _when(m.created_at),
            }
        )
    return out


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def history(access: Access, *, before: int | None = None, after: int | None = None, limit: int = 50) -> Select[Any]:
    """A page of one conversation in id order: the newest ``limit`` (before ``before``), or
    the oldest ``limit`` after ``after`` (catching up after a reconnect)."""
    stmt = select(Message).where(Message.conversation_id == access.conversation.id)
    if access.visible_until is not None:
        stmt = stmt.where(Message.id <= access.visible_until)
    if after is not None:
        stmt = stmt.where(Message.id > after)
        if before is not None:
            stmt = stmt.where(Message.id < before)
        return stmt.order_by(Message.id).limit(limit)
    if before is not None:
        stmt = stmt.where(Message.id < before)
    return stmt.order_by(Message.id.desc()).limit(limit)


def _unread_filter(user_id: int) -> Any:
    return and_(
        Message.conversation_id == ConversationMember.conversation_id,
        Message.id > ConversationMember.last_read_id,
        Message.sender_id != user_id,
        Message.deleted_at.is_(None),
        or_(ConversationMember.visible_until.is_(None), Message.id <= ConversationMember.visible_until),
    )


def unread_counts(db: DB, user_id: int, conversation_ids: list[int]) -> dict[int, int]:
    if not conversation_ids:
        return {}
    rows = db.execute(
        select(ConversationMember.conversation_id, func.count(Message.id))
        .join(Message, _unread_filter(user_id))
        .where(ConversationMember.user_id == user_id, ConversationMember.conversation_id.in_(conversation_ids))
        .group_by(ConversationMember.conversation_id)
    )
    return dict(rows.all())


def unread_total(db: DB, user_id: int) -> int:
    """Unread messages in every conversation the user has not muted (the navigation badge)."""
    return int(
        db.scalar(
            select(func.count(Message.id))
            .select_from(ConversationMember)
            .join(Message, _unread_filter(user_id))
            .where(ConversationMember.user_id == user_id, ConversationMember.muted.is_(False))
        )
        or 0
    )


def conversation_title(db: DB, conversation: Conversation, viewer_id: int, members: list[tuple[int, str]]) -> str:
    """What a conversation is called for ``viewer_id``: the group's name, the project's or
    session's title, or the other person's name."""
    if conversation.kind == "group":
        return conversation.title or "Group"
    if conversation.kind == "project" and conversation.project_id is not None:
        project = db.get(Project, conversation.project_id)
        return f"Project: {project.title}" if project is not None else "Project"
    if conversation.kind == "session" and conversation.session_id is not None:
        listing = db.get(CatalogSession, conversation.session_id)
        return f"Session: {listing.title}" if listing is not None else "Session"
    others = [name for uid, name in members if uid != viewer_id]
    return others[0] if others else "Just you"


def conversation_json(
    db: DB, access: Access, viewer_id: int, *, unread: int | None = None, with_last: bool = True
) -> dict[str, Any]:
    conversation, member = access.conversation, access.member
    until = access.visible_until
    who = (
        select(User.id, User.name, ConversationMember.last_read_id)
        .join(ConversationMember, ConversationMember.user_id == User.id)
        .where(ConversationMember.conversation_id == conversation.id)
    )
    if until is not None and member is not None and member.left_at is not None:
        # Someone who left sees nothing new: the members as they were when they left (not
        # who joined since), read markers and activity no later than their last message.
        who = who.where(
            ConversationMember.joined_at <= member.left_at,
            or_(ConversationMember.left_at.is_(None), ConversationMember.left_at >= member.left_at),
        )
    else:
        who = who.where(ConversationMember.left_at.is_(None))
    members = db.execute(who.order_by(ConversationMember.joined_at, User.id)).all()
    pairs = [(uid, name) for uid, name, _ in members]
    newest = None
    if with_last or until is not None:
        stmt = select(Message).where(Message.conversation_id == conversation.id)
        if until is not None:
            stmt = stmt.where(Message.id <= until)
        newest = db.scalar(stmt.order_by(Message.id.desc()).limit(1))
    last = messages_json(db, [newest])[0] if with_last and newest is not None else None
    activity = conversation.last_activity_at
    if until is not None:
        activity = newest.created_at if newest is not None else conversation.created_at
    if unread is None:
        unread = unread_counts(db, viewer_id, [conversation.id]).get(conversation.id, 0)
    return {
        "id": conversation.id,
        "kind": conversation.kind,
        "title": conversation_title(db, conversation, viewer_id, pairs),
        "members": [{"id": uid, "name": name} for uid, name in pairs],
        # Everyone's read marker, for read ticks ("seen by").
        "read_markers": {str(uid): read if until is None else min(read, until) for uid, _, read in members},
        "project_id": conversation.project_id,
        "session_id": conversation.session_id,
        "last_message": last,
        "last_activity_at": _when(activity),
        "unread": unread,
        "muted": bool(member.muted) if member is not None else False,
        "last_read_id": member.last_read_id if member is not None else 0,
        "active": access.active,
        "url": f"/messages/{conversation.id}",
    }


def search_terms(q: str) -> tuple[str, ...]:
    """The words of a search (letters and digits), lower-cased, at most eight."""
    # lower(), not casefold(): the indexes lower-case (FTS5's unicode61, PostgreSQL's lower in
    # to_tsvector), and casefold() turned "Straße" into "strasse", which neither index holds,
    # so a word with ß was never found.
    return tuple(dict.fromkeys(re.findall(r"[^\W_]+", q.lower())))[:8]


def search(db: DB, user_id: int, terms: tuple[str, ...], *, limit: int, before: int | None) -> list[Message]:
    """Messages the user may read whose text has every term (as a prefix), newest first.
    SQLite: the FTS5 table ``message_fts``; PostgreSQL: the GIN index on
    ``to_tsvector('simple', body)`` (migration 0008)."""
    if not terms:
        return []
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        query = " & ".join(f"{term}:*" for term in terms)
        matched: Any = func.to_tsvector(literal_column("'simple'"), Message.body).op("@@")(
            func.to_tsquery(literal_column("'simple'"), bindparam("tsquery", query))
        )
    else:
        fts = text("SELECT rowid FROM message_fts WHERE message_fts MATCH :fts_match").bindparams(
            fts_match=" ".join(f'"{term}"*' for term in terms)
        )
        matched = Message.id.in_(fts.columns(literal_column("rowid")))
    stmt = (
        select(Message)
        .join(
            ConversationMember,
            and_(ConversationMember.conversation_id == Message.conversation_id, ConversationMember.user_id == user_id),
        )
        .where(
            matched,
            Message.deleted_at.is_(None),
            or_(ConversationMember.visible_until.is_(None), Message.id <= ConversationMember.visible_until),
        )
    )
    if before is not None:
        stmt = stmt.where(Message.id < before)
    return list(db.scalars(stmt.order_by(Message.id.desc()).limit(limit)))
