"""Server-rendered pages of the web UI (Jinja templates + plain ES modules, no build step).

Pages only read: every change goes through the JSON API from the browser, which holds the
JWT cookies (HttpOnly) and sends the readable CSRF cookie back as ``X-CSRF-TOKEN``. Templates
and static files live in the app's default folders (``control_plane/templates`` and
``control_plane/static``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, Response, g, redirect, render_template, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from control_plane.accounts.models import ROLES, User
from control_plane.problems import ApiProblem, problem_response

__all__ = ["bp", "page_blueprint"]

log = logging.getLogger(__name__)
bp = Blueprint("pages", __name__)

F = TypeVar("F", bound=Callable[..., Any])
_NO_VIEWER = object()
HOSTING_ROLES = ("creator", "facilitator")
SESSION_LIST_LIMIT = 200


# --- who is looking ---------------------------------------------------------------------


def viewer() -> User | None:
    """The logged-in user from the JWT cookies; an expired, revoked or invalid token is 'logged out'."""
    cached: object = g.get("_downbeat_viewer", _NO_VIEWER)
    if cached is not _NO_VIEWER:
        return cached if isinstance(cached, User) else None
    user: User | None = None
    try:
        verify_jwt_in_request(optional=True)
        if get_jwt_identity() is not None:
            from control_plane.accounts.tokens import current_user

            user = current_user()
    except Exception:  # any token problem means the visitor is not logged in
        user = None
    g._downbeat_viewer = user
    return user


def _safe_next(raw: str | None) -> str:
    """Only same-site paths: '/x' yes, '//evil.example' or 'https://…' no."""
    # Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil".
    safe = raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw
    if safe and all(ord(ch) >= 0x20 for ch in raw):  # type: ignore[union-attr]
        return raw  # type: ignore[return-value]
    return "/sessions"


def _here() -> str:
    path = request.full_path if request.query_string else request.path
    return path.rstrip("?")


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if viewer() is not None:
            return view(*args, **kwargs)
        if request.cookies.get("refresh_token_cookie") and request.cookies.get("csrf_refresh_token"):
            # The access token expired but a refresh token may still be good: let the browser
            # rotate it (it holds the CSRF cookie) and come back, or fall through to /login.
            return page("refreshing.html", title="Signing you in…", next_path=_here())
        return redirect(f"/login?next={quote(_here(), safe='/')}")

    return wrapper  # type: ignore[return-value]


def page(template: str, **context: Any) -> str:
    user = viewer()
    return render_template(
        template,
        user=user,
        can_host=bool(user and user.has_any_role(*HOSTING_ROLES)),
        **context,
    )


@bp.after_request
def _page_headers(response: Response) -> Response:
    # No inline scripts or styles anywhere, so the policy can forbid them. 'unsafe-eval' stays
    # allowed: browser-automation tools (Playwright's wait_for_function) evaluate strings.
    if response.mimetype == "text/html":
        host = request.host
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; style-src 'self'; "
            f"script-src 'self' 'unsafe-eval'; connect-src 'self' ws://{host} wss://{host}; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# --- pages ------------------------------------------------------------------------------


@bp.get("/")
def home() -> str:
    return page("home.html", title="Make music together")


@bp.get("/login")
def login() -> str:
    return page("login.html", title="Log in", next_path=_safe_next(request.args.get("next")))


@bp.get("/register")
def register() -> str:
    return page("register.html", title="Create an account", roles=ROLES, next_path=_safe_next(request.args.get("next")))


@bp.get("/sessions")
@login_required
def sessions() -> str:
    from control_plane.catalog.models import CatalogSession
    from control_plane.extensions import db

    user = viewer()
    assert user is not None
    stmt = (
        select(CatalogSession)
        .where(CatalogSession.status == "published")
        .order_by(CatalogSession.starts_at, CatalogSession.id)
        .limit(SESSION_LIST_LIMIT)
    )
    listings = [row.to_json() for row in db.session.scalars(stmt)]
    booked = _my_bookings(user, [int(str(item["id"])) for item in listings])
    return page(
        "sessions.html",
        title="Sessions",
        sessions=listings,
        booked=booked,
        filters={key: request.args.get(key, "")[:100] for key in ("q", "kind", "from", "to")},
    )


def _my_bookings(user: User, session_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The viewer's live booking (or waitlist place) per session, as the bookings API shows it."""
    from control_plane.catalog.bookings_api import booking_json
    from control_plane.catalog.models import Booking
    from control_plane.extensions import db

    if not session_ids:
        return {}
    rows = db.session.scalars(
        select(Booking)
        .where(Booking.user_id == user.id, Booking.session_id.in_(session_ids), Booking.status != "cancelled")
        .order_by(Booking.id)
    )
    return {row.session_id: booking_json(row) for row in rows}


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
    from control_plane.catalog.models import CatalogSession
    from control_plane.extensions import db

    user = viewer()
    assert user is not None
    listing = db.session.get(CatalogSession, session_id)
    if listing is None or (listing.status == "draft" and listing.owner_id != user.id):
        return page("404.html", title="Session not found"), 404
    booking = _my_bookings(user, [listing.id]).get(listing.id)
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
    from control_plane.catalog.bookings_api import booking_json
    from control_plane.catalog.models import Booking
    from control_plane.extensions import current_settings, db
    from control_plane.payments.api import own_payment

    payment = own_payment(ref)  # 404 unless it is the viewer's
    booking = db.session.get(Booking, payment.booking_id)
    assert booking is not None
    settings = current_settings()
    return page(
        "checkout.html",
        title="Checkout",
        ref=ref,
        payment=payment.to_json(),
        booking=booking_json(booking),
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


@bp.get("/calendar")
@login_required
def calendar() -> str:
    return page("calendar.html", title="My week")


@bp.get("/facilitator")
@login_required
def facilitator() -> str:
    return page("facilitator.html", title="Facilitator")


@bp.get("/rooms")
@login_required
def rooms() -> str:
    from control_plane.extensions import db
    from control_plane.rooms.models import Room, RoomMember

    user = viewer()
    assert user is not None
    stmt = (
        select(Room)
        .join(RoomMember, RoomMember.room_id == Room.id)
        .where(RoomMember.user_id == user.id)
        .order_by(RoomMember.joined_at.desc())
        .limit(20)
    )
    mine = [{"code": r.code, "name": r.name, "is_host": r.host_id == user.id} for r in db.session.scalars(stmt)]
    return page("rooms.html", title="Rooms", my_rooms=mine)


@bp.get("/rooms/<code>")
@login_required
def room(code: str) -> Any:
    from control_plane.rooms.api import find_room, room_snapshot
    from control_plane.rooms.permissions import may_stream

    try:
        found = find_room(code)
    except ApiProblem:
        return page("404.html", title="Room not found", room_code=code.strip().upper()[:32]), 404
    snapshot = room_snapshot(found)
    user = viewer()
    return page(
        "room.html",
        title=snapshot["name"],
        room=snapshot,
        is_host=bool(user and user.id == found.host_id),
        may_stream=bool(user and may_stream(found, user.id)),
    )


# --- errors -----------------------------------------------------------------------------


def _wants_problem() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/ws/")


@bp.app_errorhandler(404)
def _not_found(exc: HTTPException) -> Any:
    """A friendly page for unknown URLs; /api and /ws keep their problem+json answer."""
    if _wants_problem():
        return problem_response(ApiProblem(404, "not-found", exc.description or "Not Found", title="Not Found"))
    return page("404.html", title="Page not found"), 404


@bp.errorhandler(Exception)
def _page_error(exc: Exception) -> Any:
    """Errors raised by these page views: an HTML error page, never a stack trace."""
    if isinstance(exc, HTTPException):
        status = exc.code or 500
        if status == 404:
            return page("404.html", title="Page not found"), 404
        return page("error.html", title=exc.name, status=status, message=exc.description), status
    if isinstance(exc, ApiProblem):
        status = exc.status
        if status == 404:
            return page("404.html", title="Not found"), 404
        return page("error.html", title=exc.title, status=status, message=exc.detail), status
    log.exception("page %s failed", request.path)
    try:
        return page(
            "error.html",
            title="Something went wrong",
            status=500,
            message="Something went wrong on our side. Please try again in a moment.",
        ), 500
    except Exception:  # the template itself failed; plain text is all we can do
        return Response("Something went wrong on our side.", status=500, mimetype="text/plain")


def page_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint for another area's pages, with the same security headers (strict CSP, no
    inline scripts) and the same HTML error pages as these."""
    area = Blueprint(name, import_name)
    area.after_request(_page_headers)
    area.register_error_handler(Exception, _page_error)
    return area
