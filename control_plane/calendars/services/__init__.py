"""Calendar output (RFC 5545) and the private feed link."""

__all__: list[str] = []
