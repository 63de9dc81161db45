"""The musicians area's use cases: profiles and reviews, availability, projects and booking
requests, search."""

__all__: list[str] = []
