"""Noticing a broker that lost its memory, so the relay can publish again what it may have lost.

The embedded Tansu broker keeps everything in memory: restarted (by `downbeat up` after a
crash), it comes back with no topics, no records and no producer ids. Three signs tell it:

- a topic from configs/topics.toml is missing (the watch creates it again, same partitions);
- a topic's id changed (someone else created it again first);
- the broker acknowledged a record at an offset at or below one it acknowledged earlier in
  the same partition (``OffsetTracker``): offsets only grow on a broker that kept its log.

The relay then publishes again the outbox rows sent within its replay window.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from kafka.admin import KafkaAdminClient

from downbeat.kafka import create_topics, topics_on_broker
from downbeat.settings import TopicConfig, load_topics

__all__ = ["BrokerForgot", "BrokerWatch", "OffsetTracker"]

log = logging.getLogger(__name__)


class BrokerForgot(Exception):
    """The broker acknowledged records at offsets it had already used: it lost its log."""


class OffsetTracker:
    """The highest offset the broker acknowledged per partition, in this process's lifetime."""

    def __init__(self) -> None:
        self._high: dict[tuple[str, int], int] = {}

    def acknowledged(self, acks: Iterable[tuple[str, int, int]]) -> None:
        """Note ``(topic, partition, offset)`` acks; raise ``BrokerForgot`` if one went back."""
        went_back: list[str] = []
        for topic, partition, offset in acks:
            last = self._high.get((topic, partition))
            if last is not None and offset <= last:
                went_back.append(f"{topic}[{partition}] {offset} <= {last}")
            if last is None or offset > last:
                self._high[(topic, partition)] = offset
        if went_back:
            raise BrokerForgot("offsets went back: " + ", ".join(went_back[:3]))

    def forget(self) -> None:
        """A new log starts (after a broker that forgot): offsets start over."""
        self._high.clear()


class BrokerWatch:
    """Compares the broker's topics with configs/topics.toml and with what it saw last time."""

    def __init__(self, bootstrap: str, topics: list[TopicConfig] | None = None) -> None:
        self._bootstrap = bootstrap
        self._topics = load_topics() if topics is None else topics
        self._admin: KafkaAdminClient | None = None
        self._ids: dict[str, str] = {}  # topic id by name, as last seen

    def check(self) -> bool:
        """True when the broker lost its memory since the last check (or, on the first check,
        has none of what was there before: a topic is missing). Missing topics are created
        again. Raises when the broker cannot be asked; the caller checks again later."""
        try:
            present = topics_on_broker(self._connect())
        except Exception:
            self.close()  # a fresh client next time: no reconnect backoff left from the outage
            raise
        missing = [t for t in self._topics if t.name not in present]
        if missing:
            created = create_topics(self._bootstrap, missing)
            log.warning("broker lacks topics %s; created %s", [t.name for t in missing], created)
            present = topics_on_broker(self._connect())
        changed = [name for name, (topic_id, _) in present.items() if self._ids.get(name, topic_id) != topic_id]
        if changed:
            log.warning("topics %s were created again on the broker", changed)
        self._ids = {name: topic_id for name, (topic_id, _) in present.items()}
        for topic in self._topics:
            partitions = present.get(topic.name, ("", topic.partitions))[1]
            if partitions != topic.partitions:
                log.error("topic %s has %d partitions, not %d", topic.name, partitions, topic.partitions)
        return bool(missing or changed)

    def _connect(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self._bootstrap,
                client_id="downbeat-relay-watch",
                request_timeout_ms=5000,
                reconnect_backoff_max_ms=1000,
            )
        return self._admin

    def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                admin.close()
            except Exception:
                log.debug("closing the admin client failed", exc_info=True)
