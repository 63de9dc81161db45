"""Payments have no read of their own yet: a seat payment is read with its booking
(``catalog.queries.payment_of``), since who may see it is the booking's owner."""

from __future__ import annotations

__all__: list[str] = []
