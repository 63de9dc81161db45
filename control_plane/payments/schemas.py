"""Payments take no request body of their own yet: the seat payment routes and their bodies
are the catalog's (docs/ARCHITECTURE.md says why)."""

from __future__ import annotations

__all__: list[str] = []
