"""From a search's query string to the filters ``search.py`` runs: the rules between fields
(``near`` and ``radius_km``, the availability window, the cursor of the sort), each refusal
named on the field to fix."""

from __future__ import annotations

from datetime import timedelta

from control_plane.musicians.schemas import DEFAULT_RADIUS_KM, SearchQuery
from control_plane.musicians.services.refusals import invalid_fields
from control_plane.musicians.services.search import SORTS, BadCursor, SearchFilters, decode_cursor, text_terms

__all__ = ["MAX_WINDOW", "search_filters"]

# The longest window anyone asks "free then?" about: a month, as far as a gig or a tour leg goes.
MAX_WINDOW = timedelta(days=31)


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
