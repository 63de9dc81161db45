"""The HTTP kit: problems, validation, pagination, OpenAPI, the page kit, the request gate,
health endpoints and the Idempotency-Key header."""

__all__: list[str] = []
