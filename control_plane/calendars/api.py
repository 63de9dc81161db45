"""Private iCalendar feed (secret URL, revocable), the week view's data and one booking as .ics."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify
from flask_jwt_extended import jwt_required

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.calendars.queries.feed import feed_owner, items_for
from control_plane.calendars.queries.items import booking_item
from control_plane.calendars.schemas import WeekOutOfRange, WeekQuery
from control_plane.calendars.services.feed_link import revoke_feed_token, rotate_feed_token
from control_plane.calendars.services.ics import ics_filename, render_calendar
from control_plane.catalog.models import Booking
from control_plane.kits.db.types import utcnow
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import field_problem, parse_query

__all__ = ["BLUEPRINTS", "bp", "feed_bp"]

bp = Blueprint("calendar", __name__, url_prefix="/api")
feed_bp = Blueprint("calendar_feed", __name__)


def _feed_url(user: User) -> str | None:
    if not user.calendar_token:
        return None
    settings = current_settings()
    return f"{settings.public_url}/calendar/{user.calendar_token}.ics"


@api_route(bp, "/calendar", "GET", "The caller's private feed URL (null when revoked)")
@jwt_required()
def feed_url() -> Response:
    return jsonify({"feed_url": _feed_url(current_user())})


@api_route(bp, "/calendar/rotate", "POST", "Create a new private feed URL; the old one stops working")
@jwt_required()
def rotate() -> Response:
    user = current_user()
    rotate_feed_token(db.session, user)
    db.session.commit()
    return jsonify({"feed_url": _feed_url(user)})


@api_route(bp, "/calendar", "DELETE", "Revoke the private feed URL", responses={204: "Revoked"})
@jwt_required()
def revoke() -> Response:
    revoke_feed_token(db.session, current_user())
    db.session.commit()
    return Response(status=204)


@api_route(
    bp, "/calendar/week", "GET", "Confirmed bookings, hosted sessions and engagements of one week", query=WeekQuery
)
@jwt_required()
def week() -> Response:
    try:
        start, end = parse_query(WeekQuery).window
    except WeekOutOfRange as refused:
        raise field_problem(refused.errors, refused.detail) from None
    items = items_for(db.session, current_user().id, start, end)
    return jsonify(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "items": [
                {
                    "uid": i.uid,
                    "title": i.title,
                    "starts_at": i.starts_at.isoformat(),
                    "ends_at": i.ends_at.isoformat(),
                    "timezone": i.timezone,
                    "location": i.location,
                    "kind": i.kind,
                    "url": i.url,
                }
                for i in items
            ],
        }
    )


@feed_bp.get("/calendar/<token>.ics")
def feed(token: str) -> Response:
    """Public by design: the unguessable token is the credential (as in Google Calendar)."""
    user = feed_owner(db.session, token)
    if user is None:
        raise ApiProblem(404, "calendar-not-found", "This calendar link was revoked or never existed")
    since = utcnow() - timedelta(days=90)
    body = render_calendar(items_for(db.session, user.id, since), name=f"Downbeat: {user.name}", stamp=utcnow())
    return Response(body, mimetype="text/calendar", headers={"Cache-Control": "private, max-age=300"})


@api_route(
    bp,
    "/bookings/<int:booking_id>.ics",
    "GET",
    "The booking as an iCalendar file",
    responses={200: "text/calendar", 404: "Not found"},
)
@jwt_required()
def booking_ics(booking_id: int) -> Response:
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.user_id != current_user().id:
        raise ApiProblem(404, "booking-not-found", f"Booking {booking_id} is not yours or does not exist")
    listing = booking.session
    body = render_calendar([booking_item(booking)], name=listing.title)
    filename = ics_filename(listing.title, listing.starts_at.astimezone(ZoneInfo(listing.timezone)))
    return Response(
        body, mimetype="text/calendar", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


BLUEPRINTS: tuple[Blueprint, ...] = (bp, feed_bp)
