"""The notification service process consumes ``message.events`` from a real broker (Tansu):
a MessagePosted produced there becomes a stored notification and a live copy on Redis."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from contracts import MessagePosted, encode
from contracts.channels import user_channel
from contracts.messages import Recipient
from contracts.topics import MESSAGE_EVENTS
from downbeat.kafka import create_topics, make_producer
from tests.support.services import running_tansu
from tests.support.stack import Stack

ANA, BEN = 41, 42


@pytest.fixture
def notifications(tmp_path: Path, redis_url: str) -> Iterator[Stack]:
    """The notification service alone, on a broker of its own: a shared one may hold the
    stack's notification service in the same consumer group, which could take the event."""
    with running_tansu() as bootstrap:
        create_topics(bootstrap)
        stack = Stack(data_dir=tmp_path, bootstrap=bootstrap, redis_url=redis_url)
        stack.start("notifications")
        try:
            stack.wait_ready("notifications", timeout=60)
            yield stack
        finally:
            stack.stop_all()


def _stored(stack: Stack, user_id: int) -> list[tuple[str, str]]:
    path = stack.data_dir / "notifications.db"
    if not path.exists():
        return []
    with sqlite3.connect(path, timeout=30) as conn:
        rows = conn.execute("SELECT kind, data FROM notifications WHERE user_id = ?", (user_id,)).fetchall()
    return [(str(kind), str(data)) for kind, data in rows]


def test_a_message_posted_on_the_broker_is_stored_and_relayed(notifications: Stack, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    listener = client.pubsub()
    listener.subscribe(user_channel(ANA))
    assert listener.get_message(timeout=2) is not None  # subscribed
    event = MessagePosted(
        conversation_id=70,
        conversation_kind="direct",
        conversation_title="Ana Silva",
        message_id=700,
        sender_id=ANA,
        sender_name="Ana Silva",
        members=[ANA, BEN],
        message={"id": 700, "conversation_id": 70, "body": "soundcheck at 6?"},
        excerpt="soundcheck at 6?",
        recipients=[Recipient(user_id=BEN)],
    )
    producer = make_producer(notifications.bootstrap, client_id="message-events-test")
    try:
        producer.send(MESSAGE_EVENTS, key=event.partition_key, value=encode(event))
        producer.flush(30)
    finally:
        producer.close(10)

    deadline = time.monotonic() + 30
    while not (stored := _stored(notifications, BEN)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(stored) == 1, notifications.tail("notifications")
    kind, data = stored[0]
    assert kind == "message.received" and json.loads(data)["url"] == "/messages/70"

    copy = None
    while copy is None and time.monotonic() < deadline:
        item = listener.get_message(timeout=0.5)
        if item is not None and item["type"] == "message":
            copy = json.loads(item["data"])
    assert copy == {"type": "message", "message": event.message, "redelivered": True}
    listener.close()
    client.close()
