"""The realtime kit: the Redis hub, the direct fan-out to sockets and the socket protocol."""

__all__: list[str] = []
