"""The catalog through the HTTP API: sessions, bookings, races, the hot path, waitlist, refunds."""
