"""faust stream workers: live audio analysis and the visual fan-out."""

__all__: list[str] = []
