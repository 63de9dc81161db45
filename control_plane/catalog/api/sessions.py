"""/api/sessions: publish, edit, cancel and delete sessions and retreats."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import jwt_required
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import or_, select, update

from control_plane.accounts.auth import current_user, ensure_roles
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.catalog.services.bookings import BookingRefused, cancel_session, promote_waitlist
from control_plane.kits.currencies import Currency
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import MAX_CURSOR, after, encode
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import (
    ONE_LINE,
    TEXT,
    FieldRuleError,
    Moment,
    ZoneName,
    field_problem,
    parse_body,
    parse_query,
)
from control_plane.payments.services.factory import current_gateway

__all__ = ["bp"]

bp = Blueprint("sessions", __name__, url_prefix="/api")

# One line of text: a title or place shows in lists, e-mails and calendar summaries.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE)]
Line = Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)]


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int = Field(ge=0, le=10_000_000, strict=True)
    currency: Currency


class RefundPolicyFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    full_until_hours: int = Field(default=48, ge=0, le=24 * 365, strict=True)
    partial_until_hours: int = Field(default=24, ge=0, le=24 * 365, strict=True)
    partial_percent: int = Field(default=50, ge=0, le=100, strict=True)

    @model_validator(mode="after")
    def _order(self) -> RefundPolicyFields:
        if self.partial_until_hours > self.full_until_hours:
            # Shown at the field the facilitator filled in (the model is the body's refund_policy).
            raise FieldRuleError(
                "refund_policy.partial_until_hours", "must not be more than the hours of the full refund"
            )
        return self


class SessionFields(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Title
    description: str = Field(default="", max_length=10_000, pattern=TEXT)
    kind: Literal["session", "retreat"] = "session"
    starts_at: Moment
    ends_at: Moment
    timezone: ZoneName = "UTC"
    capacity: int = Field(ge=1, le=100_000, strict=True)
    price: Price = Price(amount=0, currency="EUR")
    location: Line = ""
    status: Literal["draft", "published"] = "draft"
    refund_policy: RefundPolicyFields = RefundPolicyFields()

    @model_validator(mode="after")
    def _order(self) -> SessionFields:
        if self.ends_at <= self.starts_at:
            raise FieldRuleError("ends_at", "must be after the start")
        return self


class SessionPatch(BaseModel):
    """Any subset of the fields. Time, place of time (zone), kind, price and refund policy are
    the terms people booked on: they change only while nobody holds a place."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    description: str | None = Field(default=None, max_length=10_000, pattern=TEXT)
    capacity: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    location: Line | None = None
    status: Literal["draft", "published"] | None = None
    kind: Literal["session", "retreat"] | None = None
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    timezone: ZoneName | None = None
    price: Price | None = None
    refund_policy: RefundPolicyFields | None = None


TERMS = ("kind", "starts_at", "ends_at", "timezone", "price", "refund_policy")


class SessionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100)
    kind: Literal["session", "retreat"] | None = None
    status: Literal["draft", "published", "cancelled"] | None = None
    from_: Moment | None = Field(default=None, alias="from")
    to: Moment | None = None
    mine: bool = False
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=MAX_CURSOR)


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=100, ge=1, le=500)
    cursor: int | None = Field(default=None, ge=0, le=2**62, description="the next_cursor of the previous page")


def _owned_session(session_id: int) -> CatalogSession:
    listing = db.session.get(CatalogSession, session_id)
    mine = listing is not None and listing.owner_id == current_user().id
    if listing is None or (listing.status == "draft" and not mine):
        # Another person's draft does not exist for the caller (no 403 to confirm it does).
        raise ApiProblem(404, "session-not-found", f"Session {session_id} does not exist")
    if not mine:
        raise ApiProblem(403, "not-owner", "Only the session's owner may do this")
    return listing


