"""Calendars store nothing of their own: items are read from bookings, sessions and
engagements (``queries``); the feed's secret token is a column of the user (``accounts.models``)."""

from __future__ import annotations

__all__: list[str] = []
