"""Issue 20: a broker restart is harmless. The in-memory Tansu broker is SIGKILLed under a
running relay and started again on the same port, empty: the relay recovers by itself, the
topics exist again, and a consumer reading from the beginning sees every event, those
published before the crash (never consumed) included."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from kafka.admin import KafkaAdminClient
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session

from contracts import BookingCreated, decode, encode, topic_for
from contracts.events import utc_now
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.kits.outbox.relay import KafkaPublisher, OutboxRelay
from downbeat.kafka import create_topics, topics_on_broker
from downbeat.settings import load_topics
from tests.support.restartable_tansu import RestartableTansu, restartable_tansu

TOPIC = "booking.events"


@pytest.fixture
def broker() -> Iterator[RestartableTansu]:
    """A broker of this test's own (it gets killed); topics created like `downbeat up` does."""
    with restartable_tansu() as running:
        create_topics(running.bootstrap)
        yield running


def _stage(engine: Engine, count: int, first: int) -> list[str]:
    """Commit ``count`` booking events to the outbox (spread over sessions, so partitions)."""
    events = [
        BookingCreated(
            booking_id=first + i,
            session_id=first + i,
            session_title="Restart",
            owner_id=1,
            attendee_id=2,
            attendee_name="Ana",
            seats=1,
            status="confirmed",
            starts_at=utc_now(),
        )
        for i in range(count)
    ]
    with Session(engine) as session, session.begin():
        for event in events:
            topic, key = topic_for(event)
            session.add(
                OutboxMessage(
                    event_id=str(event.event_id), event_type=event.type, topic=topic, key=key, payload=encode(event)
                )
            )
    return [str(event.event_id) for event in events]


def _wait(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f}s: {what}")
        time.sleep(0.05)


def _unsent(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).where(OutboxMessage.sent_at.is_(None))) or 0)


def _partitions(bootstrap: str) -> dict[str, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        return {name: partitions for name, (_, partitions) in topics_on_broker(admin).items()}
    finally:
        admin.close()


def _consume_from_beginning(bootstrap: str, wanted: set[str], timeout: float) -> set[str]:
    """Every event id on the topic, read from offset 0, until ``wanted`` are all seen."""

    async def consume() -> set[str]:
        consumer = AIOKafkaConsumer(
            TOPIC,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )
        await consumer.start()
        seen: set[str] = set()
        try:
            deadline = time.monotonic() + timeout
            while not wanted <= seen and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    seen.update(str(decode(record.value).event_id) for record in records if record.value)
        finally:
            await consumer.stop()
        return seen

    return asyncio.run(consume())


@pytest.fixture
def refused_sockets_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """kafka-python (3.0.12) leaves the socket of a refused connection open for the garbage
    collector, which reports it (a ResourceWarning) whenever it runs, in whichever test. The
    relay's clients retry a dead broker here, so the socket is closed as the attempt fails."""
    from kafka.net.inet import KafkaNetSocket

    original = KafkaNetSocket.sock_connect

    async def sock_connect(self: KafkaNetSocket, net: Any, sock: socket.socket, *args: Any, **kwargs: Any) -> Any:
        try:
            return await original(self, net, sock, *args, **kwargs)
        except BaseException:
            sock.close()
            raise

    monkeypatch.setattr(KafkaNetSocket, "sock_connect", sock_connect)


@pytest.mark.usefixtures("refused_sockets_closed")
def test_relay_recovers_from_a_broker_that_restarted_empty(database_url: str, broker: RestartableTansu) -> None:
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    _crash_the_broker_under_a_running_relay(database_url, broker)


def _crash_the_broker_under_a_running_relay(database_url: str, broker: RestartableTansu) -> None:
    engine = create_engine(database_url)
    relay = OutboxRelay.from_url(
        database_url, broker.bootstrap, poll_interval=0.05, broker_check_interval=0.5, replay_window_s=3600
    )
    runner = threading.Thread(target=relay.run_forever, name="relay", daemon=True)
    runner.start()
    try:
        before = _stage(engine, 6, first=1)  # published, never consumed: lost with the broker's memory
        _wait("the first events are published", lambda: _unsent(engine) == 0, 15)

        broker.crash()
        during = _stage(engine, 4, first=100)  # staged while no broker answers
        time.sleep(1.0)  # `downbeat up` restarts a crashed child after 1 s; the relay tries meanwhile
        broker.start()  # same port, empty memory: no topics, no records, no producer ids
        after = _stage(engine, 4, first=200)

        _wait("the relay notices the broker lost its memory", lambda: relay.broker_resets >= 1, 20)
        _wait("every row is published again", lambda: _unsent(engine) == 0 and relay.healthy, 20)
        wanted = {t.name: t.partitions for t in load_topics()}
        assert _partitions(broker.bootstrap) == wanted  # every topic back, with its partitions

        everything = set(before) | set(during) | set(after)
        seen = _consume_from_beginning(broker.bootstrap, everything, timeout=15)
        assert set(before) <= seen, "events published before the crash were not published again"
        assert everything <= seen
        assert runner.is_alive()  # recovered by itself: the same relay, never restarted
        publisher = relay._publisher
        assert isinstance(publisher, KafkaPublisher) and publisher.producers_made >= 2
    finally:
        relay.stop()
        runner.join(15)
        relay.close()
        engine.dispose()
    assert not runner.is_alive()
