"""The `downbeat` command and the small runtime every process shares (settings, logging,
health endpoints, Kafka and embedded-service helpers)."""

__all__: list[str] = []
