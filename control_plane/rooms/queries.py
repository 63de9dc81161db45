"""Read shapes of the rooms area shared by the API, the pages and the room socket."""

from __future__ import annotations

from sqlalchemy import select

from control_plane.kits.db.types import DB
from control_plane.rooms.models import QueueEntry, Room, RoomMember, Track
from control_plane.rooms.schemas import normalise_code

__all__ = ["room_by_code", "rooms_queueing", "visible_track"]


def room_by_code(db: DB, raw_code: str) -> Room | None:
    """The room a typed code names (case and spaces forgiven), or None."""
    code = normalise_code(raw_code)
    return db.scalar(select(Room).where(Room.code == code)) if code else None


def rooms_queueing(db: DB, track_id: int) -> list[str]:
    """The codes of the rooms whose queue holds the track, sorted."""
    stmt = select(Room.code).join(QueueEntry, QueueEntry.room_id == Room.id).where(QueueEntry.track_id == track_id)
    return sorted(set(db.scalars(stmt)))


def visible_track(db: DB, track_id: int, user_id: int) -> Track | None:
    """A track its owner may always read, and anyone else only while it sits in the queue of a
    room they host or are in (they play it). None for "no such track" and "not yours" alike:
    a private upload's existence is nobody else's business."""
    track = db.get(Track, track_id)
    if track is None:
        return None
    if track.owner_id == user_id:
        return track
    in_room = (
        select(QueueEntry.id)
        .join(Room, Room.id == QueueEntry.room_id)
        .outerjoin(RoomMember, (RoomMember.room_id == Room.id) & (RoomMember.user_id == user_id))
        .where(
            QueueEntry.track_id == track_id,
            (Room.host_id == user_id) | ((RoomMember.user_id == user_id) & RoomMember.left_at.is_(None)),
        )
        .limit(1)
    )
    return track if db.scalar(in_room) is not None else None
