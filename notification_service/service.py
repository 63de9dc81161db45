"""Consuming one event (booking.events or files.events): decide, store, then push. Free of
faust so tests drive it."""

from __future__ import annotations

import functools
import logging

import redis

from contracts import DecodeError, decode
from contracts.channels import user_channel
from notification_service.metrics import Counters
from notification_service.reminders import ReminderBook
from notification_service.rules import drafts_for
from notification_service.store import InboxStore, Notification, Recorded

__all__ = ["NotificationHandler"]

log = logging.getLogger(__name__)


class NotificationHandler:
    def __init__(
        self,
        store: InboxStore,
        redis_client: redis.Redis,
        reminders: ReminderBook | None = None,
        counters: Counters | None = None,
    ) -> None:
        self._store = store
        self._redis = redis_client
        self._reminders = reminders
        self.counters = counters or Counters()

    def handle(self, raw: bytes) -> list[Notification]:
        """Store first, then push. A duplicate event re-pushes the stored rows (the first push
        may have been lost in a crash); gateways drop ids a client already has."""
        try:
            event = decode(raw)
        except DecodeError:
            log.warning("skipping an undecodable message: %.200r", raw)
            return []
        self.counters.add("events_consumed")
        drafts = drafts_for(event)
        reminders = self._reminders
        if not drafts:
            if reminders is not None:
                reminders.apply(event)
            return []
        # The reminder schedule changes in the same transaction as the event's notifications.
        schedule = None if reminders is None else functools.partial(reminders.apply, event)
        return self.deliver(self._store.record(str(event.event_id), drafts, schedule))

    def deliver(self, recorded: list[Recorded]) -> list[Notification]:
        """Push what was stored (again, for duplicates); count; return the new rows."""
        fresh: list[Notification] = []
        for item in recorded:
            self.counters.add("emails_queued", int(item.mail_queued))
            if item.notification is None:
                continue
            self.counters.add("notifications_stored" if item.new else "notifications_duplicates")
            if item.new:
                fresh.append(item.notification)
            self.push(item.notification, redelivered=not item.new)
        return fresh

    def send_reminders(self) -> int:
        if self._reminders is None:
            return 0
        recorded = self._reminders.send_due()
        self.counters.add("reminders_sent", sum(1 for r in recorded if r.new or r.mail_queued))
        self.deliver(recorded)
        return len(recorded)

    def push(self, note: Notification, *, redelivered: bool = False) -> None:
        # ``redelivered`` lets gateways send an id below their high mark once.
        message = note.to_message(redelivered=redelivered)
        try:
            self._redis.publish(user_channel(note.user_id), message.to_json())
            self.counters.add("notifications_pushed")
        except redis.RedisError:
            # The row is stored; the client gets it from the store when its socket resyncs.
            log.warning("Redis unavailable; notification %s will be delivered from the store", note.id)
