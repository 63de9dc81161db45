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

__all__ = ["broker_reachable", "create_topics", "make_producer", "wait_for_broker"]

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


def make_producer(bootstrap: str, *, client_id: str, acks: str | int = "all") -> KafkaProducer:
    """A producer that waits for the full ISR (``acks="all"``) by default.

    Idempotence is left off on purpose: Tansu 0.6 rejects the idempotent producer handshake.
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
        )
    except KafkaError:
        log.exception("cannot create Kafka producer for %s", bootstrap)
        raise