def _refuse_past_start(starts_at: datetime) -> None:
    """A published session must still lie ahead: nobody could book one that has begun."""
    if starts_at <= utcnow():
        raise field_problem(
            {"starts_at": ["must be in the future to publish"]}, "A session is published only before it starts"
        )


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
    if data.status == "published":
        _refuse_past_start(data.starts_at)
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
    elif query.status == "draft":
        raise field_problem({"status": ["drafts are listed only with mine=true"]})
    else:
        # Cancelled sessions were public once, so anyone may list them; by default, published.
        stmt = stmt.where(CatalogSession.status == (query.status or "published"))
    if query.status and query.mine:
        stmt = stmt.where(CatalogSession.status == query.status)
    if query.kind:
        stmt = stmt.where(CatalogSession.kind == query.kind)
    if query.from_:
        stmt = stmt.where(CatalogSession.ends_at >= query.from_)
    if query.to:
        stmt = stmt.where(CatalogSession.starts_at <= query.to)
    if query.q:
        # The words are matched as typed: % and _ are not wildcards here.
        escaped = query.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"%{escaped}%"
        stmt = stmt.where(
            or_(CatalogSession.title.ilike(like, escape="\\"), CatalogSession.description.ilike(like, escape="\\"))
        )
    stmt = after(stmt, query.cursor, CatalogSession.starts_at, CatalogSession.id)
    rows = db.session.scalars(stmt.limit(query.limit + 1)).all()
    page = rows[: query.limit]
    next_cursor = encode(page[-1].starts_at, page[-1].id) if len(rows) > query.limit else None
    return jsonify({"items": [row.to_json() for row in page], "next_cursor": next_cursor})


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
    _check_terms(listing, data)
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
    price = changes.pop("price", None)
    if price is not None:
        listing.price_amount, listing.price_currency = price["amount"], price["currency"]
    policy = changes.pop("refund_policy", None)
    if policy is not None:
        listing.refund_full_hours = policy["full_until_hours"]
        listing.refund_partial_hours = policy["partial_until_hours"]
        listing.refund_partial_percent = policy["partial_percent"]
    for key, value in changes.items():
        setattr(listing, key, value)
    listing.updated_at = utcnow()
    db.session.flush()
    if grew or changes.get("status") == "published":
        promote_waitlist(db.session, session_id, current_gateway())  # new seats go to the waitlist first
    db.session.commit()
    db.session.refresh(listing)
    return jsonify(listing.to_json())


def _terms(listing: CatalogSession) -> dict[str, Any]:
    return {
        "kind": listing.kind,
        "starts_at": listing.starts_at,
        "ends_at": listing.ends_at,
        "timezone": listing.timezone,
        "price": {"amount": listing.price_amount, "currency": listing.price_currency},
        "refund_policy": {
            "full_until_hours": listing.refund_full_hours,
            "partial_until_hours": listing.refund_partial_hours,
            "partial_percent": listing.refund_partial_percent,
        },
    }


def _term(patch: SessionPatch, name: str) -> Any:
    value = getattr(patch, name)
    return value.model_dump() if isinstance(value, BaseModel) else value


def _check_terms(listing: CatalogSession, patch: SessionPatch) -> None:
    """The edit leaves a coherent session, and the terms change only while nobody holds a place."""
    starts_at = patch.starts_at or listing.starts_at
    ends_at = patch.ends_at or listing.ends_at
    if ends_at <= starts_at:
        raise field_problem({"ends_at": ["must be after the start"]})
    going_public = patch.status == "published" and listing.status == "draft"
    if going_public or (listing.status == "published" and patch.starts_at is not None):
        _refuse_past_start(starts_at)
    # A field sent with the value it already has changes nothing (clients may send them all).
    current = _terms(listing)
    touched = [name for name in TERMS if getattr(patch, name) is not None and _term(patch, name) != current[name]]
    if touched and db.session.scalar(
        select(Booking.id).where(Booking.session_id == listing.id, Booking.status != "cancelled").limit(1)
    ):
        raise ApiProblem(
            409,
            "session-has-bookings",
            f"People have booked on these terms; {', '.join(touched)} cannot change now. "
            "Cancel the session (everyone is refunded and told) and publish a new one instead.",
            errors={name: ["cannot change once people have booked"] for name in touched},
        )


@api_route(
    bp,
    "/sessions/<int:session_id>/bookings",
    "GET",
    "Who booked (owner only), in booking order",
    query=PageQuery,
    responses={200: "OK", 403: "Not the owner", 404: "Not found"},
)
@jwt_required()
def session_bookings(session_id: int) -> Response:
    query = parse_query(PageQuery)
    listing = _owned_session(session_id)
    stmt = select(Booking).where(Booking.session_id == listing.id, Booking.id > (query.cursor or 0))
    rows = db.session.scalars(stmt.order_by(Booking.id).limit(query.limit + 1)).all()
    page = rows[: query.limit]
    items = [{**b.to_json(), "user": {"id": b.user.id, "name": b.user.name}} for b in page]
    return jsonify({"items": items, "next_cursor": str(page[-1].id) if len(rows) > query.limit else None})


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=500, pattern=TEXT)


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
