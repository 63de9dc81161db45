"""GET /api/musicians (search) and the availability questions about one musician:
"free between these two instants?" and "which slots are free in this range?".

Routes join the blueprint of ``musicians.api.common``. All three are public: a profile is meant to
be found, and they reveal only free or busy, never what a musician is booked for."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, jsonify

from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import refused_problem
from control_plane.kits.http.validation import parse_query
from control_plane.musicians.api.common import bp
from control_plane.musicians.schemas import CheckQuery, SearchQuery, SlotsQuery
from control_plane.musicians.services import free_time
from control_plane.musicians.services.refusals import MusiciansRefused
from control_plane.musicians.services.search import search_musicians
from control_plane.musicians.services.search_filters import search_filters

__all__: list[str] = []  # nothing to import: the routes join ``common.bp`` when this module loads


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
    try:
        filters = search_filters(parse_query(SearchQuery))
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    page = search_musicians(db.session, filters)
    db.session.rollback()  # read only: end the transaction (on SQLite it holds the write lock)
    return jsonify({"items": page.items, "next_cursor": page.next_cursor, "sort": filters.sort})


# --- one musician's availability ---------------------------------------------------------


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
    try:
        verdict = free_time.check_free(db.session, musician_id, query.starts_at, query.ends_at)
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    db.session.rollback()  # read only, as above
    return jsonify(
        {"free": verdict.free, "reason": verdict.reason, "detail": verdict.detail, "timezone": verdict.timezone}
    )


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
    try:
        found = free_time.list_free_slots(
            db.session, musician_id, query.range_from, query.range_to, timedelta(minutes=query.min_minutes)
        )
    except MusiciansRefused as refused:
        raise refused_problem(refused) from None
    db.session.rollback()
    return jsonify(
        {
            "timezone": found.timezone,
            "from": query.range_from.isoformat(),
            "to": query.range_to.isoformat(),
            "slots": [{"starts_at": start.isoformat(), "ends_at": end.isoformat()} for start, end in found.slots],
        }
    )
