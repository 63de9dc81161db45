"""The room's socket messages (`participants`, `queue`, `state`, `track`; their shapes are
``contracts.sockets``) and their fan-out.

Every message is built from committed rows and published on Redis ``room:<code>``
(``contracts.channels.room_channel``), so each
gateway process pushes it to its own sockets. Messages carry the room ``version`` they were
read at; a client keeps the newest (two processes may publish in the opposite order of
their commits). A message is encoded once, whatever the number of sockets.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session, scoped_session

from contracts.channels import room_channel
from contracts.sockets import (
    Participant,
    ParticipantsMessage,
    Playback,
    QueueItem,
    QueueMessage,
    RoomMessage,
    RoomSnapshot,
    StateMessage,
    TrackMessage,
)
from control_plane.rooms.models import QueueEntry, Room, RoomMember, SkipVote, Track
from control_plane.rooms.services.permissions import can_control, can_queue, can_stream
from control_plane.rooms.services.playback import PlaybackState
from control_plane.rooms.services.tracks import track_json

__all__ = [
    "participants_message",
    "playback_of",
    "publish",
    "queue_message",
    "room_snapshot",
    "skip_needed",
    "state_message",
    "track_message",
]

log = logging.getLogger(__name__)
AnySession = Session | scoped_session[Any]


def playback_of(room: Room) -> PlaybackState:
    return PlaybackState(room.current_entry_id, room.position_ms, room.anchor_ms, room.playing, room.rate)


def skip_needed(present_count: int) -> int:
    """A majority of the people present: more than half of them."""
    return present_count // 2 + 1


def members_of(session: AnySession, room: Room) -> list[RoomMember]:
    stmt = select(RoomMember).where(RoomMember.room_id == room.id, RoomMember.left_at.is_(None))
    return list(session.scalars(stmt.order_by(RoomMember.joined_at, RoomMember.user_id)))


def participants_message(session: AnySession, room: Room, present: dict[int, float]) -> ParticipantsMessage:
    items = []
    for member in members_of(session, room):
        uid = member.user_id
        items.append(
            Participant(
                user_id=uid,
                id=uid,
                name=member.user.name,
                role="host" if uid == room.host_id else "listener",
                is_host=uid == room.host_id,
                present=uid in present,
                present_since_ms=present.get(uid),
                can_control=can_control(room, uid),
                can_queue=can_queue(room, uid),
                can_stream=can_stream(room, member, uid),
            )
        )
    return ParticipantsMessage(
        version=room.version,
        host_id=room.host_id,
        items=items,
        allow_queue=room.allow_queue,
        allow_control=room.allow_control,
        allow_member_streams=room.allow_member_streams,
    )


def queue_entries(session: AnySession, room: Room) -> list[QueueEntry]:
    stmt = select(QueueEntry).where(QueueEntry.room_id == room.id).order_by(QueueEntry.position, QueueEntry.id)
    return list(session.scalars(stmt))


def skip_votes(session: AnySession, room: Room, present: dict[int, float]) -> int:
    """Votes on the current entry by people present now; each person counts once (the key)."""
    if room.current_entry_id is None or not present:
        return 0
    stmt = select(func.count()).where(
        SkipVote.room_id == room.id,
        SkipVote.entry_id == room.current_entry_id,
        SkipVote.user_id.in_(list(present)),
    )
    return int(session.scalar(stmt) or 0)


def queue_message(session: AnySession, room: Room, present: dict[int, float]) -> QueueMessage:
    return QueueMessage(
        version=room.version,
        items=[
            QueueItem(entry_id=e.id, track=track_json(e.track), added_by=e.added_by)
            for e in queue_entries(session, room)
        ],
        current_entry_id=room.current_entry_id,
        skip_votes=skip_votes(session, room, present),
        skip_needed=skip_needed(len(present)),
    )


def state_message(session: AnySession, room: Room) -> StateMessage:
    track = None
    if room.current_entry_id is not None:
        entry = session.get(QueueEntry, room.current_entry_id)
        track = track_json(entry.track) if entry is not None else None
    return StateMessage(
        version=room.version,
        track=track,
        entry_id=room.current_entry_id,
        position_ms=room.position_ms,
        server_time_ms=room.anchor_ms,
        playing=room.playing,
        rate=room.rate,
    )


def room_snapshot(session: AnySession, room: Room, present: dict[int, float]) -> RoomSnapshot:
    """GET /api/rooms/{code}, join and leave answers: everything a page needs to start."""
    participants = participants_message(session, room, present)
    state = state_message(session, room)
    return RoomSnapshot(
        code=room.code,
        name=room.name,
        host_id=room.host_id,
        host_name=room.host.name,
        allow_member_streams=room.allow_member_streams,
        allow_queue=room.allow_queue,
        allow_control=room.allow_control,
        created_at=room.created_at.isoformat(),
        version=room.version,
        participants=participants.items,
        queue=queue_message(session, room, present),
        state=state,
        playback=Playback(
            track=state.track,
            position_ms=state.position_ms,
            server_time_ms=state.server_time_ms,
            playing=state.playing,
            rate=state.rate,
        ),
    )


def track_message(track: Track) -> TrackMessage:
    return TrackMessage(track=track_json(track))


def publish(client: redis.Redis | None, code: str, messages: Iterable[RoomMessage]) -> None:
    """After commit only: every gateway process forwards these to its sockets in the room.
    Losing one (Redis down) costs freshness, not truth: clients get a full snapshot on reconnect."""
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for message in messages:
            pipe.publish(room_channel(code), message.to_json())
        pipe.execute()
    except redis.RedisError:
        log.warning("could not publish to room %s; its sockets miss this change", code)
