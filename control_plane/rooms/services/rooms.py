"""Room use cases: creating a room, playback commands, the queue, votes, hand-over and
permissions.

Every change runs in one transaction that first locks the room row (``FOR UPDATE`` on
PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers), applies the rule, bumps the
room's ``version`` and builds the messages to publish from what it wrote. The caller
commits and only then publishes, so no socket ever sees a change that was rolled back, and
two controllers' commands apply strictly one after the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from contracts.sockets import RoomMessage
from control_plane.kits.db.types import utcnow
from control_plane.rooms.models import QueueEntry, Room, RoomMember, SkipVote
from control_plane.rooms.queries import visible_track
from control_plane.rooms.schemas import CreateRoom, new_code, normalise_code
from control_plane.rooms.services import playback as pb
from control_plane.rooms.services.messages import (
    members_of,
    participants_message,
    playback_of,
    queue_entries,
    queue_message,
    skip_needed,
    skip_votes,
    state_message,
)
from control_plane.rooms.services.permissions import active_member, can_control, can_queue
from control_plane.rooms.services.refusals import RoomsRefused

__all__ = [
    "CommandRefused",
    "Outcome",
    "advance_if_ended",
    "choose_successor",
    "create_room",
    "handle_command",
    "join",
    "leave",
    "locked_room",
    "messages_for",
]

AnySession = Session | scoped_session[Any]
PLAYBACK = ("play", "pause", "seek", "next", "previous")
QUEUE = ("queue_add", "queue_remove", "queue_move")
HOST_ONLY = ("hand_over", "set_permissions", "allow_stream")
COMMANDS = (*PLAYBACK, *QUEUE, *HOST_ONLY, "vote_skip")
MAX_POSITION_MS = 24 * 3600 * 1000.0
CODE_ATTEMPTS = 8


class CommandRefused(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code, self.detail = code, detail


@dataclass
class Outcome:
    """What changed, and the messages (built inside the transaction) to publish after commit."""

    state: bool = False
    queue: bool = False
    participants: bool = False
    messages: list[RoomMessage] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.state or self.queue or self.participants


def locked_room(session: AnySession, code: str) -> Room:
    normal = normalise_code(code)
    room: Room | None = (
        session.scalar(
            select(Room).where(Room.code == normal).with_for_update().execution_options(populate_existing=True)
        )
        if normal
        else None
    )
    if room is None:
        raise CommandRefused("room-not-found", f"no room has the code {code!r}")
    return room


def messages_for(session: AnySession, room: Room, outcome: Outcome, present: dict[int, float]) -> list[RoomMessage]:
    messages: list[RoomMessage] = []
    if outcome.participants:
        messages.append(participants_message(session, room, present))
    if outcome.queue:
        messages.append(queue_message(session, room, present))
    if outcome.state:
        messages.append(state_message(session, room))
    return messages


def handle_command(
    session: AnySession,
    code: str,
    user_id: int,
    message: dict[str, Any],
    present: dict[int, float],
    lead_ms: float,
    now_ms: float,
) -> Outcome:
    """Apply one client message; raises CommandRefused (and changes nothing) when not allowed."""
    kind = message["type"]
    if kind not in COMMANDS:
        raise CommandRefused("unknown-type", f"unknown message type {kind!r}")
    room = locked_room(session, code)
    if active_member(session, room, user_id) is None:
        raise CommandRefused("not-member", "join the room first")
    if kind in PLAYBACK and not can_control(room, user_id):
        raise CommandRefused("not-host", "only the host (or everyone, if the host allows it) controls playback")
    if kind in QUEUE and not can_queue(room, user_id):
        raise CommandRefused("not-allowed", "only the host (or everyone, if the host allows it) changes the queue")
    if kind in HOST_ONLY and user_id != room.host_id:
        raise CommandRefused("not-host", f"only the host may {kind.replace('_', ' ')}")
    at_ms = now_ms + lead_ms
    outcome = _HANDLERS[kind](session, room, user_id, message, at_ms, present)
    if outcome.changed:
        room.version += 1
        session.flush()
        outcome.messages = messages_for(session, room, outcome, present)
    return outcome


# --- playback ------------------------------------------------------------------------------


def _duration(session: AnySession, entry_id: int | None) -> float | None:
    if entry_id is None:
        return None
    entry = session.get(QueueEntry, entry_id)
    return entry.track.duration_ms if entry is not None else None


def _store(session: AnySession, room: Room, state: pb.PlaybackState) -> None:
    room.current_entry_id = state.entry_id
    room.position_ms = state.position_ms
    room.anchor_ms = state.anchor_ms
    room.playing = state.playing
    room.rate = state.rate
    room.ends_at_ms = pb.ends_at(state, _duration(session, state.entry_id))


def _number(message: dict[str, Any], name: str, required: bool) -> float | None:
    value = message.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_POSITION_MS:
        raise CommandRefused("bad-message", f"{name} must be a number of milliseconds from 0 to 24 h")
    return float(value)


def _play(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], at: float, _p: dict[int, float]
) -> Outcome:
    position = _number(message, "position_ms", required=False)
    state = playback_of(room)
    outcome = Outcome(state=True)
    if state.entry_id is None:
        entries = queue_entries(session, room)
        if not entries:
            raise CommandRefused("queue-empty", "add a track to the queue first")
        state = pb.start_entry(state, entries[0].id, at, playing=False)
        outcome.queue = True
    _store(session, room, pb.play(state, at, position, _duration(session, state.entry_id)))
    return outcome


def _pause(session: AnySession, room: Room, _uid: int, _m: dict[str, Any], at: float, _p: dict[int, float]) -> Outcome:
    state = playback_of(room)
    _store(session, room, pb.pause(state, at, _duration(session, state.entry_id)))
    return Outcome(state=True)


def _seek(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], at: float, _p: dict[int, float]
) -> Outcome:
    position = _number(message, "position_ms", required=True)
    assert position is not None
    state = playback_of(room)
    if state.entry_id is None:
        raise CommandRefused("nothing-playing", "there is no current track to seek in")
    _store(session, room, pb.seek(state, at, position, _duration(session, state.entry_id)))
    return Outcome(state=True)


def _step(session: AnySession, room: Room, step: int, at: float, keep_playing: bool | None = None) -> Outcome:
    entries = queue_entries(session, room)
    state = playback_of(room)
    ids = [e.id for e in entries]
    playing = state.playing if keep_playing is None else keep_playing
    if not ids:
        raise CommandRefused("queue-empty", "the queue is empty")
    index = ids.index(state.entry_id) if state.entry_id in ids else -1
    target = index + step
    if target < 0:
        target = 0  # "previous" on the first track starts it again
    if target >= len(ids):
        # Past the end: stay on the last track, stopped at its end.
        last = ids[-1]
        duration = _duration(session, last) or 0.0
        _store(session, room, pb.PlaybackState(last, duration, at, False, state.rate))
    else:
        _store(session, room, pb.start_entry(state, ids[target], at, playing))
    return Outcome(state=True, queue=True)


def _next(session: AnySession, room: Room, _uid: int, _m: dict[str, Any], at: float, _p: dict[int, float]) -> Outcome:
    return _step(session, room, +1, at)


def _previous(
    session: AnySession, room: Room, _uid: int, _m: dict[str, Any], at: float, _p: dict[int, float]
) -> Outcome:
    return _step(session, room, -1, at)


def advance_if_ended(
    session: AnySession, code: str, now_ms: float, lead_ms: float, present: dict[int, float]
) -> Outcome:
    """Auto-advance: the current track has run out, so the next one starts (one lead later,
    so clients can line it up). Re-checked under the row lock: when several processes notice
    the same end at once, the first advances and the others find nothing to do."""
    room = locked_room(session, code)
    if room.ends_at_ms is None or room.ends_at_ms > now_ms:
        return Outcome()
    at = max(now_ms, room.ends_at_ms) + lead_ms
    outcome = _step(session, room, +1, at, keep_playing=True)
    room.version += 1
    session.flush()
    outcome.messages = messages_for(session, room, outcome, present)
    return outcome


# --- queue ---------------------------------------------------------------------------------


def _entry_id(message: dict[str, Any], name: str = "entry_id") -> int:
    value = message.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CommandRefused("bad-message", f"{name} must be a positive integer")
    return value


def _queue_add(
    session: AnySession, room: Room, uid: int, message: dict[str, Any], at: float, _p: dict[int, float]
) -> Outcome:
    # Only a track the caller may hear (their own, or one a room of theirs already queues):
    # queueing someone's private upload in a room of one's own must not open it to them.
    track = visible_track(session, _entry_id(message, "track_id"), uid)
    if track is None:
        raise CommandRefused("unknown-track", "no track has that id, or not one you can hear")
    last = session.scalar(select(func.max(QueueEntry.position)).where(QueueEntry.room_id == room.id))
    entry = QueueEntry(
        room_id=room.id, track_id=track.id, added_by=uid, position=(last if last is not None else -1) + 1
    )
    session.add(entry)
    session.flush()
    outcome = Outcome(queue=True)
    state = playback_of(room)
    if state.entry_id is None or (
        not state.playing and state.position_ms >= (_duration(session, state.entry_id) or 0) > 0
    ):
        # Nothing current, or the queue had run out: the new track is next in line, stopped.
        _store(session, room, pb.start_entry(state, entry.id, at, playing=False))
        outcome.state = True
    return outcome


def _queue_remove(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], at: float, _p: dict[int, float]
) -> Outcome:
    entry = session.get(QueueEntry, _entry_id(message))
    if entry is None or entry.room_id != room.id:
        raise CommandRefused("unknown-entry", "no such entry in this room's queue")
    outcome = Outcome(queue=True)
    if room.current_entry_id == entry.id:
        ids = [e.id for e in queue_entries(session, room)]
        index = ids.index(entry.id)
        rest = ids[index + 1 :] or ids[:index][-1:]
        state = playback_of(room)
        successor = rest[0] if rest else None
        # Moving on to what followed keeps playing; falling back to history stops.
        _store(session, room, pb.start_entry(state, successor, at, state.playing and bool(ids[index + 1 :])))
        outcome.state = True
    session.execute(delete(SkipVote).where(SkipVote.entry_id == entry.id))
    session.delete(entry)
    session.flush()
    _renumber(session, room)
    return outcome


def _queue_move(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], _at: float, _p: dict[int, float]
) -> Outcome:
    entry_id = _entry_id(message)
    to_index = message.get("to_index")
    if isinstance(to_index, bool) or not isinstance(to_index, int) or to_index < 0:
        raise CommandRefused("bad-message", "to_index must be a non-negative integer")
    entries = queue_entries(session, room)
    moving = next((e for e in entries if e.id == entry_id), None)
    if moving is None:
        raise CommandRefused("unknown-entry", "no such entry in this room's queue")
    entries.remove(moving)
    entries.insert(min(to_index, len(entries)), moving)
    for position, entry in enumerate(entries):
        entry.position = position
    return Outcome(queue=True)


def _renumber(session: AnySession, room: Room) -> None:
    for position, entry in enumerate(queue_entries(session, room)):
        entry.position = position


# --- votes, hand-over, permissions ---------------------------------------------------------


def _vote_skip(
    session: AnySession, room: Room, uid: int, _m: dict[str, Any], at: float, present: dict[int, float]
) -> Outcome:
    if uid not in present:
        raise CommandRefused("not-present", "only people present in the room vote")
    if room.current_entry_id is None:
        raise CommandRefused("nothing-playing", "there is no current track to skip")
    key = (room.id, room.current_entry_id, uid)
    if session.get(SkipVote, key) is None:
        try:
            with session.begin_nested():
                session.add(SkipVote(room_id=room.id, entry_id=room.current_entry_id, user_id=uid))
        except IntegrityError:
            pass  # the same person's vote from another socket got there first: counted once
    if skip_votes(session, room, present) >= skip_needed(len(present)):
        return _step(session, room, +1, at)
    return Outcome(queue=True)


def _hand_over(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], _at: float, _p: dict[int, float]
) -> Outcome:
    target = _entry_id(message, "user_id")
    if active_member(session, room, target) is None:
        raise CommandRefused("unknown-member", "hand over only to someone in the room")
    room.host_id = target
    return Outcome(participants=True)


def _set_permissions(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], _at: float, _p: dict[int, float]
) -> Outcome:
    changed = False
    for name in ("allow_queue", "allow_control", "allow_member_streams"):
        if name in message:
            if not isinstance(message[name], bool):
                raise CommandRefused("bad-message", f"{name} must be true or false")
            setattr(room, name, message[name])
            changed = True
    return Outcome(participants=changed)


def _allow_stream(
    session: AnySession, room: Room, _uid: int, message: dict[str, Any], _at: float, _p: dict[int, float]
) -> Outcome:
    target = _entry_id(message, "user_id")
    allowed = message.get("allowed")
    if not isinstance(allowed, bool):
        raise CommandRefused("bad-message", "allowed must be true or false")
    member = active_member(session, room, target)
    if member is None:
        raise CommandRefused("unknown-member", "no such member in this room")
    member.can_stream = allowed
    return Outcome(participants=True)


_HANDLERS: dict[str, Callable[[AnySession, Room, int, dict[str, Any], float, dict[int, float]], Outcome]] = {
    "play": _play,
    "pause": _pause,
    "seek": _seek,
    "next": _next,
    "previous": _previous,
    "queue_add": _queue_add,
    "queue_remove": _queue_remove,
    "queue_move": _queue_move,
    "vote_skip": _vote_skip,
    "hand_over": _hand_over,
    "set_permissions": _set_permissions,
    "allow_stream": _allow_stream,
}


# --- creating, joining, leaving, automatic hand-over ---------------------------------------


def create_room(session: AnySession, host_id: int, command: CreateRoom, generate: Callable[[], str] = new_code) -> Room:
    """A new room hosted by ``host_id`` (its first member), committed. The code is fresh: a
    (rare) collision the unique index reports is retried, each attempt in its own savepoint so
    that a collision undoes only that attempt; ``RoomsRefused`` 503 ``no-room-code`` after
    ``CODE_ATTEMPTS``, with nothing written."""
    for _ in range(CODE_ATTEMPTS):
        room = Room(
            code=generate(),
            name=command.name,
            host_id=host_id,
            allow_member_streams=command.allow_member_streams,
            allow_queue=command.allow_queue,
            allow_control=command.allow_control,
        )
        try:
            with session.begin_nested():
                session.add(room)
        except IntegrityError:
            continue
        session.add(RoomMember(room_id=room.id, user_id=host_id))
        session.commit()
        return room
    session.rollback()
    raise RoomsRefused(503, "no-room-code", "Could not find a free room code; please retry")


def join(session: AnySession, room: Room, user_id: int) -> bool:
    """Make ``user_id`` a member (again); True when that changed anything."""
    member = session.get(RoomMember, (room.id, user_id))
    if member is None:
        session.add(RoomMember(room_id=room.id, user_id=user_id))
    elif member.left_at is not None:
        member.left_at = None
        member.joined_at = utcnow()
    else:
        return False
    room.version += 1
    session.flush()
    return True


def choose_successor(session: AnySession, room: Room, present: dict[int, float], leaving: int) -> int | None:
    """The longest-present member (earliest socket); if nobody is present, the longest member."""
    members = [m for m in members_of(session, room) if m.user_id != leaving]
    here = [m for m in members if m.user_id in present]
    if here:
        return min(here, key=lambda m: (present[m.user_id], m.joined_at)).user_id
    return members[0].user_id if members else None


def leave(session: AnySession, room: Room, user_id: int, present: dict[int, float]) -> bool:
    """Leave; a leaving host hands the room on at once. True when anything changed."""
    member = session.get(RoomMember, (room.id, user_id))
    if member is None or member.left_at is not None:
        return False
    member.left_at = utcnow()
    if room.host_id == user_id:
        successor = choose_successor(session, room, present, leaving=user_id)
        if successor is not None:
            room.host_id = successor
    room.version += 1
    session.flush()
    return True
