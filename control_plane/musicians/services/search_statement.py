"""The one SQL statement of a musician search, shaped so every filter can use an index:

- ``instrument`` / ``genre``: a correlated ``EXISTS`` on the ``(user_id, key)`` primary key of
  the one-row-per-value tables.
- ``q``: full text in the database. SQLite: ``user_id IN (SELECT rowid FROM musician_fts
  WHERE musician_fts MATCH '"word"* ...')`` (FTS5). PostgreSQL: ``search_vector @@
  to_tsquery('simple', 'word:* & ...')`` (generated tsvector column, GIN index). Every word
  must match, as a prefix, in the name, instruments, genres, city or bio.
- ``near`` + ``radius_km``: first ``lat BETWEEN .. AND lon BETWEEN ..`` (the bounding box, on
  the (lat, lon) index), then the exact haversine distance in SQL, which also feeds
  ``distance_km`` and ``sort=distance``.
- ``available_from`` / ``available_to``: musicians who have availability whose coarse UTC week
  picture may cover the window and no accepted engagement overlapping it (``NOT EXISTS`` on
  the engagement index); the exact check is ``search.py``'s.
- Sorting is keyset pagination over ``(sort key, user_id)``, unique and indexed: the cursor
  carries the last key and id, so pages never skip or repeat rows when others change.
"""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import ColumnElement, and_, bindparam, exists, func, literal_column, or_, select, text, tuple_
from sqlalchemy.orm import Session, scoped_session

from control_plane.accounts.models import User
from control_plane.musicians.models import (
    BookingRequest,
    MusicianAvailability,
    MusicianGenre,
    MusicianInstrument,
    MusicianProfile,
    MusicianWeekWindow,
)
from control_plane.musicians.services.geo import EARTH_RADIUS_KM, bounding_box
from control_plane.musicians.services.search_filters import SearchFilters
from control_plane.musicians.services.week_index import query_span

__all__ = ["count_capped", "fts_match_expression", "statement"]

DbSession = Session | scoped_session[Any]

P = MusicianProfile.__table__.c
U = User.__table__.c
A = MusicianAvailability.__table__.c
W = MusicianWeekWindow.__table__.c


def _distance(lat: float, lon: float, dialect: str) -> ColumnElement[float]:
    """Haversine in SQL; the point's own trigonometry is computed here once."""
    half_dlat = func.radians(P.lat - lat) / 2
    half_dlon = func.radians(P.lon - lon) / 2
    a = func.power(func.sin(half_dlat), 2) + math.cos(math.radians(lat)) * func.cos(func.radians(P.lat)) * func.power(
        func.sin(half_dlon), 2
    )
    clamp = func.least if dialect == "postgresql" else func.min  # rounding can pass 1.0
    return 2 * EARTH_RADIUS_KM * func.asin(func.sqrt(clamp(1.0, a)))


def fts_match_expression(terms: tuple[str, ...]) -> str:
    return " ".join(f'"{term}"*' for term in terms)


def _text_match(terms: tuple[str, ...], dialect: str, common: bool) -> ColumnElement[bool]:
    if dialect == "postgresql":
        query = " & ".join(f"{term}:*" for term in terms)
        return literal_column("musician_profiles.search_vector").op("@@")(
            func.to_tsquery(literal_column("'simple'"), bindparam("tsquery", query))
        )
    fts = text("SELECT rowid FROM musician_fts WHERE musician_fts MATCH :fts_match").bindparams(
        fts_match=fts_match_expression(terms)
    )
    # Few matches: let the FTS result drive (look up each match, sort them). Many matches
    # ("studio"): ``user_id + 0`` keeps SQLite from driving by the list, so it walks the sort
    # index and checks membership in the materialised list, stopping after LIMIT rows.
    driver = (P.user_id + 0) if common else P.user_id
    matched: ColumnElement[bool] = driver.in_(fts.columns(literal_column("rowid")))
    return matched


def count_capped(db: DbSession, terms: tuple[str, ...], cap: int) -> int:
    """How many profiles match, counting no further than ``cap`` (SQLite FTS5)."""
    stmt = text("SELECT count(*) FROM (SELECT 1 FROM musician_fts WHERE musician_fts MATCH :m LIMIT :cap)")
    return int(db.execute(stmt, {"m": fts_match_expression(terms), "cap": cap}).scalar_one())


