"""Project and session conversations follow requests and bookings.

The requests and bookings are the truth (``queries.entitled_ids``); the member rows catch up
here, in the caller's transaction, before a message is posted (so a leaver's
``visible_until`` is set before anything new exists), when a conversation is opened, and
when someone reads their list. Catching up lazily keeps the catalog and the musicians free
of any knowledge of conversations (and the seat store's raw SQL fast path untouched), and
the check in ``queries.access_to`` reads the requests themselves, so nobody reads or posts a
moment past their entitlement in between.

A member who leaves keeps their row: ``left_at`` and ``visible_until`` (the newest message
they could read). One who comes back (a new request) sees everything again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from control_plane.catalog.models import Booking, CatalogSession
from control_plane.kits.db.types import DB, utcnow
from control_plane.messages.models import Conversation, ConversationMember
from control_plane.messages.queries import entitled_ids, is_entitled
from control_plane.musicians.models import BookingRequest, Project

__all__ = ["Change", "MemberChange", "add_member", "remove_member", "sync_conversation", "sync_user"]

# "renamed" and "members" (someone else joined or left) are not this person's membership
# changing, but travel the same way (ConversationMessage.change).
Change = Literal["added", "removed", "renamed", "members"]


@dataclass(frozen=True)
class MemberChange:
    conversation_id: int
    user_id: int
    change: Change


def add_member(db: DB, conversation: Conversation, user_id: int, now: datetime) -> MemberChange | None:
    """Make ``user_id`` an active member (a new row, or a former member back)."""
    row = db.get(ConversationMember, (conversation.id, user_id))
    if row is None:
        # History before they joined is theirs to read, but not "unread".
        fresh = ConversationMember(
            conversation_id=conversation.id,
            user_id=user_id,
            joined_at=now,
            last_read_id=conversation.last_message_id or 0,
        )
        # Two requests may bring the same person in at once (members opening the conversation,
        # reading their lists or posting right after a new request or booking): on PostgreSQL
        # the second insert met the first's key and the whole request failed with a 500. Under
        # a savepoint the loser finds the row there, which is all it wanted (the winner tells).
        db.flush()  # what was staged before stays outside the savepoint
        try:
            with db.begin_nested():
                db.add(fresh)
                db.flush()
        except IntegrityError:
            return None
        return MemberChange(conversation.id, user_id, "added")
    if row.left_at is not None:
        # Back: joined now (those who left meanwhile do not see them among the members).
        row.left_at, row.visible_until, row.joined_at = None, None, now
        return MemberChange(conversation.id, user_id, "added")
    return None


def remove_member(db: DB, conversation: Conversation, row: ConversationMember, now: datetime) -> MemberChange | None:
    if row.left_at is not None:
        return None
    # The cut is taken under the conversation's lock, the one every post holds: a post either
    # committed before it (readable) or waits and comes after (not).
    newest = db.scalar(select(Conversation.last_message_id).where(Conversation.id == conversation.id).with_for_update())
    row.left_at, row.visible_until = now, newest or 0
    return MemberChange(conversation.id, row.user_id, "removed")


def sync_conversation(db: DB, conversation: Conversation, now: datetime | None = None) -> list[MemberChange]:
    """Bring one project or session conversation's rows in line with who is entitled now."""
    now = now or utcnow()
    entitled = entitled_ids(db, conversation, now)
    if entitled is None:
        return []
    rows = {
        row.user_id: row
        for row in db.scalars(select(ConversationMember).where(ConversationMember.conversation_id == conversation.id))
    }
    changes = [add_member(db, conversation, uid, now) for uid in sorted(entitled)]
    changes += [remove_member(db, conversation, row, now) for uid, row in rows.items() if uid not in entitled]
    found = [c for c in changes if c is not None]
    if found:
        db.flush()
    return found


def sync_user(db: DB, user_id: int, now: datetime | None = None) -> list[MemberChange]:
    """Bring one person's rows in line: join the existing project and session conversations
    they are entitled to, leave those they no longer are (before their list is read)."""
    now = now or utcnow()
    projects = (
        select(Project.id)
        .where(Project.owner_id == user_id)
        .union(
            select(BookingRequest.project_id).where(
                BookingRequest.musician_id == user_id,
                or_(
                    BookingRequest.status == "accepted",
                    and_(BookingRequest.status == "pending", BookingRequest.expires_at > now),
                ),
            )
        )
    )
    sessions = (
        select(CatalogSession.id)
        .where(CatalogSession.owner_id == user_id)
        .union(select(Booking.session_id).where(Booking.user_id == user_id, Booking.status == "confirmed"))
    )
    joinable = db.scalars(
        select(Conversation)
        .outerjoin(
            ConversationMember,
            and_(ConversationMember.conversation_id == Conversation.id, ConversationMember.user_id == user_id),
        )
        .where(
            or_(
                and_(Conversation.kind == "project", Conversation.project_id.in_(projects)),
                and_(Conversation.kind == "session", Conversation.session_id.in_(sessions)),
            ),
            or_(ConversationMember.user_id.is_(None), ConversationMember.left_at.is_not(None)),
        )
        .order_by(Conversation.id)  # rows inserted in key order by everyone: no lock cycles
    ).all()
    changes = [add_member(db, conversation, user_id, now) for conversation in joinable]
    held = db.execute(
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(
            ConversationMember.user_id == user_id,
            ConversationMember.left_at.is_(None),
            Conversation.kind.in_(("project", "session")),
        )
    )
    for conversation, row in held:
        if not is_entitled(db, conversation, user_id, now):
            changes.append(remove_member(db, conversation, row, now))
    found = [c for c in changes if c is not None]
    if found:
        db.flush()
    return found
