from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import create_engine, select

from contracts import BookingCreated, decode
from control_plane.kits.outbox.models import OutboxMessage
from control_plane.kits.outbox.relay import OutboxRelay
from tests.support.services import running_tansu


def test_doctor_reports_each_dependency(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "downbeat", "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "DOWNBEAT_DATA_DIR": str(tmp_path),
            "REDIS_URL": "redis://127.0.0.1:1/0",
        },
    )
    lines = result.stdout.splitlines()
    for name in ("python", "redis", "broker", "database", "chromium"):
        assert any(name in line for line in lines), result.stdout
    assert result.returncode == 1  # Redis at port 1 is down...
    assert "fix: start Redis or fix REDIS_URL" in result.stdout  # ...and the fix is printed


@pytest.fixture
def own_broker() -> Iterator[str]:
    """A broker of this test's own: its events must not reach the shared stack's consumers."""
    from downbeat.kafka import create_topics

    with running_tansu() as bootstrap:
        create_topics(bootstrap)
        yield bootstrap


def test_relay_publishes_committed_rows_in_order_and_marks_them(
    tmp_path: Path, database_url: str, own_broker: str
) -> None:
    broker = own_broker
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    engine = create_engine(database_url)
    from sqlalchemy.orm import Session

    from contracts import encode, topic_for
    from contracts.events import utc_now

    events = [
        BookingCreated(
            booking_id=i,
            session_id=900_000 + i,
            session_title="Relay",
            owner_id=1,
            attendee_id=2,
            attendee_name="Ana",
            seats=1,
            status="confirmed",
            starts_at=utc_now(),
        )
        for i in range(1, 6)
    ]
    with Session(engine) as session, session.begin():
        for event in events:
            topic, key = topic_for(event)
            session.add(
                OutboxMessage(
                    event_id=str(event.event_id), event_type=event.type, topic=topic, key=key, payload=encode(event)
                )
            )
    relay = OutboxRelay.from_url(database_url, broker)
    try:
        assert relay.relay_once() == 5
        assert relay.relay_once() == 0  # nothing left unsent
    finally:
        relay.close()
    with Session(engine) as session:
        assert all(row.sent_at is not None for row in session.scalars(select(OutboxMessage)))
    engine.dispose()

    import asyncio

    async def consume() -> set[str]:
        consumer = AIOKafkaConsumer(
            "booking.events",
            bootstrap_servers=broker,
            auto_offset_reset="earliest",
            group_id=None,
            enable_auto_commit=False,
        )
        await consumer.start()
        seen: set[str] = set()
        try:
            batches = await consumer.getmany(timeout_ms=5000)
            for records in batches.values():
                for record in records:
                    seen.add(str(decode(record.value).event_id))
        finally:
            await consumer.stop()
        return seen

    assert {str(e.event_id) for e in events} <= asyncio.run(consume())
