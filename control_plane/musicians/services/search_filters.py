"""What a musician search asks for: the filters ``search.py`` runs, built from a search's query
string with the rules between fields (``near`` and ``radius_km``, the availability window, the
cursor of the sort), each refusal named on the field to fix; the keyset cursor and the words of
a text query."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from control_plane.musicians.schemas import DEFAULT_RADIUS_KM, SearchQuery
from control_plane.musicians.services.refusals import invalid_fields

__all__ = [
    "MAX_WINDOW",
    "SORTS",
    "BadCursor",
    "SearchFilters",
    "Sort",
    "decode_cursor",
    "encode_cursor",
    "search_filters",
    "text_terms",
]

Sort = Literal["rating", "distance", "rate", "name"]
SORTS: tuple[Sort, ...] = ("rating", "distance", "rate", "name")
MAX_TERMS = 8
_WORD = re.compile(r"[^\W_]+")
# The longest window anyone asks "free then?" about: a month, as far as a gig or a tour leg goes.
MAX_WINDOW = timedelta(days=31)


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


# --- from the query string ----------------------------------------------------------------


def search_filters(query: SearchQuery) -> SearchFilters:
    """The filters of ``query``; ``MusiciansRefused`` (422) naming every field at fault."""
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
        raise invalid_fields(errors)
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