def _sort_key(filters: SearchFilters, distance: ColumnElement[float] | None) -> tuple[ColumnElement[Any], bool]:
    """The sort column and whether it runs descending (then ids run descending too)."""
    if filters.sort == "distance":
        assert distance is not None
        return distance, False
    if filters.sort == "rate":
        return P.rate_sort, False
    if filters.sort == "name":
        return P.display_name, False
    return P.rating_rank, True


def statement(filters: SearchFilters, dialect: str) -> tuple[Any, ColumnElement[Any] | None, ColumnElement[Any]]:
    """The search's statement in sort order (the caller adds LIMIT), its distance column when
    ``near`` is given, and its sort key."""
    distance = _distance(*filters.near, dialect).label("distance_km") if filters.near else None
    columns: list[Any] = [P.user_id, U.name, U.timezone.label("account_timezone"), *_PROFILE_COLUMNS]
    if distance is not None:
        columns.append(distance)
    stmt = select(*columns).select_from(MusicianProfile.__table__.join(User.__table__, U.id == P.user_id))
    conditions: list[ColumnElement[bool]] = []
    # Correlated EXISTS, not IN: SQLite then walks the sort order's (or the bounding box's)
    # index and probes the (user_id, key) primary key per row, stopping after LIMIT rows;
    # with IN it collected every player of the instrument and sorted them all (50-100x
    # slower at 100,000 profiles). PostgreSQL plans both forms as the same semi-join.
    if filters.instrument:
        plays = MusicianInstrument.__table__.c
        conditions.append(exists().where(plays.user_id == P.user_id, plays.key == filters.instrument.casefold()))
    if filters.genre:
        likes = MusicianGenre.__table__.c
        conditions.append(exists().where(likes.user_id == P.user_id, likes.key == filters.genre.casefold()))
    if filters.terms:
        conditions.append(_text_match(filters.terms, dialect, filters.common_terms))
    if filters.max_rate is not None:
        conditions.append(P.rate_amount <= filters.max_rate)
    if filters.currency:  # a profile without a rate keeps the default currency: not a match
        conditions += [P.rate_currency == filters.currency, P.rate_amount.is_not(None)]
    if filters.per:
        conditions += [P.rate_per == filters.per, P.rate_amount.is_not(None)]
    if filters.near is not None:
        assert distance is not None and filters.radius_km is not None
        box = bounding_box(*filters.near, filters.radius_km)
        lon_ok = or_(*(P.lon.between(west, east) for west, east in box.lon_ranges))
        conditions += [P.lat.between(box.min_lat, box.max_lat), lon_ok, distance <= filters.radius_km]
    if filters.available is not None:
        starts_at, ends_at = filters.available
        stmt = stmt.join(MusicianAvailability.__table__, A.user_id == P.user_id).add_columns(
            A.timezone.label("availability_timezone"), A.weekly, A.exceptions, A.updated_at.label("availability_at")
        )
        span = query_span(starts_at, ends_at)
        if span is not None:
            # Coarse and index-backed (a superset of who fits); the exact check runs later.
            # Rows missing or computed in another zone than the current one: check exactly.
            fits_week = exists().where(W.user_id == P.user_id, W.start_w <= span[0], W.end_w >= span[1])
            stale = or_(A.indexed_zone.is_(None), A.indexed_zone != func.coalesce(A.timezone, U.timezone))
            conditions.append(or_(fits_week, A.has_open_dates, stale))
        booked = exists().where(
            BookingRequest.musician_id == P.user_id,
            BookingRequest.status == "accepted",
            BookingRequest.starts_at < ends_at,
            BookingRequest.ends_at > starts_at,
        )
        conditions.append(~booked)
    key, descending = _sort_key(filters, distance)
    if filters.cursor is not None:
        after = tuple_(key, P.user_id)
        last = tuple_(bindparam("cursor_key", filters.cursor[0]), bindparam("cursor_id", filters.cursor[1]))
        conditions.append(after < last if descending else after > last)
    stmt = stmt.where(and_(*conditions)) if conditions else stmt
    order = (key.desc(), P.user_id.desc()) if descending else (key.asc(), P.user_id.asc())
    return stmt.order_by(*order), distance, key


_PROFILE_COLUMNS = (
    P.display_name,
    P.genres,
    P.bio,
    P.city,
    P.lat,
    P.lon,
    P.rate_amount,
    P.rate_currency,
    P.rate_per,
    P.rate_sort,
    P.links,
    P.photo_url,
    P.rating_count,
    P.rating_sum,
    P.rating_rank,
    P.updated_at,
)
