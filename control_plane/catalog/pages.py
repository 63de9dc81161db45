"""Pages of the catalog: the session list and a session, the viewer's bookings, the
facilitator's dashboard, and the simulated provider's hosted checkout of a seat.

They only read; every change goes through the JSON API from the browser.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import redirect, request

from control_plane.accounts.auth import login_required, viewer
from control_plane.catalog.models import CatalogSession
from control_plane.catalog.queries import booking_json, live_bookings_of, payment_of, published_sessions
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.pages import page, page_blueprint

__all__ = ["bp", "checkout_path"]

bp = page_blueprint("catalog_pages", __name__)

SESSION_LIST_LIMIT = 200


@bp.get("/sessions")
@login_required
def sessions() -> str:
    user = viewer()
    assert user is not None
    listings = published_sessions(db.session, SESSION_LIST_LIMIT)
    booked = live_bookings_of(db.session, user.id, [int(str(item["id"])) for item in listings])
    return page(
        "sessions.html",
        title="Sessions",
        sessions=listings,
        booked=booked,
        filters={key: request.args.get(key, "")[:100] for key in ("q", "kind", "from", "to")},
    )


def checkout_ref(booking: dict[str, Any] | None) -> str | None:
    """The provider reference of a booking's pending payment (from its ``checkout_url``)."""
    payment = (booking or {}).get("payment") or {}
    url = payment.get("checkout_url") or ""
    return url.rsplit("/", 1)[-1] or None


@bp.app_template_global("checkout_path")
def checkout_path(booking: dict[str, Any] | None) -> str | None:
    ref = checkout_ref(booking)
    return f"/checkout/{quote(ref, safe='')}" if ref else None


@bp.get("/sessions/<int:session_id>")
@login_required
def session_detail(session_id: int) -> Any:
    user = viewer()
    assert user is not None
    listing = db.session.get(CatalogSession, session_id)
    if listing is None or (listing.status == "draft" and listing.owner_id != user.id):
        return page("404.html", title="Session not found"), 404
    booking = live_bookings_of(db.session, user.id, [listing.id]).get(listing.id)
    return page(
        "session.html",
        title=listing.title,
        s=listing.to_json(),
        booking=booking,
        is_owner=listing.owner_id == user.id,
    )


@bp.get("/checkout/<ref>")
@login_required
def checkout(ref: str) -> Any:
    """The simulated payment provider's hosted checkout page."""
    user = viewer()
    assert user is not None
    found = payment_of(db.session, ref, user.id)
    if found is None:  # a stranger's payment is no payment at all
        return page("404.html", title="Not found"), 404
    payment, booking = found
    settings = current_settings()
    return page(
        "checkout.html",
        title="Checkout",
        ref=ref,
        payment=payment.to_json(),
        booking=booking_json(db.session, booking),
        hold_minutes=settings.bookings.payment_hold_minutes,
    )


@bp.get("/pay/<ref>")
def pay(ref: str) -> Any:
    """The payment API's ``checkout_url``: the hosted checkout lives at /checkout/<ref>."""
    return redirect(f"/checkout/{quote(ref, safe='')}")


@bp.get("/bookings")
@login_required
def bookings() -> str:
    when = "past" if request.args.get("when") == "past" else "upcoming"
    return page("bookings.html", title="My bookings", when=when)


@bp.get("/facilitator")
@login_required
def facilitator() -> str:
    return page("facilitator.html", title="Facilitator")
