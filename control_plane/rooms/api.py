"""/api/rooms: create, look up, join, leave, and WebRTC signalling for live audio."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Literal

import requests
from flask import Blueprint, Response, current_app, jsonify
from flask_jwt_extended import jwt_required
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from control_plane.accounts.models import User
from control_plane.accounts.tokens import current_user
from control_plane.api_spec import api_route
from control_plane.db_types import utcnow
from control_plane.extensions import db
from control_plane.problems import ApiProblem
from control_plane.rooms.codes import new_code, normalise_code
from control_plane.rooms.models import Room, RoomMember
from control_plane.validation import parse_body
from downbeat.settings import Settings

__all__ = ["MAX_SDP_BYTES", "bp", "find_room", "room_snapshot"]

bp = Blueprint("rooms", __name__, url_prefix="/api")
CODE_ATTEMPTS = 8
MAX_SDP_BYTES = 64 * 1024  # a browser's audio offer is ~5 KB; refuse anything absurd


class CreateRoom(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    allow_member_streams: bool = False


class StreamOffer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sdp: str = Field(min_length=10, max_length=MAX_SDP_BYTES)
    type: Literal["offer"]


def find_room(raw_code: str) -> Room:
    code = normalise_code(raw_code)
    room: Room | None = db.session.scalar(select(Room).where(Room.code == code)) if code else None
    if room is None:
        raise ApiProblem(404, "room-not-found", f"No room has the code {raw_code!r}")
    return room


def present_members(room: Room) -> list[RoomMember]:
    stmt = select(RoomMember).where(RoomMember.room_id == room.id, RoomMember.left_at.is_(None))
    return list(db.session.scalars(stmt.order_by(RoomMember.joined_at)))


def room_snapshot(room: Room) -> dict[str, object]:
    return {
        "code": room.code,
        "name": room.name,
        "host_id": room.host_id,
        "host_name": room.host.name,
        "allow_member_streams": room.allow_member_streams,
        "created_at": room.created_at.isoformat(),
        "participants": [
            {"id": m.user.id, "name": m.user.name, "is_host": m.user_id == room.host_id} for m in present_members(room)
        ],
        "queue": [],
        "playback": {"track": None, "position_ms": 0, "playing": False, "rate": 1.0},
    }


def create_room_with_unique_code(
    name: str, host: User, allow_member_streams: bool, generate: Callable[[], str] = new_code
) -> Room:
    """Insert with a fresh code, retrying on the (rare) collision the unique index reports."""
    for _ in range(CODE_ATTEMPTS):
        room = Room(code=generate(), name=name, host_id=host.id, allow_member_streams=allow_member_streams)
        db.session.add(room)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            continue
        db.session.add(RoomMember(room_id=room.id, user_id=host.id))
        db.session.commit()
        return room
    raise ApiProblem(503, "no-room-code", "Could not find a free room code; please retry")


@api_route(bp, "/rooms", "POST", "Create a room", body=CreateRoom, responses={201: "Created", 422: "Invalid"})
@jwt_required()
def create_room() -> tuple[Response, int]:
    data = parse_body(CreateRoom)
    room = create_room_with_unique_code(data.name, current_user(), data.allow_member_streams)
    return jsonify(room_snapshot(room)), 201


@api_route(
    bp,
    "/rooms/<code>",
    "GET",
    "Room, participants, queue and playback state",
    responses={200: "OK", 404: "No such room"},
)
@jwt_required()
def get_room(code: str) -> Response:
    return jsonify(room_snapshot(find_room(code)))


@api_route(bp, "/rooms/<code>/join", "POST", "Join a room", responses={200: "Joined", 404: "No such room"})
@jwt_required()
def join_room(code: str) -> Response:
    room, user = find_room(code), current_user()
    member = db.session.get(RoomMember, (room.id, user.id))
    if member is None:
        db.session.add(RoomMember(room_id=room.id, user_id=user.id))
    else:
        member.left_at = None
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent join of the same user; the row exists now
        db.session.rollback()
    return jsonify(room_snapshot(room))


@api_route(bp, "/rooms/<code>/leave", "POST", "Leave a room", responses={200: "Left", 404: "No such room"})
@jwt_required()
def leave_room(code: str) -> Response:
    room, user = find_room(code), current_user()
    member = db.session.get(RoomMember, (room.id, user.id))
    if member is not None and member.left_at is None:
        member.left_at = utcnow()
        db.session.commit()
    return jsonify(room_snapshot(room))


@api_route(
    bp,
    "/rooms/<code>/stream",
    "POST",
    "WebRTC offer for live audio into the room",
    body=StreamOffer,
    responses={200: "Answer", 403: "Not allowed to stream", 404: "No such room", 422: "Invalid", 503: "Media down"},
)
@jwt_required()
def stream_offer(code: str) -> Response:
    room, user = find_room(code), current_user()
    data = parse_body(StreamOffer)
    member = db.session.get(RoomMember, (room.id, user.id))
    is_member = member is not None and member.left_at is None
    if not (user.id == room.host_id or (is_member and room.allow_member_streams)):
        raise ApiProblem(
            403, "stream-not-allowed", "Only the host, or members the host allows, may stream into this room"
        )
    settings: Settings = current_app.extensions["downbeat.settings"]
    stream_id = uuid.uuid4().hex[:16]
    room_code, user_id = room.code, user.id
    db.session.commit()  # release SQLite's lock before waiting on the media service (ICE, DTLS)
    try:
        answer = requests.post(
            f"{settings.media_url}/internal/offer",
            json={"sdp": data.sdp, "type": "offer", "room_code": room_code, "stream_id": stream_id, "user_id": user_id},
            timeout=15,
        )
    except requests.RequestException:
        raise ApiProblem(503, "media-unavailable", "The media service is not reachable; try again shortly") from None
    if answer.status_code != 200:
        body = answer.json() if answer.headers.get("Content-Type", "").startswith("application/") else {}
        status = answer.status_code if 400 <= answer.status_code < 500 else 503
        raise ApiProblem(
            status, body.get("code", "media-refused"), body.get("detail", "The media service refused the offer")
        )
    payload = answer.json()
    return jsonify({"sdp": payload["sdp"], "type": "answer", "stream_id": stream_id})
