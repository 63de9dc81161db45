"""/api/rooms: create, look up, join, leave, and WebRTC signalling for live audio."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable

import redis
import requests
from flask import Blueprint, Response, current_app, jsonify
from flask_jwt_extended import jwt_required
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from contracts.live import MediaAnswer, MediaOffer
from contracts.sockets import RoomMessage
from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import parse_body
from control_plane.rooms.models import Room, RoomMember
from control_plane.rooms.queries import room_by_code
from control_plane.rooms.schemas import CreateRoom, StreamOffer, new_code
from control_plane.rooms.services import messages
from control_plane.rooms.services import rooms as service
from control_plane.rooms.sockets import present_in, room_presence, room_snapshot

__all__ = ["bp", "create_room_with_unique_code", "find_room"]

log = logging.getLogger(__name__)
bp = Blueprint("rooms", __name__, url_prefix="/api")
CODE_ATTEMPTS = 8


def find_room(raw_code: str) -> Room:
    room = room_by_code(db.session, raw_code)
    if room is None:
        raise ApiProblem(404, "room-not-found", f"No room has the code {raw_code!r}")
    return room


def _locked_room(code: str) -> Room:
    try:
        return service.locked_room(db.session, code)
    except service.CommandRefused:
        raise ApiProblem(404, "room-not-found", f"No room has the code {code!r}") from None


def redis_client() -> redis.Redis | None:
    client: redis.Redis | None = current_app.extensions.get("downbeat.redis")
    return client


def create_room_with_unique_code(
    name: str,
    host: User,
    allow_member_streams: bool,
    generate: Callable[[], str] = new_code,
    *,
    allow_queue: bool = False,
    allow_control: bool = False,
) -> Room:
    """Insert with a fresh code, retrying on the (rare) collision the unique index reports.
    Each attempt is its own savepoint, so a collision undoes only that attempt."""
    for _ in range(CODE_ATTEMPTS):
        room = Room(
            code=generate(),
            name=name,
            host_id=host.id,
            allow_member_streams=allow_member_streams,
            allow_queue=allow_queue,
            allow_control=allow_control,
        )
        try:
            with db.session.begin_nested():
                db.session.add(room)
        except IntegrityError:
            continue
        db.session.add(RoomMember(room_id=room.id, user_id=host.id))
        db.session.commit()
        return room
    db.session.rollback()
    raise ApiProblem(503, "no-room-code", "Could not find a free room code; please retry")


@api_route(bp, "/rooms", "POST", "Create a room", body=CreateRoom, responses={201: "Created", 422: "Invalid"})
@jwt_required()
def create_room() -> tuple[Response, int]:
    data = parse_body(CreateRoom)
    room = create_room_with_unique_code(
        data.name,
        current_user(),
        data.allow_member_streams,
        allow_queue=data.allow_queue,
        allow_control=data.allow_control,
    )
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
    user = current_user()
    room = _locked_room(code)
    changed = service.join(db.session, room, user.id)
    present = present_in(room.code)
    message = messages.participants_message(db.session, room, present) if changed else None
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent join of the same user; the row exists now
        db.session.rollback()
        message = None
    if message is not None:
        messages.publish(redis_client(), room.code, [message])
    return jsonify(room_snapshot(find_room(code)))


@api_route(bp, "/rooms/<code>/leave", "POST", "Leave a room", responses={200: "Left", 404: "No such room"})
@jwt_required()
def leave_room(code: str) -> Response:
    user = current_user()
    room = _locked_room(code)
    present = present_in(room.code)
    present.pop(user.id, None)
    changed = service.leave(db.session, room, user.id, present)
    out: list[RoomMessage] = [
        messages.participants_message(db.session, room, present),
        messages.queue_message(db.session, room, present),
    ]
    db.session.commit()
    if changed:
        with contextlib.suppress(redis.RedisError):
            room_presence().drop_user(room.code, user.id)
        messages.publish(redis_client(), room.code, out)
    return jsonify(room_snapshot(find_room(code)))


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
    from control_plane.rooms.services.permissions import may_stream

    room, user = find_room(code), current_user()
    data = parse_body(StreamOffer)
    if not may_stream(room, user.id):
        raise ApiProblem(
            403, "stream-not-allowed", "Only the host, or members the host allows, may stream into this room"
        )
    # Refuse what is plainly not an SDP audio offer here, without a round trip to media.
    lines = data.sdp.replace("\r\n", "\n").split("\n")
    if lines[0].strip() != "v=0" or not any(line.startswith("m=audio ") for line in lines):
        raise ApiProblem(
            422, "invalid-offer", "The offer is not a valid SDP audio offer (it must start with v=0 and have m=audio)"
        )
    settings = current_settings()
    stream_id = uuid.uuid4().hex[:16]
    room_code, user_id = room.code, user.id
    db.session.commit()  # release SQLite's lock before waiting on the media service (ICE, DTLS)
    offer = MediaOffer(sdp=data.sdp, type="offer", room_code=room_code, stream_id=stream_id, user_id=user_id)
    try:
        answer = requests.post(
            f"{settings.media_url}/internal/offer",
            data=offer.model_dump_json(),
            headers={"Content-Type": "application/json"},
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
    try:
        payload = MediaAnswer.model_validate_json(answer.content)
    except ValidationError:
        raise ApiProblem(
            503, "media-unavailable", "The media service gave an answer that is not an SDP answer"
        ) from None
    return jsonify(payload.model_dump())
