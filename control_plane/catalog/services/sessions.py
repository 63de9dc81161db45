"""Sessions and retreats as their hosts keep them: create, edit, delete a draft.

The rules: a published session must still lie ahead; a published session never goes back to
draft and a cancelled one never changes; the terms people booked on (time, zone, kind, price,
refund policy) change only while nobody holds a place; capacity never drops below the seats
taken (a conditional UPDATE, so a booking committed meanwhile cannot be squeezed out); new
seats go to the waitlist first. Cancelling is ``bookings.cancel_session`` (it refunds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, update

from control_plane.accounts.models import User
from control_plane.accounts.services.roles import HOSTING_ROLES, missing_role
from control_plane.catalog.models import Booking, CatalogSession
from control_plane.catalog.schemas import TERMS, SessionFields, SessionPatch
from control_plane.catalog.services.bookings import promote_waitlist
from control_plane.catalog.services.refusals import CatalogRefused
from control_plane.kits.db.types import DB
from control_plane.payments.services.gateway import PaymentGateway

__all__ = [
    "create_session",
    "delete_draft",
    "owned_session",
    "refuse_unless_host",
    "update_session",
    "visible_session",
]


def refuse_unless_host(user: User) -> None:
    """Only creators and facilitators host sessions (403 with the roles that would do)."""
    sentence = missing_role(user, HOSTING_ROLES, "publish sessions")
    if sentence is not None:
        raise CatalogRefused(403, "forbidden", sentence, title="Forbidden", required_roles=list(HOSTING_ROLES))


def visible_session(db: DB, viewer_id: int | None, session_id: int) -> CatalogSession:
    """The session as anyone may see it: another person's draft does not exist for them."""
    listing = db.get(CatalogSession, session_id)
    if listing is None or (listing.status == "draft" and viewer_id != listing.owner_id):
        raise CatalogRefused(404, "session-not-found", f"Session {session_id} does not exist")
    return listing


def owned_session(db: DB, user_id: int, session_id: int, *, private: bool = False) -> CatalogSession:
    """The caller's own session: 404 for another person's draft (no 403 to confirm it exists),
    403 for another person's public session. ``private``: what is asked is the owner's alone
    (who booked), so anyone else gets the same 404 as for a session that does not exist."""
    listing = visible_session(db, user_id, session_id)
    if listing.owner_id != user_id:
        if private:
            raise CatalogRefused(404, "session-not-found", f"Session {session_id} does not exist")
        raise CatalogRefused(403, "not-owner", "Only the session's owner may do this")
    return listing


def _refuse_past_start(starts_at: datetime, now: datetime) -> None:
    """A published session must still lie ahead: nobody could book one that has begun."""
    if starts_at <= now:
        raise _field_refusal(
            {"starts_at": ["must be in the future to publish"]}, "A session is published only before it starts"
        )


def _field_refusal(errors: dict[str, list[str]], detail: str | None = None) -> CatalogRefused:
    """The 422 every endpoint gives for invalid fields (the same shape as the HTTP kit's)."""
    detail = detail or f"Invalid fields: {', '.join(sorted(errors))}"
    return CatalogRefused(422, "validation-error", detail, title="Invalid request", errors=errors)


def create_session(db: DB, host: User, fields: SessionFields, now: datetime) -> CatalogSession:
    """Stage a new session (a draft, or published if it lies ahead); the caller commits."""
    refuse_unless_host(host)
    if fields.status == "published":
        _refuse_past_start(fields.starts_at, now)
    listing = CatalogSession(
        owner_id=host.id,
        title=fields.title,
        description=fields.description,
        kind=fields.kind,
        starts_at=fields.starts_at,
        ends_at=fields.ends_at,
        timezone=fields.timezone,
        capacity=fields.capacity,
        price_amount=fields.price.amount,
        price_currency=fields.price.currency,
        location=fields.location,
        status=fields.status,
        refund_full_hours=fields.refund_policy.full_until_hours,
        refund_partial_hours=fields.refund_policy.partial_until_hours,
        refund_partial_percent=fields.refund_policy.partial_percent,
    )
    db.add(listing)
    return listing


def update_session(
    db: DB, owner_id: int, session_id: int, patch: SessionPatch, gateway: PaymentGateway, now: datetime
) -> CatalogSession:
    """Apply an edit (any subset of the fields) and hand freed seats to the waitlist; the
    caller commits."""
    listing = owned_session(db, owner_id, session_id)
    changes: dict[str, Any] = patch.model_dump(exclude_none=True)
    if listing.status == "cancelled":
        raise CatalogRefused(409, "session-cancelled", f"Session {session_id} was cancelled; it cannot change any more")
    if changes.get("status") == "draft" and listing.status != "draft":
        raise CatalogRefused(
            409, "invalid-transition", "A published session cannot go back to draft; cancel it instead"
        )
    _check_terms(db, listing, patch, now)
    capacity = changes.pop("capacity", None)
    grew = capacity is not None and capacity > listing.capacity
    if capacity is not None:
        _resize(db, session_id, capacity)
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
    listing.updated_at = now
    db.flush()
    if grew or changes.get("status") == "published":
        promote_waitlist(db, session_id, gateway)  # new seats go to the waitlist first
    return listing


def _resize(db: DB, session_id: int, capacity: int) -> None:
    """Conditional, so a booking committed meanwhile cannot be squeezed out (CHECK would fail)."""
    sessions = CatalogSession.__table__
    resized = db.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.seats_taken <= capacity)
        .values(capacity=capacity)
    )
    if resized.rowcount != 1:  # type: ignore[attr-defined]
        db.rollback()
        taken = db.get(CatalogSession, session_id).seats_taken  # type: ignore[union-attr]
        raise CatalogRefused(
            409,
            "capacity-below-seats-taken",
            f"{taken} seats are taken; capacity cannot drop below that",
            errors={"capacity": [f"must be at least {taken}"]},
        )


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


def _check_terms(db: DB, listing: CatalogSession, patch: SessionPatch, now: datetime) -> None:
    """The edit leaves a coherent session, and the terms change only while nobody holds a place."""
    starts_at = patch.starts_at or listing.starts_at
    ends_at = patch.ends_at or listing.ends_at
    if ends_at <= starts_at:
        raise _field_refusal({"ends_at": ["must be after the start"]})
    going_public = patch.status == "published" and listing.status == "draft"
    if going_public or (listing.status == "published" and patch.starts_at is not None):
        _refuse_past_start(starts_at, now)
    # A field sent with the value it already has changes nothing (clients may send them all).
    current = _terms(listing)
    touched = [name for name in TERMS if getattr(patch, name) is not None and _term(patch, name) != current[name]]
    if touched and db.scalar(
        select(Booking.id).where(Booking.session_id == listing.id, Booking.status != "cancelled").limit(1)
    ):
        raise CatalogRefused(
            409,
            "session-has-bookings",
            f"People have booked on these terms; {', '.join(touched)} cannot change now. "
            "Cancel the session (everyone is refunded and told) and publish a new one instead.",
            errors={name: ["cannot change once people have booked"] for name in touched},
        )


def delete_draft(db: DB, owner_id: int, session_id: int) -> None:
    """Only a draft is deleted (nobody could book it); published sessions are cancelled instead."""
    listing = owned_session(db, owner_id, session_id)
    if listing.status != "draft":
        raise CatalogRefused(
            409, "not-a-draft", f"Session {session_id} is {listing.status}; cancel it instead of deleting"
        )
    db.delete(listing)
