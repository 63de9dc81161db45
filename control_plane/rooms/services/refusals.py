"""How the rooms area says no to an HTTP caller: one exception the routes turn into a
problem+json. (Socket commands are refused with ``services.rooms.CommandRefused``, which the
room socket sends back as an ``error`` message.)"""

from __future__ import annotations

__all__ = ["RoomsRefused"]


class RoomsRefused(Exception):
    """A rooms rule refused the request: ``status`` and ``code`` as the API answers them."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
