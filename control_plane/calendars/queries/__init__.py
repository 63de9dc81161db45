"""What a calendar shows: items of bookings, hosted sessions and engagements, and the feed."""

__all__: list[str] = []
