"""The outbox relay: publishes committed event rows to Kafka, then marks them sent.

Delivery is at-least-once by design: a relay killed after publishing and before marking
publishes the same rows again on restart, and consumers deduplicate on ``event_id``.
Rows go out in id order, one batch at a time, with ``acks="all"``. On PostgreSQL several
relays may run for availability; an advisory lock lets one publish at a time, which keeps
per-key order. On SQLite run one.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session

from control_plane.kits.db.types import utcnow
from control_plane.kits.outbox.models import OutboxMessage
from downbeat.kafka import make_producer
from downbeat.sqlite import configure_sqlite

__all__ = ["OutboxRelay", "Publisher"]

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Sends every message and returns only once the broker acknowledged all of them."""

    def publish(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None: ...


class KafkaPublisher:
    def __init__(self, bootstrap: str) -> None:
        self._producer = make_producer(bootstrap, client_id="downbeat-relay", acks="all")

    def publish(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None:
        futures = [self._producer.send(topic, key=key, value=value) for topic, key, value in messages]
        self._producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=30)  # raises if the broker refused or timed out

    def close(self) -> None:
        self._producer.close(timeout=5)


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.1,
        failpoint: str = "",
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        # Fault injection for the crash tests: "after_publish" kills the process between
        # publishing a batch and marking it sent, the exact window at-least-once must cover.
        self._failpoint = failpoint
        self._stop = threading.Event()
        self.wake = threading.Event()  # set by WakeListener after a commit staged events
        self.healthy = True

    @classmethod
    def from_url(cls, database_url: str, bootstrap: str, **kwargs: object) -> OutboxRelay:
        engine = configure_sqlite(create_engine(database_url, pool_pre_ping=True))
        return cls(engine, KafkaPublisher(bootstrap), **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def close(self) -> None:
        close = getattr(self._publisher, "close", None)
        if close is not None:
            close()
        self._engine.dispose()

    def run_forever(self) -> None:
        backoff = self._poll_interval
        while not self._stop.is_set():
            try:
                sent = self.relay_once()
                self.healthy = True
                backoff = self._poll_interval
            except Exception:
                self.healthy = False
                log.exception("relay batch failed; retrying in %.1fs", backoff)
                sent = 0
                backoff = min(backoff * 2, 5.0)
                self._stop.wait(backoff)
                continue
            if sent < self._batch_size:
                self.wake.wait(self._poll_interval)
                self.wake.clear()

    def relay_once(self) -> int:
        """Publish one batch of unsent rows; return how many were sent."""
        locking = self._engine.dialect.name == "postgresql"
        with Session(self._engine) as session:
            with session.begin():
                stmt = (
                    select(OutboxMessage.id, OutboxMessage.topic, OutboxMessage.key, OutboxMessage.payload)
                    .where(OutboxMessage.sent_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self._batch_size)
                )
                if locking:
                    # One relay publishes at a time (others wait their turn), so per-key order
                    # holds across relays; SKIP LOCKED alone would let two batches interleave.
                    if not session.execute(text("SELECT pg_try_advisory_xact_lock(727002)")).scalar():
                        return 0
                    stmt = stmt.with_for_update(skip_locked=True)
                batch = [tuple(row) for row in session.execute(stmt)]
                if not batch:
                    return 0
                if locking:
                    # Rows stay locked against other relays until they are marked sent.
                    self._publish(batch)
                    self._mark_sent(session, batch)
                    return len(batch)
            # SQLite: never hold its single write lock while waiting on the broker.
            self._publish(batch)
            with session.begin():
                self._mark_sent(session, batch)
        return len(batch)

    def _publish(self, batch: list[tuple[object, ...]]) -> None:
        self._publisher.publish([(str(topic), bytes(key), bytes(payload)) for _, topic, key, payload in batch])  # type: ignore[call-overload]
        if self._failpoint == "after_publish":
            log.warning("failpoint after_publish: killing the relay before marking %d rows", len(batch))
            os.kill(os.getpid(), signal.SIGKILL)

    def _mark_sent(self, session: Session, batch: list[tuple[object, ...]]) -> None:
        ids = [row[0] for row in batch]
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(sent_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        )
        log.debug("relayed %d events", len(ids))
