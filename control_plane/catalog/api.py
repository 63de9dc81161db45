"""/api/sessions and /api/bookings."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import jwt_required
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import or_, select

from control_plane.accounts.tokens import current_user
from control_plane.api_spec import api_route
from control_plane.catalog.booking import BookingRefused, BookSeat, book_seat
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.db_types import utcnow
from control_plane.extensions import db
from control_plane.idempotency import idempotent
from control_plane.problems import ApiProblem
from control_plane.validation import parse_body, parse_query

__all__ = ["bp"]

bp = Blueprint("catalog", __name__, url_prefix="/api")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=10_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class SessionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: str = Field(default="", max_length=10_000)
    kind: Literal["session", "retreat"] = "session"
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: str = "UTC"
    capacity: int = Field(ge=1, le=100_000)
    price: Price = Price(amount=0, currency="EUR")
    location: str = Field(default="", max_length=200)
    status: Literal["draft", "published"] = "draft"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, zone: str) -> str:
        if zone not in available_timezones():
            raise ValueError("unknown IANA time zone")
        return zone

    @model_validator(mode="after")
    def _order(self) -> SessionFields:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class SessionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    description: str | None = Field(default=None, max_length=10_000)
    capacity: int | None = Field(default=None, ge=1, le=100_000)
    location: str | None = Field(default=None, max_length=200)
    status: Literal["draft", "published"] | None = None


class SessionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    kind: Literal["session", "retreat"] | None = None
    mine: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=0)


class BookingBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    session_id: int = Field(ge=1)
    seats: int = Field(default=1, ge=1, le=20)
    notes: str = Field(default="", max_length=2000)


def _owned_session(session_id: int) -> CatalogSession:
    listing = db.session.get(CatalogSession, session_id)
    if listing is None:
        raise ApiProblem(404, "session-not-found", f"Session {session_id} does not exist")
    if listing.owner_id != current_user().id:
        raise ApiProblem(403, "not-owner", "Only the session's owner may do this")
    return listing


@api_route(
    bp,
    "/sessions",
    "POST",
    "Create a session or retreat",
    body=SessionFields,
    responses={201: "Created", 403: "Not a creator or facilitator", 422: "Invalid fields"},
)
@jwt_required()
def create_session() -> tuple[Response, int]:
    user = current_user()
    if not user.has_any_role("creator", "facilitator"):
        raise ApiProblem(403, "forbidden", "Only creators and facilitators publish sessions")
    data = parse_body(SessionFields)
    listing = CatalogSession(
        owner_id=user.id,
        title=data.title,
        description=data.description,
        kind=data.kind,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        timezone=data.timezone,
        capacity=data.capacity,
        price_amount=data.price.amount,
        price_currency=data.price.currency,
        location=data.location,
        status=data.status,
    )
    db.session.add(listing)
    db.session.commit()
    return jsonify(listing.to_json()), 201


@api_route(bp, "/sessions", "GET", "Published sessions (own drafts too with mine=true)", query=SessionQuery, auth=False)
@jwt_required(optional=True)
def list_sessions() -> Response:
    query = parse_query(SessionQuery)
    stmt = select(CatalogSession).order_by(CatalogSession.starts_at, CatalogSession.id)
    if query.mine:
        stmt = stmt.where(CatalogSession.owner_id == current_user().id)
    else:
        stmt = stmt.where(CatalogSession.status == "published")
    if query.kind:
        stmt = stmt.where(CatalogSession.kind == query.kind)
    if query.q:
        like = f"%{query.q}%"
        stmt = stmt.where(or_(CatalogSession.title.ilike(like), CatalogSession.description.ilike(like)))
    offset = query.cursor or 0
    rows = db.session.scalars(stmt.offset(offset).limit(query.limit + 1)).all()
    items = [row.to_json() for row in rows[: query.limit]]
    next_cursor = str(offset + query.limit) if len(rows) > query.limit else None
    return jsonify({"items": items, "next_cursor": next_cursor})


@api_route(bp, "/sessions/<int:session_id>", "GET", "One session", auth=False, responses={200: "OK", 404: "Not found"})
@jwt_required(optional=True)
def get_session(session_id: int) -> Response:
    listing = db.session.get(CatalogSession, session_id)
    if listing is None or (listing.status == "draft" and _caller_id() != listing.owner_id):
        raise ApiProblem(404, "session-not-found", f"Session {session_id} does not exist")
    return jsonify(listing.to_json())


def _caller_id() -> int | None:
    from flask_jwt_extended import get_jwt_identity

    identity = get_jwt_identity()
    return int(identity) if identity is not None else None


@api_route(
    bp,
    "/sessions/<int:session_id>",
    "PATCH",
    "Edit a session (owner only)",
    body=SessionPatch,
    responses={200: "Updated", 403: "Not the owner", 409: "Capacity below seats taken", 422: "Invalid"},
)
@jwt_required()
def update_session(session_id: int) -> Response:
    data = parse_body(SessionPatch)
    listing = _owned_session(session_id)
    changes: dict[str, Any] = data.model_dump(exclude_none=True)
    if "capacity" in changes and changes["capacity"] < listing.seats_taken:
        raise ApiProblem(
            409,
            "capacity-below-seats-taken",
            f"{listing.seats_taken} seats are taken; capacity cannot drop below that",
            errors={"capacity": [f"must be at least {listing.seats_taken}"]},
        )
    if changes.get("status") == "draft" and listing.seats_taken > 0:
        raise ApiProblem(409, "has-bookings", "A session with bookings cannot go back to draft; cancel it instead")
    for key, value in changes.items():
        setattr(listing, key, value)
    listing.updated_at = utcnow()
    db.session.commit()
    return jsonify(listing.to_json())


@api_route(
    bp,
    "/bookings",
    "POST",
    "Book seats in a session",
    body=BookingBody,
    responses={201: "Booked", 404: "No such session", 409: "session-full or already-booked", 422: "Invalid"},
)
@jwt_required()
def create_booking() -> Response:
    user = current_user()
    data = parse_body(BookingBody)

    def create() -> tuple[dict[str, Any], int]:
        try:
            booking = book_seat(db.session, user, BookSeat(data.session_id, data.seats, data.notes))
        except BookingRefused as refused:
            db.session.rollback()
            raise ApiProblem(refused.status, refused.code, refused.detail) from None
        return {**booking.to_json(), "session": booking.session.to_json()}, 201

    return idempotent(user.id, create)


class BookingQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    upcoming: bool = False


@api_route(bp, "/bookings", "GET", "The caller's bookings", query=BookingQuery)
@jwt_required()
def list_bookings() -> Response:
    query = parse_query(BookingQuery)
    stmt = (
        select(Booking)
        .join(CatalogSession)
        .where(Booking.user_id == current_user().id)
        .order_by(CatalogSession.starts_at, Booking.id)
    )
    if query.upcoming:
        stmt = stmt.where(CatalogSession.starts_at >= utcnow(), Booking.status != "cancelled")
    items = [{**b.to_json(), "session": b.session.to_json()} for b in db.session.scalars(stmt)]
    return jsonify({"items": items, "next_cursor": None})


@api_route(
    bp,
    "/sessions/<int:session_id>/bookings",
    "GET",
    "Who booked (owner only)",
    responses={200: "OK", 403: "Not the owner", 404: "Not found"},
)
@jwt_required()
def session_bookings(session_id: int) -> Response:
    listing = _owned_session(session_id)
    rows = db.session.scalars(select(Booking).where(Booking.session_id == listing.id).order_by(Booking.id))
    items = [{**b.to_json(), "user": {"id": b.user.id, "name": b.user.name}} for b in rows]
    return jsonify({"items": items, "next_cursor": None})
