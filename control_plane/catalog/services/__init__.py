"""The catalog's use cases: sessions (``sessions``), bookings, the waitlist and cancellations
(``bookings``), the capacity guard (``capacity``), the seat store (``seat_store``), the refund
policy and ``CatalogRefused``."""

__all__: list[str] = []
