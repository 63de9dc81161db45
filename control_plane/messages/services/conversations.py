"""Starting and finding conversations: direct (one per pair), named groups, and the one
conversation of each project and each session (made the first time someone opens it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import User
from control_plane.catalog.models import CatalogSession
from control_plane.kits.db.types import DB, utcnow
from control_plane.messages.models import Conversation, ConversationMember
from control_plane.messages.queries import Access, access_to, is_entitled, member_rows
from control_plane.messages.schemas import ConversationBody
from control_plane.messages.services.membership import MemberChange, add_member, remove_member, sync_conversation
from control_plane.messages.services.refusals import MessagesRefused, invalid, not_found
from control_plane.messages.services.safety import blocked_between
from control_plane.musicians.models import Project

__all__ = [
    "MAX_GROUP_SIZE",
    "Opened",
    "add_to_group",
    "current_members",
    "direct_key",
    "leave_group",
    "open_conversation",
    "project_conversation",
    "rename_group",
    "session_conversation",
    "set_muted",
    "start_conversation",
]


@dataclass
class Opened:
    """A conversation found or made: ``created`` is False for one that existed (a 200)."""

    access: Access
    created: bool
    changes: list[MemberChange] = field(default_factory=list)


# A group is people who chose each other; a crowd belongs in a session. The cap also keeps
# one message's event (every member listed) a small Kafka message.
MAX_GROUP_SIZE = 256


def _refuse_blocked(db: DB, actor: User, people: list[int]) -> None:
    """A group is no way around a block: nobody starts one with, or adds, someone who blocked
    them or whom they blocked."""
    if any(blocked_between(db, actor.id, uid) for uid in people):
        raise MessagesRefused(403, "blocked", "You cannot start a conversation with one of these people")


def direct_key(a: int, b: int) -> str:
    low, high = sorted((a, b))
    return f"{low}:{high}"


def _people(db: DB, ids: list[int], actor: User) -> list[int]:
    wanted = sorted({i for i in ids if i != actor.id})
    found = set(db.scalars(select(User.id).where(User.id.in_(wanted))))
    missing = [i for i in wanted if i not in found]
    if missing:
        raise invalid("member_ids", "no such user: " + ", ".join(str(i) for i in missing))
    return wanted


def _insert_unique(db: DB, conversation: Conversation) -> bool:
    """Insert under a savepoint: False if another request made the same one first."""
    try:
        with db.begin_nested():
            db.add(conversation)
            db.flush()
    except IntegrityError:
        return False
    return True


def start_conversation(db: DB, actor: User, body: ConversationBody) -> Opened:
    now = utcnow()
    others = _people(db, body.member_ids, actor)
    if body.kind == "direct":
        if body.title is not None:
            raise invalid("title", "only groups have a title")
        if len(others) != 1:
            raise invalid("member_ids", "a direct conversation is with exactly one other person")
        other = others[0]
        if blocked_between(db, actor.id, other):
            raise MessagesRefused(403, "blocked", "You cannot start a conversation with this person")
        key = direct_key(actor.id, other)
        existing = db.scalar(select(Conversation).where(Conversation.direct_key == key))
        if existing is None:
            fresh = Conversation(kind="direct", direct_key=key, created_by_id=actor.id, last_activity_at=now)
            if _insert_unique(db, fresh):
                for uid in (actor.id, other):
                    add_member(db, fresh, uid, now)
                db.flush()
                return Opened(_access(db, fresh, actor), True, [MemberChange(fresh.id, other, "added")])
            existing = db.scalar(select(Conversation).where(Conversation.direct_key == key))
            if existing is None:  # pragma: no cover - the unique index said it exists
                raise MessagesRefused(409, "conversation-conflict", "Try again")
        return Opened(_access(db, existing, actor), False)
    if body.title is None:
        raise invalid("title", "a group needs a name")
    if not others:
        raise invalid("member_ids", "name at least one other person")
    _refuse_blocked(db, actor, others)
    group = Conversation(kind="group", title=body.title, created_by_id=actor.id, last_activity_at=now)
    db.add(group)
    db.flush()
    changes = [add_member(db, group, uid, now) for uid in [actor.id, *others]]
    db.flush()
    return Opened(_access(db, group, actor), True, [c for c in changes if c is not None and c.user_id != actor.id])


def _access(db: DB, conversation: Conversation, actor: User) -> Access:
    found = access_to(db, conversation, actor.id)
    if found is None:
        raise not_found()
    return found


def _lazily(db: DB, actor: User, existing: Conversation | None, fresh: Conversation, entitled: bool) -> Opened:
    """The conversation of a project or session: made on first open, rows brought up to date."""
    if existing is None:
        if not entitled:
            raise not_found()
        if not _insert_unique(db, fresh):
            lookup = (
                select(Conversation).where(Conversation.project_id == fresh.project_id)
                if fresh.project_id is not None
                else select(Conversation).where(Conversation.session_id == fresh.session_id)
            )
            existing = db.scalar(lookup)
            if existing is None:  # pragma: no cover
                raise MessagesRefused(409, "conversation-conflict", "Try again")
        else:
            changes = sync_conversation(db, fresh)
            return Opened(_access(db, fresh, actor), True, [c for c in changes if c.user_id != actor.id])
    changes = sync_conversation(db, existing)
    return Opened(_access(db, existing, actor), False, [c for c in changes if c.user_id != actor.id])


def project_conversation(db: DB, actor: User, project_id: int) -> Opened:
    """The owner, musicians with a pending or accepted request, and former members (who read
    what they could) open it; anyone else gets a 404."""
    project = db.get(Project, project_id)
    if project is None:
        raise not_found()  # the same answer a stranger gets for a project that exists
    existing = db.scalar(select(Conversation).where(Conversation.project_id == project.id))
    fresh = Conversation(kind="project", project_id=project.id, created_by_id=actor.id, last_activity_at=utcnow())
    probe = existing or fresh
    return _lazily(db, actor, existing, fresh, _entitled_now(db, probe, actor))


def session_conversation(db: DB, actor: User, session_id: int) -> Opened:
    listing = db.get(CatalogSession, session_id)
    if listing is None:
        raise not_found()  # the same answer a stranger gets for a session that exists
    existing = db.scalar(select(Conversation).where(Conversation.session_id == listing.id))
    fresh = Conversation(kind="session", session_id=listing.id, created_by_id=actor.id, last_activity_at=utcnow())
    probe = existing or fresh
    return _lazily(db, actor, existing, fresh, _entitled_now(db, probe, actor))


def _entitled_now(db: DB, conversation: Conversation, actor: User) -> bool:
    if conversation.id is not None and access_to(db, conversation, actor.id) is not None:
        return True  # a member, or a former one who still reads what they could
    return bool(is_entitled(db, conversation, actor.id))


def open_conversation(db: DB, actor: User, conversation_id: int) -> Access:
    """A conversation by id, its rows brought up to date first (project and session)."""
    conversation = db.get(Conversation, conversation_id)
    if conversation is None:
        raise not_found()
    sync_conversation(db, conversation)
    return _access(db, conversation, actor)


def _group_access(db: DB, actor: User, conversation_id: int) -> Access:
    access = open_conversation(db, actor, conversation_id)
    if access.conversation.kind != "group":
        raise MessagesRefused(409, "not-a-group", "Only groups can be renamed or left")
    if not access.active:
        raise MessagesRefused(403, "not-a-member", "You are no longer in this conversation")
    return access


def rename_group(db: DB, actor: User, conversation_id: int, title: str) -> Access:
    access = _group_access(db, actor, conversation_id)
    access.conversation.title = title
    return access


def leave_group(db: DB, actor: User, conversation_id: int) -> tuple[Access, MemberChange | None]:
    access = _group_access(db, actor, conversation_id)
    assert access.member is not None  # an active group member always has a row
    change = remove_member(db, access.conversation, access.member, utcnow())
    return access, change


def add_to_group(db: DB, actor: User, conversation_id: int, ids: list[int]) -> list[MemberChange]:
    access = _group_access(db, actor, conversation_id)
    now = utcnow()
    people = _people(db, ids, actor)
    _refuse_blocked(db, actor, people)
    current = set(current_members(db, conversation_id))
    if len(current | set(people)) > MAX_GROUP_SIZE:
        raise invalid("member_ids", f"a group holds at most {MAX_GROUP_SIZE} people")
    changes = [add_member(db, access.conversation, uid, now) for uid in people]
    db.flush()
    return [c for c in changes if c is not None]


def set_muted(db: DB, actor: User, conversation_id: int, muted: bool) -> Access:
    access = open_conversation(db, actor, conversation_id)
    member = access.member or db.get(ConversationMember, (conversation_id, actor.id))
    if member is None:
        raise not_found()
    member.muted = muted
    return access


def current_members(db: DB, conversation_id: int) -> list[int]:
    return [row.user_id for row in member_rows(db, conversation_id)]
