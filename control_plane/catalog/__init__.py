"""The catalog area: sessions and retreats, seat bookings, the waitlist, refunds and seat payments."""

__all__: list[str] = []
