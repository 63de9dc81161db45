"""Kafka glue shared by the processes: topic creation and the producer settings.

kafka-python is used for producing and admin only; consumers use aiokafka through faust
(kafka-python consumer groups join unreliably on Tansu).
"""

from __future__ import annotations

import logging
import socket
import time

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from downbeat.settings import TopicConfig, load_topics

__all__ = ["broker_reachable", "create_topics", "make_producer", "topics_on_broker", "wait_for_broker"]

log = logging.getLogger(__name__)


def broker_reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """A cheap readiness probe: can we open a TCP connection to the first bootstrap server?"""
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not broker_reachable(bootstrap):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Kafka broker at {bootstrap} did not answer within {timeout:.0f}s")
        time.sleep(0.2)


def create_topics(bootstrap: str, topics: list[TopicConfig] | None = None) -> list[str]:
    """Create every topic from configs/topics.toml that does not exist yet; return the new ones."""
    topics = load_topics() if topics is None else topics
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="downbeat-topics", request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [
            NewTopic(t.name, t.partitions, 1, topic_configs={"retention.ms": str(t.retention_ms)})
            for t in topics
            if t.name not in existing
        ]
        created: list[str] = []
        for topic in wanted:
            try:
                admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass  # another process won the race; that is fine
        return created
    finally:
        admin.close()


def topics_on_broker(admin: KafkaAdminClient) -> dict[str, tuple[str, int]]:
    """Every topic the broker has now: its id and partition count, by name.

    A topic's id changes when it is created again, so comparing ids tells a broker that
    lost its memory (and had its topics recreated by someone) from one that kept them.
    """
    found: dict[str, tuple[str, int]] = {}
    for topic in admin.describe_topics():
        if topic.get("error_code", 0) == 0:
            found[str(topic["name"])] = (str(topic.get("topic_id") or ""), len(topic.get("partitions") or []))
    return found


def make_producer(bootstrap: str, *, client_id: str, acks: str | int = "all") -> KafkaProducer:
    """A producer that waits for the full ISR (``acks="all"``) by default.

    kafka-python (3.x) makes it idempotent by default, and Tansu 0.6.0 accepts the handshake.
    A broker that restarted without its memory then no longer knows the producer id, and the
    producer fails for good (``InitProducerIdResponse``: unknown error): its owner must close
    it and make a new one (the outbox relay does). A send waits at most ``max_block_ms`` for
    metadata, so a missing topic fails the batch instead of stalling it for a minute.
    """
    try:
        return KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            acks=acks,
            retries=5,
            linger_ms=0,
            max_in_flight_requests_per_connection=1,  # keeps per-key order across retries
            request_timeout_ms=10000,
            max_block_ms=10000,
            reconnect_backoff_max_ms=2000,  # a broker back from a restart is found within 2 s
        )
    except KafkaError:
        log.exception("cannot create Kafka producer for %s", bootstrap)
        raise
