"""Musician search: runs the statement (``search_statement.py``) for the filters
(``search_filters.py``) and shapes the page.

Without an availability window one query reads ``limit + 1`` rows. With one, the weekly
windows and exceptions, which live in each musician's own time zone, are checked in Python
(``availability.why_unavailable``) while reading rows in sort order; reading stops after
``SCAN_BUDGET`` candidates: such a page may be short, and its ``next_cursor`` continues the
scan. On SQLite, text that matches more than ``COMMON_TERMS`` profiles lets the sort index drive.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from control_plane.musicians.models import MusicianInstrument
from control_plane.musicians.queries import portfolio_links
from control_plane.musicians.services.availability import Availability, why_unavailable
from control_plane.musicians.services.search_filters import SearchFilters, encode_cursor
from control_plane.musicians.services.search_statement import count_capped, statement

__all__ = ["COMMON_TERMS", "SCAN_BUDGET", "SearchPage", "search_musicians"]

DbSession = Session | scoped_session[Any]
SCAN_BUDGET = 2000  # candidates a window search checks for one page at most
COMMON_TERMS = 1000  # matches above which the sort index drives a text search (SQLite)


@dataclass
class SearchPage:
    items: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None
    scanned: int = 0


# --- running it --------------------------------------------------------------------------


def search_musicians(db: DbSession, filters: SearchFilters) -> SearchPage:
    dialect = db.get_bind().dialect.name
    if filters.terms and dialect == "sqlite":
        # With near, the bounding box drives whatever the words; otherwise count first.
        common = filters.near is not None or count_capped(db, filters.terms, COMMON_TERMS + 1) > COMMON_TERMS
        filters = replace(filters, common_terms=common)
    stmt, _distance_col, _key = statement(filters, dialect)
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
        stmt, _distance_col, _key = statement(_with_cursor(filters, cursor), dialect)
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
