"""The rooms area's use cases: room commands (``rooms``), the playback clock, permissions,
presence, tracks and the socket messages they publish."""

__all__: list[str] = []
