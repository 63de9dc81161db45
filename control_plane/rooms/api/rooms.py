"""/api/rooms: create, look up, join, leave, and WebRTC signalling for live audio."""

from __future__ import annotations

import contextlib
import logging

import redis
from flask import Blueprint, Response, current_app, jsonify
from flask_jwt_extended import jwt_required
from sqlalchemy.exc import IntegrityError

from contracts.sockets import RoomMessage
from control_plane.accounts.auth import current_user
from control_plane.kits.extensions import REDIS_KEY, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.http.validation import parse_body
from control_plane.rooms.models import Room
from control_plane.rooms.queries import room_by_code
from control_plane.rooms.schemas import CreateRoom, StreamOffer
from control_plane.rooms.services import messages, streams
from control_plane.rooms.services import rooms as service
from control_plane.rooms.services.media import MEDIA_KEY, MediaClient
from control_plane.rooms.services.refusals import RoomsRefused
from control_plane.rooms.sockets import present_in, room_presence, room_snapshot

__all__ = ["bp", "find_room"]

log = logging.getLogger(__name__)
bp = Blueprint("rooms", __name__, url_prefix="/api")


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
    client: redis.Redis | None = current_app.extensions.get(REDIS_KEY)
    return client


def media_client() -> MediaClient:
    """The media process's client bound by create_app."""
    client: MediaClient = current_app.extensions[MEDIA_KEY]
    return client


@api_route(bp, "/rooms", "POST", "Create a room", body=CreateRoom, responses={201: "Created", 422: "Invalid"})
@jwt_required()
def create_room() -> tuple[Response, int]:
    data = parse_body(CreateRoom)
    try:
        room = service.create_room(db.session, current_user().id, data)
    except RoomsRefused as refused:
        raise refused_problem(refused) from None
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
    room, user = find_room(code), current_user()
    data = parse_body(StreamOffer)
    try:
        answer = streams.offer_stream(db.session, room, user.id, data, media_client())
    except RoomsRefused as refused:
        raise refused_problem(refused) from None
    return jsonify(answer.model_dump())
