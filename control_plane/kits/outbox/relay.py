"""The outbox relay: publishes committed event rows to Kafka, then marks them sent.

Delivery is at-least-once by design: a relay killed after publishing and before marking
publishes the same rows again on restart, and consumers deduplicate on ``event_id``.
Rows go out in id order, one batch at a time, with ``acks="all"``. On PostgreSQL several
relays may run for availability; an advisory lock lets one publish at a time, which keeps
per-key order. On SQLite run one.

A broker restart costs nothing but time. A producer that failed a batch is closed and a new
one retries it (kafka-python's idempotent producer fails for good once a restarted broker
forgets its producer id). A broker that lost its memory (``broker_watch``: topics missing or
created again, offsets going back) gets its topics created again, and the rows sent within
``replay_window_s`` are marked unsent, so the relay publishes them again in id order.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from kafka import KafkaProducer
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.orm import Session

from control_plane.kits.db.types import utcnow
from control_plane.kits.outbox.broker_watch import BrokerForgot, BrokerWatch, OffsetTracker
from control_plane.kits.outbox.models import OutboxMessage
from downbeat.kafka import make_producer
from downbeat.sqlite import configure_sqlite

__all__ = ["KafkaPublisher", "OutboxRelay", "Publisher"]

log = logging.getLogger(__name__)


class Publisher(Protocol):
    """Sends every message and returns only once the broker acknowledged all of them."""

    def publish(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None: ...


class KafkaPublisher:
    """Publishes with one producer until a batch fails; the next batch gets a new producer.

    Raises ``BrokerForgot`` (after the broker acknowledged the batch) when an offset went
    back: the broker lost its log, and what was published before may be gone.
    """

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: KafkaProducer | None = None
        self._offsets = OffsetTracker()
        self.producers_made = 0

    def publish(self, messages: Sequence[tuple[str, bytes, bytes]]) -> None:
        if self._producer is None:
            self._producer = make_producer(self._bootstrap, client_id="downbeat-relay", acks="all")
            self.producers_made += 1
        producer = self._producer
        try:
            futures = [producer.send(topic, key=key, value=value) for topic, key, value in messages]
            producer.flush(timeout=30)
            acks = [future.get(timeout=30) for future in futures]  # raises if the broker refused or timed out
        except Exception:
            # The error may be fatal for this producer (a restarted broker forgot its producer
            # id): never reuse it. The relay retries the batch with a new one after a backoff.
            self._discard()
            raise
        self._offsets.acknowledged((ack.topic, ack.partition, ack.offset) for ack in acks)

    def broker_forgot(self) -> None:
        """The broker lost its memory: offsets start over, and a new producer introduces itself."""
        self._offsets.forget()
        self._discard()

    def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=2)
            except Exception:
                log.debug("closing a failed producer failed", exc_info=True)

    def close(self) -> None:
        self._discard()


class OutboxRelay:
    def __init__(
        self,
        engine: Engine,
        publisher: Publisher,
        *,
        batch_size: int = 200,
        poll_interval: float = 0.1,
        failpoint: str = "",
        replay_window_s: float = 86400.0,
        watch: BrokerWatch | None = None,
        broker_check_interval: float = 2.0,
    ) -> None:
        self._engine = engine
        self._publisher = publisher
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        # Fault injection for the crash tests: "after_publish" kills the process between
        # publishing a batch and marking it sent, the exact window at-least-once must cover.
        self._failpoint = failpoint
        # After the broker lost its memory, rows sent this recently are published again.
        self._replay_window = timedelta(seconds=replay_window_s)
        self._watch = watch
        self._check_interval = broker_check_interval
        self._next_check = 0.0  # monotonic time of the next broker check; 0: at once
        self._forgot = False  # the broker lost its memory and the replay is not marked yet
        self.broker_resets = 0  # times the broker was found to have lost its memory
        self._stop = threading.Event()
        self.wake = threading.Event()  # set by WakeListener after a commit staged events
        self.healthy = True

    @classmethod
    def from_url(cls, database_url: str, bootstrap: str, **kwargs: object) -> OutboxRelay:
        engine = configure_sqlite(create_engine(database_url, pool_pre_ping=True))
        return cls(engine, KafkaPublisher(bootstrap), watch=BrokerWatch(bootstrap), **kwargs)  # type: ignore[arg-type]

    def stop(self) -> None:
        self._stop.set()
        self.wake.set()

    def close(self) -> None:
        close = getattr(self._publisher, "close", None)
        if close is not None:
            close()
        if self._watch is not None:
            self._watch.close()
        self._engine.dispose()

    def run_forever(self) -> None:
        backoff = self._poll_interval
        while not self._stop.is_set():
            try:
                self.check_broker()
                sent = self.relay_once()
                self.healthy = True
                backoff = self._poll_interval
            except BrokerForgot as exc:
                log.warning("the broker lost its memory (%s)", exc)
                self.healthy = False
                self._forgot = True  # acted on by check_broker, first thing in the next round
                continue
            except Exception:
                self.healthy = False
                self._next_check = 0.0  # before retrying: is it the same broker, are the topics there?
                log.exception("relay batch failed; retrying in %.1fs", backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            if sent < self._batch_size:
                self.wake.wait(self._poll_interval)
                self.wake.clear()

    def check_broker(self) -> None:
        """Every ``broker_check_interval`` (at once after a failed batch): if the broker lost its
        memory, create its topics again and publish the replay window again. A broker that
        cannot be asked is asked again before the next batch; the batch itself is still tried.
        Raises if the replay cannot be marked (database down); it is tried again next round."""
        if self._watch is not None and (self._forgot or time.monotonic() >= self._next_check):
            try:
                if self._watch.check():
                    self._forgot = True
                self._next_check = time.monotonic() + self._check_interval
            except Exception as exc:
                log.warning("could not check the broker's topics: %s", exc)
        if self._forgot:
            forget = getattr(self._publisher, "broker_forgot", None)
            if forget is not None:
                forget()
            replayed = self.replay_window()
            self._forgot = False
            self.broker_resets += 1
            log.warning("the broker lost its memory: publishing again %d events sent lately", replayed)

    def _cutoff(self) -> datetime:
        return utcnow() - self._replay_window

    def replay_window(self) -> int:
        """Mark unsent the rows sent within the replay window; return how many. The relay then
        publishes them again in id order, before and among newer rows, under the same lock."""
        with Session(self._engine) as session, session.begin():
            if self._engine.dialect.name == "postgresql":
                # Waits for a batch another relay is publishing, so none is marked sent after this.
                session.execute(text("SELECT pg_advisory_xact_lock(727002)"))
            result = session.execute(
                update(OutboxMessage).where(OutboxMessage.sent_at >= self._cutoff()).values(sent_at=None)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]

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
