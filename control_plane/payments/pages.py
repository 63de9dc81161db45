"""Payments have no pages of their own yet: the simulated provider's hosted checkout of a seat
is ``catalog.pages``."""

from __future__ import annotations

__all__: list[str] = []
