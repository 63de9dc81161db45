"""Who may do what in a room. The host may do everything; others as the host allows."""

from __future__ import annotations

from control_plane.kits.db.types import DB
from control_plane.rooms.models import Room, RoomMember

__all__ = ["active_member", "can_control", "can_queue", "can_stream", "may_stream"]


def active_member(session: DB, room: Room, user_id: int) -> RoomMember | None:
    member = session.get(RoomMember, (room.id, user_id))
    return member if member is not None and member.left_at is None else None


def can_control(room: Room, user_id: int) -> bool:
    return user_id == room.host_id or room.allow_control


def can_queue(room: Room, user_id: int) -> bool:
    return user_id == room.host_id or room.allow_queue


def can_stream(room: Room, member: RoomMember | None, user_id: int) -> bool:
    if user_id == room.host_id:
        return True
    return member is not None and member.left_at is None and (member.can_stream or room.allow_member_streams)


def may_stream(session: DB, room: Room, user_id: int) -> bool:
    """For the live-audio signalling: the host always; a member the host allowed (per person
    with ``allow_stream``, or everyone with the room's ``allow_member_streams``)."""
    return can_stream(room, session.get(RoomMember, (room.id, user_id)), user_id)
