"""/api/bookings: book, join the waitlist, list, cancel (the .ics download is in calendars)."""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import get_jwt, jwt_required
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from control_plane.accounts.auth import current_user, require_live_token
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.catalog.queries import booking_json as _booking_json
from control_plane.catalog.services.bookings import BookingRefused, BookSeat, book_seat, cancel_booking
from control_plane.catalog.services.hot_path import book_free_seat_postgres
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.idempotency import idempotent, keyed_request
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import MAX_CURSOR, after, encode
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import MAX_ROW_ID, TEXT, parse_body, parse_query
from control_plane.payments.services.factory import current_gateway

__all__ = ["booking_json", "bp"]


def booking_json(booking: Booking) -> dict[str, Any]:
    return _booking_json(db.session, booking)


bp = Blueprint("bookings", __name__, url_prefix="/api")


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Strict: "13" is not a session id; the contract's numbers are JSON numbers.
    session_id: int = Field(ge=1, le=MAX_ROW_ID, strict=True)
    seats: int = Field(default=1, ge=1, le=20, strict=True)
    notes: str = Field(default="", max_length=2000, pattern=TEXT)
    waitlist: bool = Field(default=False, strict=True)


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upcoming: bool | None = None
    when: Literal["upcoming", "past", "all"] = "all"
    limit: int = Field(default=100, ge=1, le=500)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, pattern=TEXT)


def _refused(refused: BookingRefused) -> ApiProblem:
    db.session.rollback()
    return ApiProblem(refused.status, refused.code, refused.detail)


@api_route(
    bp,
    "/bookings",
    "POST",
    "Book seats in a session (or join its waitlist with waitlist: true)",
    body=BookingBody,
    responses={
        201: "Booked or waitlisted",
        404: "No such session",
        409: "session-full or already-booked",
        422: "Invalid",
    },
)
# The token family check is made inside the booking's first statement on the hot path (one
# round trip fewer) and by ``require_live_token`` on every other path.
@jwt_required(skip_revocation_check=True)
def create_booking() -> Response:
    claims = get_jwt()
    user_id = int(claims["sub"])
    data = parse_body(BookingBody)
    command = BookSeat(data.session_id, data.seats, data.notes, data.waitlist)
    if not command.waitlist and db.engine.dialect.name == "postgresql":
        answer = book_free_seat_postgres(db.engine, claims, command, keyed_request())
        if answer is not None:
            return answer
    require_live_token(claims)

    def create() -> tuple[dict[str, Any], int]:
        try:
            booking = book_seat(db.session, current_user(), command, current_gateway())
        except BookingRefused as refused:
            raise _refused(refused) from None
        db.session.flush()
        return booking_json(booking), 201

    return idempotent(user_id, create)


@api_route(bp, "/bookings", "GET", "The caller's bookings", query=BookingQuery)
@jwt_required()
def list_bookings() -> Response:
    query = parse_query(BookingQuery)
    when = "upcoming" if query.upcoming else query.when
    stmt = select(Booking).join(CatalogSession).where(Booking.user_id == current_user().id)
    past = when == "past"
    if when == "upcoming":
        stmt = stmt.where(CatalogSession.ends_at >= utcnow(), Booking.status != "cancelled")
    elif past:
        stmt = stmt.where(CatalogSession.ends_at < utcnow())
    stmt = after(stmt, query.cursor, CatalogSession.starts_at, Booking.id, newest_first=past)
    first = CatalogSession.starts_at.desc() if past else CatalogSession.starts_at
    rows = list(db.session.scalars(stmt.order_by(first, Booking.id).limit(query.limit + 1)))
    page = rows[: query.limit]
    next_cursor = encode(page[-1].session.starts_at, page[-1].id) if len(rows) > query.limit else None
    return jsonify({"items": [booking_json(b) for b in page], "next_cursor": next_cursor})


def _own_booking(booking_id: int) -> Booking:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != current_user().id:
        raise ApiProblem(404, "booking-not-found", f"Booking {booking_id} is not yours or does not exist")
    return booking


@api_route(
    bp, "/bookings/<int:booking_id>", "GET", "One of the caller's bookings", responses={200: "OK", 404: "Not found"}
)
@jwt_required()
def get_booking(booking_id: int) -> Response:
    return jsonify(booking_json(_own_booking(booking_id)))


@api_route(
    bp,
    "/bookings/<int:booking_id>/cancel",
    "POST",
    "Cancel a booking or leave the waitlist; the seat goes back and the waitlist moves up",
    body=CancelBody,
    responses={200: "Cancelled", 404: "Not found", 409: "Already cancelled"},
)
@jwt_required()
def cancel(booking_id: int) -> Response:
    data = parse_body(CancelBody)
    try:
        booking = cancel_booking(db.session, current_user(), booking_id, data.reason, current_gateway())
    except BookingRefused as refused:
        raise _refused(refused) from None
    db.session.commit()
    return jsonify(booking_json(booking))
