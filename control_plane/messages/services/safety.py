"""Blocking people and reporting messages.

A block works both ways in direct conversations: neither can start one or post in it (the
blocked person is told they cannot, not why). Groups, projects and sessions are shared with
others, so a block does not silence anyone there. A report keeps the text as it was, for the
admins, who read private messages only through reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import User
from control_plane.kits.db.types import DB, utcnow
from control_plane.messages.models import Message, MessageReport, UserBlock
from control_plane.messages.services.refusals import MessagesRefused, invalid, not_found

__all__ = ["Reported", "block", "blocked_between", "blocked_ids", "report", "unblock"]


def blocked_between(db: DB, a: int, b: int) -> bool:
    found = db.scalar(
        select(UserBlock.blocker_id)
        .where(
            or_(
                (UserBlock.blocker_id == a) & (UserBlock.blocked_id == b),
                (UserBlock.blocker_id == b) & (UserBlock.blocked_id == a),
            )
        )
        .limit(1)
    )
    return found is not None


def blocked_ids(db: DB, blocker_id: int) -> list[int]:
    return list(db.scalars(select(UserBlock.blocked_id).where(UserBlock.blocker_id == blocker_id)))


def block(db: DB, actor: User, user_id: int) -> bool:
    """True if this made a new block (a repeat changes nothing)."""
    if user_id == actor.id:
        raise invalid("user_id", "you cannot block yourself")
    if db.get(User, user_id) is None:
        raise not_found("user")
    if db.get(UserBlock, (actor.id, user_id)) is not None:
        return False
    # Two identical requests at once: the second meets the first's key, and is a repeat.
    try:
        with db.begin_nested():
            db.add(UserBlock(blocker_id=actor.id, blocked_id=user_id, created_at=utcnow()))
            db.flush()
    except IntegrityError:
        return False
    return True


def unblock(db: DB, actor: User, user_id: int) -> bool:
    found = db.get(UserBlock, (actor.id, user_id))
    if found is None:
        return False
    db.delete(found)
    return True


@dataclass(frozen=True)
class Reported:
    report: MessageReport
    created: bool


def report(db: DB, actor: User, message: Message, reason: str) -> Reported:
    """One report per person per message; a repeat returns the first."""
    if message.sender_id == actor.id:
        raise invalid("message_id", "you cannot report your own message")
    existing = db.scalar(
        select(MessageReport).where(MessageReport.message_id == message.id, MessageReport.reporter_id == actor.id)
    )
    if existing is not None:
        return Reported(existing, False)
    row = MessageReport(
        message_id=message.id,
        reporter_id=actor.id,
        reason=reason,
        body_snapshot=message.body,
        status="open",
        created_at=utcnow(),
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        # The same report sent twice at once: the first one stands.
        first = db.scalar(
            select(MessageReport).where(MessageReport.message_id == message.id, MessageReport.reporter_id == actor.id)
        )
        if first is None:  # pragma: no cover - the unique key said it exists
            raise MessagesRefused(409, "report-conflict", "Try again") from None
        return Reported(first, False)
    return Reported(row, True)
