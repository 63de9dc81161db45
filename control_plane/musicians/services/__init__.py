"""The musicians area's use cases: profiles and reviews, availability, projects and booking
requests (their state machine and double-booking guard), search, and who may do each (roles)."""

__all__: list[str] = []
