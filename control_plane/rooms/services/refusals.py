"""How the rooms area says no to an HTTP caller: one exception the routes turn into a
problem+json. (Socket commands are refused with ``services.rooms.CommandRefused``, which the
room socket sends back as an ``error`` message.)"""

from __future__ import annotations

from control_plane.kits.refusals import Refused

__all__ = ["RoomsRefused"]


class RoomsRefused(Refused):
    """A rooms rule refused the request."""
