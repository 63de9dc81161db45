"""/api/sessions: publish, edit, cancel and delete sessions and retreats."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import jwt_required
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import or_, select, update

from control_plane.accounts.roles import ensure_roles
from control_plane.accounts.tokens import current_user
from control_plane.api_spec import api_route
from control_plane.catalog.booking import BookingRefused, cancel_session, promote_waitlist
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.db_types import utcnow
from control_plane.extensions import db
from control_plane.payments.factory import current_gateway
from control_plane.problems import ApiProblem
from control_plane.validation import parse_body, parse_query

__all__ = ["bp"]

bp = Blueprint("sessions", __name__, url_prefix="/api")

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=10_000_000)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class RefundPolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_until_hours: int = Field(default=48, ge=0, le=24 * 365)
    partial_until_hours: int = Field(default=24, ge=0, le=24 * 365)
    partial_percent: int = Field(default=50, ge=0, le=100)

    @model_validator(mode="after")
    def _order(self) -> RefundPolicyFields:
        if self.partial_until_hours > self.full_until_hours:
            raise ValueError("partial_until_hours cannot exceed full_until_hours")
        return self


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
    refund_policy: RefundPolicyFields = RefundPolicyFields()

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
    status: Literal["draft", "published", "cancelled"] | None = None
    from_: AwareDatetime | None = Field(default=None, alias="from")
    to: AwareDatetime | None = None
    mine: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: int | None = Field(default=None, ge=0, le=1_000_000_000)


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
    ensure_roles(user, "creator", "facilitator", action="publish sessions")
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
        refund_full_hours=data.refund_policy.full_until_hours,
        refund_partial_hours=data.refund_policy.partial_until_hours,
        refund_partial_percent=data.refund_policy.partial_percent,
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
        if _caller_id() is None:
            raise ApiProblem(401, "unauthorized", "mine=true needs a login")
        stmt = stmt.where(CatalogSession.owner_id == current_user().id)
    else:
        stmt = stmt.where(CatalogSession.status == "published")
    if query.status and query.mine:
        stmt = stmt.where(CatalogSession.status == query.status)
    if query.kind:
        stmt = stmt.where(CatalogSession.kind == query.kind)
    if query.from_:
        stmt = stmt.where(CatalogSession.ends_at >= query.from_)
    if query.to:
        stmt = stmt.where(CatalogSession.starts_at <= query.to)
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
    if listing.status == "cancelled":
        raise ApiProblem(409, "session-cancelled", f"Session {session_id} was cancelled; it cannot change any more")
    if changes.get("status") == "draft" and listing.status != "draft":
        raise ApiProblem(409, "invalid-transition", "A published session cannot go back to draft; cancel it instead")
    capacity = changes.pop("capacity", None)
    grew = capacity is not None and capacity > listing.capacity
    if capacity is not None:
        # Conditional, so a booking committed meanwhile cannot be squeezed out (CHECK would fail).
        resized = db.session.execute(
            update(CatalogSession)
            .where(CatalogSession.id == session_id, CatalogSession.seats_taken <= capacity)
            .values(capacity=capacity)
            .execution_options(synchronize_session=False)
        )
        if resized.rowcount != 1:  # type: ignore[attr-defined]
            db.session.rollback()
            taken = db.session.get(CatalogSession, session_id).seats_taken  # type: ignore[union-attr]
            raise ApiProblem(
                409,
                "capacity-below-seats-taken",
                f"{taken} seats are taken; capacity cannot drop below that",
                errors={"capacity": [f"must be at least {taken}"]},
            )
    for key, value in changes.items():
        setattr(listing, key, value)
    listing.updated_at = utcnow()
    db.session.flush()
    if grew or changes.get("status") == "published":
        promote_waitlist(db.session, session_id, current_gateway())  # new seats go to the waitlist first
    db.session.commit()
    db.session.refresh(listing)
    return jsonify(listing.to_json())


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


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500)


@api_route(
    bp,
    "/sessions/<int:session_id>/cancel",
    "POST",
    "Cancel a session: every booking is cancelled, refunded in full and told",
    body=CancelBody,
    responses={200: "Cancelled", 403: "Not the owner", 404: "Not found", 409: "Not published"},
)
@jwt_required()
def cancel(session_id: int) -> Response:
    data = parse_body(CancelBody)
    try:
        listing = cancel_session(db.session, current_user(), session_id, data.reason, current_gateway())
    except BookingRefused as refused:
        db.session.rollback()
        raise ApiProblem(refused.status, refused.code, refused.detail) from None
    db.session.commit()
    return jsonify(listing.to_json())


@api_route(
    bp,
    "/sessions/<int:session_id>",
    "DELETE",
    "Delete a draft (published sessions are cancelled instead)",
    responses={204: "Deleted", 403: "Not the owner", 404: "Not found", 409: "Not a draft"},
)
@jwt_required()
def delete_draft(session_id: int) -> Response:
    listing = _owned_session(session_id)
    if listing.status != "draft":
        raise ApiProblem(409, "not-a-draft", f"Session {session_id} is {listing.status}; cancel it instead of deleting")
    db.session.delete(listing)
    db.session.commit()
    return Response(status=204)
