"""Distances on the Earth for "musicians near a point": pure functions, no database.

Search narrows by a bounding box first (a range on the indexed ``lat`` and ``lon`` columns
that contains the whole circle), then keeps what the exact great-circle distance
(haversine) puts inside the radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["EARTH_RADIUS_KM", "BoundingBox", "bounding_box", "haversine_km"]

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    d_phi = phi2 - phi1
    d_lambda = math.radians(lon2 - lon1)
    a = math.sin(d_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(d_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True)
class BoundingBox:
    """``lon_ranges`` holds one range, or two when the box crosses the antimeridian."""

    min_lat: float
    max_lat: float
    lon_ranges: tuple[tuple[float, float], ...]


def bounding_box(lat: float, lon: float, radius_km: float) -> BoundingBox:
    """The smallest lat/lon box that holds every point within ``radius_km`` of (lat, lon).

    Latitude spans ``radius / R`` radians either way. Longitude spans more the further from
    the equator; the widest point of the circle is at ``asin(sin(lat) / cos(d))``, not at
    ``lat`` itself, so use the exact half-width ``asin(sin(d) / cos(lat))``. Near a pole (the
    circle contains it) every longitude qualifies.
    """
    angular = radius_km / EARTH_RADIUS_KM
    min_lat, max_lat = lat - math.degrees(angular), lat + math.degrees(angular)
    if min_lat <= -90 or max_lat >= 90:
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), ((-180.0, 180.0),))
    ratio = math.sin(angular) / math.cos(math.radians(lat))
    if ratio >= 1:
        return BoundingBox(min_lat, max_lat, ((-180.0, 180.0),))
    half = math.degrees(math.asin(ratio))
    west, east = lon - half, lon + half
    if west < -180:
        return BoundingBox(min_lat, max_lat, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return BoundingBox(min_lat, max_lat, ((west, 180.0), (-180.0, east - 360)))
    return BoundingBox(min_lat, max_lat, ((west, east),))
