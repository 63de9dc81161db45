"""/api/bookings: book, join the waitlist, list, cancel (the .ics download is in calendars)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import get_jwt, jwt_required

from control_plane.accounts.auth import current_user, require_live_token, revoked_token_problem
from control_plane.catalog.models import Booking
from control_plane.catalog.queries import booking_json, bookings_of, own_booking
from control_plane.catalog.schemas import BookingBody, BookingQuery, CancelBody
from control_plane.catalog.services.bookings import BookSeat, cancel_booking
from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.catalog.services.seat_store import OrmSeatStore, PostgresSeatStore, TokenNotLive
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.idempotency import answer_response, keyed_request
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.kits.idempotency import IdempotencyRefused
from control_plane.kits.outbox.wakeup import wake_relay
from control_plane.payments.services.factory import current_gateway

__all__ = ["bp"]


bp = Blueprint("bookings", __name__, url_prefix="/api")


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
    keyed = keyed_request()
    try:
        answer = None
        if db.engine.dialect.name == "postgresql":
            answer = PostgresSeatStore(db.engine, str(claims.get("fam") or ""), wake_relay).book(
                user_id, command, keyed
            )
        if answer is None:
            require_live_token(claims)
            answer = OrmSeatStore(db.session, current_gateway()).book(user_id, command, keyed)
    except TokenNotLive:
        raise revoked_token_problem() from None
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    except IdempotencyRefused as refused:
        db.session.rollback()
        raise refused_problem(refused) from None
    return answer_response(answer)


@api_route(bp, "/bookings", "GET", "The caller's bookings", query=BookingQuery)
@jwt_required()
def list_bookings() -> Response:
    query = parse_query(BookingQuery)
    when = "upcoming" if query.upcoming else query.when
    page, next_cursor = bookings_of(db.session, current_user().id, when, query.cursor, query.limit, utcnow())
    return jsonify({"items": [booking_json(db.session, b) for b in page], "next_cursor": next_cursor})


def _own_booking(booking_id: int) -> Booking:
    booking = own_booking(db.session, current_user().id, booking_id)
    if booking is None:
        raise ApiProblem(404, "booking-not-found", f"Booking {booking_id} is not yours or does not exist")
    return booking


@api_route(
    bp, "/bookings/<int:booking_id>", "GET", "One of the caller's bookings", responses={200: "OK", 404: "Not found"}
)
@jwt_required()
def get_booking(booking_id: int) -> Response:
    return jsonify(booking_json(db.session, _own_booking(booking_id)))


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
    except CatalogRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    return jsonify(booking_json(db.session, booking))
