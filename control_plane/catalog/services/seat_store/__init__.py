"""The seat store: booking seats behind one interface, with two implementations side by side.

- ``OrmSeatStore`` (every database, every case): the rules of ``services.bookings`` through the
  ORM, under ``kits.idempotency.run_once``, about nine round trips.
- ``PostgresSeatStore`` (PostgreSQL, the common case): a free seat in a free, published,
  future session in two statements on a pooled connection in autocommit mode, so there is no
  ``BEGIN`` and no ``COMMIT`` round trip and no ORM at all (``postgres.py`` says how). It
  declines (returns None) whatever it does not handle, and the caller asks the ORM store.

Both answer with a ``kits.idempotency.Answer`` (a JSON body and its status, or a replayed
first answer), never a ``Response``, and refuse with the same exceptions: ``CatalogRefused``,
``IdempotencyRefused`` and ``TokenNotLive``. The capacity guard (``capacity.TAKE_SEATS``),
the outbox row (``kits.outbox.writer.outbox_row``) and the idempotency key row
(``kits.idempotency.key_row``) are each written once and used by both.
"""

from __future__ import annotations

from typing import Protocol

from control_plane.catalog.services.bookings import BookSeat
from control_plane.catalog.services.seat_store.orm import OrmSeatStore
from control_plane.catalog.services.seat_store.postgres import PostgresSeatStore, TokenNotLive
from control_plane.kits.idempotency import Answer, KeyedRequest

__all__ = ["OrmSeatStore", "PostgresSeatStore", "SeatStore", "TokenNotLive"]


class SeatStore(Protocol):
    def book(self, user_id: int, command: BookSeat, keyed: KeyedRequest | None) -> Answer | None:
        """Book (committed) or replay; None when this store leaves the case to another."""
        ...
