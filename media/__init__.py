"""WebRTC audio ingest (aiortc) in its own asyncio process."""

__all__: list[str] = []
