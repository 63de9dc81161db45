"""The transactional outbox: the table, staging events in the caller's transaction, the relay
that publishes them after commit, and its wake-up."""

__all__: list[str] = []
