"""The portable seat store: ``services.bookings.book_seat`` through the ORM, on any database."""

from __future__ import annotations

from typing import Any

from control_plane.accounts.models import User
from control_plane.catalog.queries import booking_json
from control_plane.catalog.services.bookings import BookSeat, book_seat, refuse_unknown_user
from control_plane.kits.db.types import DB
from control_plane.kits.idempotency import Answer, KeyedRequest, run_once
from control_plane.payments.services.gateway import PaymentGateway

__all__ = ["OrmSeatStore"]


class OrmSeatStore:
    """Handles every case (paid seats, the waitlist, SQLite); commits before it answers."""

    def __init__(self, db: DB, gateway: PaymentGateway) -> None:
        self._db, self._gateway = db, gateway

    def book(self, user_id: int, command: BookSeat, keyed: KeyedRequest | None) -> Answer:
        def create() -> tuple[dict[str, Any], int]:
            user = self._db.get(User, user_id)
            if user is None:
                raise refuse_unknown_user()
            booking = book_seat(self._db, user, command, self._gateway)
            self._db.flush()
            return booking_json(self._db, booking), 201

        return run_once(self._db, user_id, keyed, create)
