"""The rooms area's use cases: creating rooms and room commands (``rooms``), live-audio offers
(``streams``, through the media port in ``media``), tracks and their analysis (``tracks``,
``analysis``), the playback clock, permissions, presence, the socket messages they publish, and
how the area refuses (``refusals``)."""

__all__: list[str] = []
