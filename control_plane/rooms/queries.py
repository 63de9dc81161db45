"""Read shapes of the rooms area shared by the API, the pages and the room socket."""

from __future__ import annotations

from sqlalchemy import select

from control_plane.kits.db.types import DB
from control_plane.rooms.models import QueueEntry, Room
from control_plane.rooms.schemas import normalise_code

__all__ = ["room_by_code", "rooms_queueing"]


def room_by_code(db: DB, raw_code: str) -> Room | None:
    """The room a typed code names (case and spaces forgiven), or None."""
    code = normalise_code(raw_code)
    return db.scalar(select(Room).where(Room.code == code)) if code else None


def rooms_queueing(db: DB, track_id: int) -> list[str]:
    """The codes of the rooms whose queue holds the track, sorted."""
    stmt = select(Room.code).join(QueueEntry, QueueEntry.room_id == Room.id).where(QueueEntry.track_id == track_id)
    return sorted(set(db.scalars(stmt)))
