"""Pages of the rooms area: the viewer's rooms and a listening room.

They only read; the browser changes rooms through /api/rooms and the room socket.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from control_plane.accounts.auth import login_required, viewer
from control_plane.kits.extensions import db
from control_plane.kits.http.pages import page, page_blueprint
from control_plane.rooms.models import Room, RoomMember
from control_plane.rooms.queries import room_by_code
from control_plane.rooms.services.permissions import may_stream
from control_plane.rooms.sockets import room_snapshot

__all__ = ["bp"]

bp = page_blueprint("rooms_pages", __name__)


@bp.get("/rooms")
@login_required
def rooms() -> str:
    user = viewer()
    assert user is not None
    stmt = (
        select(Room)
        .join(RoomMember, RoomMember.room_id == Room.id)
        .where(RoomMember.user_id == user.id)
        .order_by(RoomMember.joined_at.desc())
        .limit(20)
    )
    mine = [{"code": r.code, "name": r.name, "is_host": r.host_id == user.id} for r in db.session.scalars(stmt)]
    return page("rooms.html", title="Rooms", my_rooms=mine)


@bp.get("/rooms/<code>")
@login_required
def room(code: str) -> Any:
    found = room_by_code(db.session, code)
    if found is None:
        return page("404.html", title="Room not found", room_code=code.strip().upper()[:32]), 404
    snapshot = room_snapshot(found)
    user = viewer()
    return page(
        "room.html",
        title=snapshot["name"],
        room=snapshot,
        is_host=bool(user and user.id == found.host_id),
        may_stream=bool(user and may_stream(db.session, found, user.id)),
    )
