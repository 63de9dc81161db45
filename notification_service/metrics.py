"""Counters and consumer lag in the Prometheus text format (GET /metrics)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

__all__ = ["Counters", "render_metrics"]

COUNTERS = {
    "notifications_stored": "Notifications stored in the inbox (new rows).",
    "notifications_pushed": "Notifications published to Redis for online sockets.",
    "notifications_duplicates": "Stored rows found again for a redelivered event (not stored twice).",
    "notifications_folded": "Notifications told by an unread one of the same burst (no row of their own).",
    "notifications_revised": "Stored message notifications whose text an edit or a deletion replaced.",
    "messages_relayed": "Durable live copies of messages published to members' channels.",
    "emails_queued": "Mails queued for sending.",
    "emails_withdrawn": "Queued mails dropped before sending because their message was deleted.",
    "emails_sent": "Mails the SMTP server accepted (a digest counts once).",
    "reminders_sent": "Session reminders stored.",
    "events_consumed": "booking.events, files.events and message.events messages handled.",
}


class Counters:
    """Thread-safe: the agent's work runs in executor threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(COUNTERS, 0)

    def add(self, name: str, amount: int = 1) -> None:
        if amount:
            with self._lock:
                self._values[name] += amount

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


def render_metrics(counters: dict[str, int], lag: Iterable[tuple[str, int, int, int | None, int | None]]) -> str:
    """``lag`` rows: (topic, partition, lag, committed offset, high watermark)."""
    lines: list[str] = []
    for name, help_text in COUNTERS.items():
        metric = f"downbeat_{name}_total"
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} counter", f"{metric} {counters.get(name, 0)}"]
    rows = list(lag)
    gauges = (
        ("downbeat_consumer_lag", "Messages not yet consumed: high watermark minus committed offset.", 2),
        ("downbeat_consumer_committed_offset", "Committed offset of the consumer group.", 3),
        ("downbeat_consumer_highwater", "High watermark (end offset) of the partition.", 4),
    )
    for metric, help_text, index in gauges:
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        for row in rows:
            value = row[index]
            if value is not None:
                lines.append(f'{metric}{{topic="{row[0]}",partition="{row[1]}"}} {value}')
    return "\n".join(lines) + "\n"
