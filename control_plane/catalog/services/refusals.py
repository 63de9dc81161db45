"""How the catalog says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["CatalogRefused"]


class CatalogRefused(Refused):
    """A catalog rule refused the command (a session or a booking)."""
