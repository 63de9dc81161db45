"""GET /api/musicians (search) and the availability questions about one musician:
"free between these two instants?" and "which slots are free in this range?".

Routes join the blueprint of ``musicians.api.common``. All three are public: a profile is meant to
be found, and they reveal only free or busy, never what a musician is booked for."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from flask import Response, jsonify
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from control_plane.accounts.models import User
from control_plane.kits.currencies import Currency
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import Moment, field_problem, parse_query
from control_plane.musicians.api.common import bp
from control_plane.musicians.models import BookingRequest, MusicianProfile
from control_plane.musicians.services.availability import Availability, free_slots, why_unavailable
from control_plane.musicians.services.requests import musician_availability
from control_plane.musicians.services.search import (
    SORTS,
    BadCursor,
    SearchFilters,
    decode_cursor,
    search_musicians,
    text_terms,
)

__all__ = ["DEFAULT_RADIUS_KM", "MAX_WINDOW"]

DEFAULT_RADIUS_KM = 50.0
MAX_WINDOW = timedelta(days=31)
MAX_SLOT_RANGE = timedelta(days=62)


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument: str | None = Field(default=None, max_length=60)
    genre: str | None = Field(default=None, max_length=60)
    near: str | None = Field(default=None, max_length=60, description='"lat,lon" in WGS84 degrees')
    radius_km: float | None = Field(
        default=None, gt=0, le=20_000, description=f"with near; default {DEFAULT_RADIUS_KM:g}"
    )
    max_rate: int | None = Field(default=None, ge=0, le=100_000_000, description="minor units, the musician's currency")
    currency: Currency | None = Field(default=None, description="only rates in this currency")
    per: Literal["hour", "session"] | None = None
    available_from: Moment | None = None
    available_to: Moment | None = None
    q: str | None = Field(default=None, max_length=100, description="words matched as prefixes in name, bio, genres")
    sort: Literal["rating", "distance", "rate", "name"] | None = Field(
        default=None, description="default: distance with near, otherwise rating"
    )
    limit: int = Field(default=20, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=500)


def _parse_near(raw: str, errors: dict[str, list[str]]) -> tuple[float, float] | None:
    lat_text, sep, lon_text = raw.partition(",")
    try:
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        lat = lon = float("nan")
    if not sep or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        errors.setdefault("near", []).append('must be "lat,lon" with -90..90 and -180..180, e.g. near=52.52,13.40')
        return None
    return lat, lon


def _filters(query: SearchQuery) -> SearchFilters:
    """Cross-field rules, each reported on the field to fix."""
    errors: dict[str, list[str]] = {}
    near = _parse_near(query.near, errors) if query.near is not None else None
    if query.radius_km is not None and query.near is None:
        errors.setdefault("radius_km", []).append("needs near=lat,lon")
    sort = query.sort or ("distance" if query.near is not None else "rating")
    if sort == "distance" and query.near is None:
        errors.setdefault("sort", []).append("sort=distance needs near=lat,lon")
    available = None
    if (query.available_from is None) != (query.available_to is None):
        missing = "available_to" if query.available_to is None else "available_from"
        errors.setdefault(missing, []).append("give available_from and available_to together")
    elif query.available_from is not None and query.available_to is not None:
        if query.available_to <= query.available_from:
            errors.setdefault("available_to", []).append("must be after available_from")
        elif query.available_to - query.available_from > MAX_WINDOW:
            errors.setdefault("available_to", []).append(f"the window may span {MAX_WINDOW.days} days at most")
        else:
            available = (query.available_from, query.available_to)
    terms: tuple[str, ...] = ()
    if query.q is not None and query.q.strip():
        terms = text_terms(query.q)
        if not terms:
            errors.setdefault("q", []).append("needs at least one letter or digit")
    cursor = None
    if query.cursor and sort in SORTS:
        try:
            cursor = decode_cursor(sort, query.cursor)
        except BadCursor as exc:
            errors.setdefault("cursor", []).append(str(exc))
    if errors:
        raise field_problem(errors)
    return SearchFilters(
        instrument=(query.instrument or "").strip() or None,
        genre=(query.genre or "").strip() or None,
        near=near,
        radius_km=(query.radius_km or DEFAULT_RADIUS_KM) if near else None,
        max_rate=query.max_rate,
        currency=query.currency,
        per=query.per,
        available=available,
        terms=terms,
        sort=sort,
        limit=query.limit,
        cursor=cursor,
    )


@api_route(
    bp,
    "/musicians",
    "GET",
    "Search musicians: instrument, genre, near+radius_km, max_rate, availability window, q; "
    "sort=rating|distance|rate|name; keyset cursor",
    query=SearchQuery,
    responses={200: "{items, next_cursor}; items carry distance_km when near is given", 422: "Invalid parameters"},
    auth=False,
)
def search() -> Response:
    filters = _filters(parse_query(SearchQuery))
    page = search_musicians(db.session, filters)
    db.session.rollback()  # read only: end the transaction (on SQLite it holds the write lock)
    return jsonify({"items": page.items, "next_cursor": page.next_cursor, "sort": filters.sort})


# --- one musician's availability ---------------------------------------------------------


class CheckQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: Moment
    ends_at: Moment


class SlotsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    range_from: Moment = Field(alias="from")
    range_to: Moment = Field(alias="to")
    min_minutes: int = Field(default=0, ge=0, le=24 * 60)


def _musician(musician_id: int) -> User:
    user = db.session.get(User, musician_id)
    if user is None or not user.has_any_role("musician") or db.session.get(MusicianProfile, musician_id) is None:
        raise ApiProblem(404, "musician-not-found", f"Musician {musician_id} has no profile")
    return user


def _range_errors(start: datetime, end: datetime, longest: timedelta, end_field: str) -> None:
    if end <= start:
        raise field_problem({end_field: ["must be after the start"]})
    if end - start > longest:
        raise field_problem({end_field: [f"the range may span {longest.days} days at most"]})


def _engagements(musician_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    rows = db.session.execute(
        select(BookingRequest.starts_at, BookingRequest.ends_at).where(
            BookingRequest.musician_id == musician_id,
            BookingRequest.status == "accepted",
            BookingRequest.starts_at < end,
            BookingRequest.ends_at > start,
        )
    ).all()
    return [(row.starts_at, row.ends_at) for row in rows]


def _zone(availability: Availability | None, user: User) -> str:
    return availability.timezone if availability else user.timezone


@api_route(
    bp,
    "/musicians/<int:musician_id>/availability/check",
    "GET",
    "Is the musician free for the whole of [starts_at, ends_at)? (availability and engagements)",
    query=CheckQuery,
    responses={200: "{free, reason, detail}", 404: "No such musician profile", 422: "Invalid parameters"},
    auth=False,
)
def check_free(musician_id: int) -> Response:
    query = parse_query(CheckQuery)
    _range_errors(query.starts_at, query.ends_at, MAX_WINDOW, "ends_at")
    user = _musician(musician_id)
    availability = musician_availability(db.session, user)
    verdict = why_unavailable(availability, query.starts_at, query.ends_at)
    body: dict[str, Any] = {"free": True, "reason": None, "detail": None, "timezone": _zone(availability, user)}
    if verdict is not None:
        body.update(free=False, reason=verdict.reason, detail=f"{user.name} {verdict.detail}")
    elif _engagements(musician_id, query.starts_at, query.ends_at):
        body.update(free=False, reason="overlapping-engagement", detail=f"{user.name} is already booked then")
    db.session.rollback()
    return jsonify(body)


@api_route(
    bp,
    "/musicians/<int:musician_id>/availability/slots",
    "GET",
    "Free slots in [from, to): weekly windows and exceptions minus accepted engagements",
    query=SlotsQuery,
    responses={200: "{timezone, slots: [{starts_at, ends_at}]}", 404: "No such musician profile", 422: "Invalid"},
    auth=False,
)
def list_free_slots(musician_id: int) -> Response:
    query = parse_query(SlotsQuery)
    _range_errors(query.range_from, query.range_to, MAX_SLOT_RANGE, "to")
    user = _musician(musician_id)
    availability = musician_availability(db.session, user)
    busy = _engagements(musician_id, query.range_from, query.range_to)
    slots = free_slots(availability, busy, query.range_from, query.range_to, timedelta(minutes=query.min_minutes))
    db.session.rollback()
    return jsonify(
        {
            "timezone": _zone(availability, user),
            "from": query.range_from.isoformat(),
            "to": query.range_to.isoformat(),
            "slots": [{"starts_at": start.isoformat(), "ends_at": end.isoformat()} for start, end in slots],
        }
    )
