"""Musician search: filters, full text, distance, availability, keyset pagination.

One SQL statement does almost all of it, shaped so every filter can use an index:

- ``instrument`` / ``genre``: ``user_id IN (SELECT user_id FROM musician_instruments WHERE
  key = ?)`` on the indexed one-row-per-value tables.
- ``q``: full text in the database. SQLite: ``user_id IN (SELECT rowid FROM musician_fts
  WHERE musician_fts MATCH '"word"* ...')`` (FTS5). PostgreSQL: ``search_vector @@
  to_tsquery('simple', 'word:* & ...')`` (generated tsvector column, GIN index). Every word
  must match, as a prefix, in the name, instruments, genres, city or bio.
- ``near`` + ``radius_km``: first ``lat BETWEEN .. AND lon BETWEEN ..`` (the bounding box, on
  the (lat, lon) index), then the exact haversine distance in SQL, which also feeds
  ``distance_km`` and ``sort=distance``.
- ``available_from`` / ``available_to``: SQL keeps musicians who have availability and no
  accepted engagement overlapping the window (``NOT EXISTS`` on the engagement index); the
  weekly windows and exceptions, which live in each musician's own time zone, are then
  checked in Python (``availability.why_unavailable``) while reading rows in sort order.
  Reading stops after ``SCAN_BUDGET`` candidates: such a page may be short, and its
  ``next_cursor`` continues the scan.
- Sorting is keyset pagination over ``(sort key, user_id)``, unique and indexed: the cursor
  carries the last key and id, so pages never skip or repeat rows when others change.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

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
from control_plane.musicians.queries import portfolio_links
from control_plane.musicians.services.availability import Availability, why_unavailable
from control_plane.musicians.services.geo import EARTH_RADIUS_KM, bounding_box
from control_plane.musicians.services.week_index import query_span

__all__ = [
    "SCAN_BUDGET",
    "SORTS",
    "BadCursor",
    "SearchFilters",
    "SearchPage",
    "decode_cursor",
    "encode_cursor",
    "fts_match_expression",
    "search_musicians",
    "text_terms",
]

DbSession = Session | scoped_session[Any]
Sort = Literal["rating", "distance", "rate", "name"]
SORTS: tuple[Sort, ...] = ("rating", "distance", "rate", "name")
SCAN_BUDGET = 2000
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")

P = MusicianProfile.__table__.c
U = User.__table__.c
A = MusicianAvailability.__table__.c
W = MusicianWeekWindow.__table__.c


class BadCursor(ValueError):
    """The cursor is not one this search handed out (or belongs to another sort)."""


@dataclass(frozen=True)
class SearchFilters:
    instrument: str | None = None
    genre: str | None = None
    near: tuple[float, float] | None = None
    radius_km: float | None = None
    max_rate: int | None = None
    currency: str | None = None
    per: str | None = None
    available: tuple[datetime, datetime] | None = None
    terms: tuple[str, ...] = ()
    common_terms: bool = False  # set by search_musicians on SQLite: the words match many rows
    sort: Sort = "rating"
    limit: int = 20
    cursor: tuple[Any, int] | None = None


@dataclass
class SearchPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    scanned: int = 0


# --- cursors and text --------------------------------------------------------------------


def encode_cursor(sort: Sort, key: Any, user_id: int) -> str:
    raw = json.dumps([sort, key, user_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(sort: Sort, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        kind, key, user_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise BadCursor("is not a cursor from this search") from None
    if kind != sort:
        raise BadCursor(f"belongs to sort={kind}; start again without a cursor to sort by {sort}")
    key_ok = isinstance(key, str) if sort == "name" else isinstance(key, int | float) and not isinstance(key, bool)
    if not (key_ok and isinstance(user_id, int) and not isinstance(user_id, bool)):
        raise BadCursor("is not a cursor from this search")
    in_range = 0 < user_id < 2**63 and (
        len(key) <= 200 if isinstance(key, str) else math.isfinite(key) and abs(key) < 2**63
    )
    if not in_range:
        raise BadCursor("is not a cursor from this search")
    return key, user_id


def text_terms(q: str) -> tuple[str, ...]:
    """Words (letters and digits) of a free-text query, lowercased, at most ``MAX_TERMS``."""
    return tuple(dict.fromkeys(word.casefold() for word in _WORD.findall(q)))[:MAX_TERMS]


# --- the statement -----------------------------------------------------------------------


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


def _count_capped(db: DbSession, terms: tuple[str, ...], cap: int) -> int:
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


def _statement(filters: SearchFilters, dialect: str) -> tuple[Any, ColumnElement[Any] | None, ColumnElement[Any]]:
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


# --- running it --------------------------------------------------------------------------


COMMON_TERMS = 1000  # matches above which the sort index drives a text search (SQLite)


def search_musicians(db: DbSession, filters: SearchFilters) -> SearchPage:
    dialect = db.get_bind().dialect.name
    if filters.terms and dialect == "sqlite":
        # With near, the bounding box drives whatever the words; otherwise count first.
        common = filters.near is not None or _count_capped(db, filters.terms, COMMON_TERMS + 1) > COMMON_TERMS
        filters = replace(filters, common_terms=common)
    stmt, _distance_col, _key = _statement(filters, dialect)
    page = SearchPage()
    kept: list[Any]
    if filters.available is None:
        rows = db.execute(stmt.limit(filters.limit + 1)).all()
        page.scanned = len(rows)
        kept = list(rows[: filters.limit])
        if len(rows) > filters.limit:
            page.next_cursor = _cursor_after(filters, kept[-1])
    else:
        scan = _scan_available(db, filters, dialect)
        kept, page.scanned, page.next_cursor = scan.rows, scan.scanned, scan.next_cursor
    instruments = _instruments_of(db, [row.user_id for row in kept])
    page.items = [_item(row, instruments.get(row.user_id, []), filters.near is not None) for row in kept]
    return page


@dataclass
class _Scan:
    rows: list[Any]
    next_cursor: str | None
    scanned: int


def _scan_available(db: DbSession, filters: SearchFilters, dialect: str) -> _Scan:
    """Read candidates in sort order until ``limit`` fit the window, the rows run out, or the
    budget is spent. One row past ``limit`` is looked for, so ``next_cursor`` is null at the
    end of the results rather than on an empty page."""
    assert filters.available is not None
    starts_at, ends_at = filters.available
    batch = max(50, filters.limit * 4)
    fits: list[Any] = []
    scanned = 0
    cursor = filters.cursor
    while True:
        stmt, _distance_col, _key = _statement(_with_cursor(filters, cursor), dialect)
        rows = db.execute(stmt.limit(batch)).all()
        for row in rows:
            scanned += 1
            cursor = _cursor_key(filters, row)
            if why_unavailable(_availability_of(row), starts_at, ends_at) is None:
                fits.append(row)
                if len(fits) > filters.limit:
                    kept = fits[: filters.limit]
                    return _Scan(kept, _cursor_after(filters, kept[-1]), scanned)
            if scanned >= SCAN_BUDGET:
                # Out of budget: continue from the last row read, not the last row kept.
                return _Scan(fits, encode_cursor(filters.sort, *cursor), scanned)
        if len(rows) < batch:
            return _Scan(fits, None, scanned)


def _with_cursor(filters: SearchFilters, cursor: tuple[Any, int] | None) -> SearchFilters:
    return replace(filters, cursor=cursor)


def _cursor_key(filters: SearchFilters, row: Any) -> tuple[Any, int]:
    if filters.sort == "distance":
        return float(row.distance_km), int(row.user_id)
    if filters.sort == "rate":
        return int(row.rate_sort), int(row.user_id)
    if filters.sort == "name":
        return str(row.display_name), int(row.user_id)
    return float(row.rating_rank), int(row.user_id)


def _cursor_after(filters: SearchFilters, row: Any) -> str:
    return encode_cursor(filters.sort, *_cursor_key(filters, row))


def _instruments_of(db: DbSession, user_ids: list[int]) -> dict[int, list[str]]:
    if not user_ids:
        return {}
    found: dict[int, list[str]] = {}
    rows = db.execute(
        select(MusicianInstrument.user_id, MusicianInstrument.name)
        .where(MusicianInstrument.user_id.in_(user_ids))
        .order_by(MusicianInstrument.user_id, MusicianInstrument.position)
    )
    for user_id, name in rows:
        found.setdefault(user_id, []).append(name)
    return found


def _item(row: Any, instruments: list[str], with_distance: bool) -> dict[str, Any]:
    rate = None
    if row.rate_amount is not None:
        rate = {"amount": row.rate_amount, "currency": row.rate_currency, "per": row.rate_per}
    links = _json_list(row.links)
    item: dict[str, Any] = {
        "id": row.user_id,
        "user_id": row.user_id,
        "name": row.name,
        "instruments": instruments,
        "genres": _json_list(row.genres),
        "bio": row.bio,
        "location": {"city": row.city, "lat": row.lat, "lon": row.lon},
        "rate": rate,
        "links": links,
        "portfolio": portfolio_links(links),
        "photo_url": row.photo_url,
        "rating_avg": round(row.rating_sum / row.rating_count, 2) if row.rating_count else None,
        "rating_count": row.rating_count,
        "timezone": row.account_timezone,
        "updated_at": _iso(row.updated_at),
    }
    if with_distance:
        item["distance_km"] = round(float(row.distance_km), 3)
    return item


def _json_list(value: Any) -> list[Any]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return str(value)


# --- availability of candidates, parsed once per version ---------------------------------


class _AvailabilityCache:
    """Parsed availability per (musician, version): rows repeat across searches, parsing
    their JSON every time would dominate a window search. Bounded, thread-safe."""

    def __init__(self, size: int = 50_000) -> None:
        self._items: OrderedDict[tuple[int, str, str], Availability] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, row: Any) -> Availability:
        zone = row.availability_timezone or row.account_timezone or "UTC"
        key = (int(row.user_id), str(row.availability_at), zone)
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
        parsed = Availability.from_json(zone, _json_list(row.weekly), _json_list(row.exceptions))
        with self._lock:
            self._items[key] = parsed
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return parsed


_CACHE = _AvailabilityCache()


def _availability_of(row: Any) -> Availability:
    return _CACHE.get(row)
