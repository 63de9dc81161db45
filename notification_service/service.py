"""Consuming one event (booking.events, files.events or message.events): decide, store, then
push. Free of faust so tests drive it.

Message events also carry the durable live path (``contracts.messages``): after storing,
the message itself is published again to every member's channel, marked ``redelivered``.
The control plane publishes it right after its commit; this copy is the backstop for a
control plane killed in between, and the socket drops a message it has already sent.

An edited or deleted message first revises the notifications stored about it (the new
excerpt, or no text at all and its unsent mail dropped); nothing more is pushed for that:
the live copy of the change is what open sockets need, and the inbox shows the stored rows
when it is next fetched.
"""

from __future__ import annotations

import functools
import logging

import redis

from contracts import DecodeError, decode
from contracts.channels import user_channel
from contracts.messages import MessageDeleted, MessageEdited, MessageEvent, MessageMessage, MessageUpdatedMessage
from notification_service.message_rules import DELETED_BODY, excerpt, posted_at
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
        may have been lost in a crash) and a message event its live copy; gateways drop ids
        a client already has."""
        try:
            event = decode(raw)
        except DecodeError:
            log.warning("skipping an undecodable message: %.200r", raw)
            return []
        self.counters.add("events_consumed")
        drafts = drafts_for(event)
        reminders = self._reminders
        fresh: list[Notification] = []
        if drafts:
            # The reminder schedule changes in the same transaction as the event's notifications.
            schedule = None if reminders is None else functools.partial(reminders.apply, event)
            fresh = self.deliver(self._store.record(str(event.event_id), drafts, schedule))
        elif reminders is not None and not isinstance(event, MessageEvent):
            reminders.apply(event)  # messages schedule nothing: spare them a transaction
        if isinstance(event, MessageEdited | MessageDeleted):
            self.revise_message(event)
        if isinstance(event, MessageEvent):
            self.relay_message(event)
        return fresh

    def revise_message(self, event: MessageEdited | MessageDeleted) -> None:
        """What was stored about the message follows its edit or deletion (before the live copy
        goes out, like every other store-then-push here); nothing is pushed for it."""
        deleted = isinstance(event, MessageDeleted)
        revised = self._store.revise_message(
            event.message_id,
            DELETED_BODY if deleted else excerpt(event.message),
            deleted=deleted,
            members=event.members,
            posted_at=posted_at(event.message),
        )
        self.counters.add("notifications_revised", revised.notifications)
        self.counters.add("emails_withdrawn", revised.mail_dropped)

    def deliver(self, recorded: list[Recorded]) -> list[Notification]:
        """Push what was stored (again, for duplicates); count; return the new rows."""
        fresh: list[Notification] = []
        for item in recorded:
            self.counters.add("emails_queued", int(item.mail_queued))
            self.counters.add("notifications_folded", int(item.folded))
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

    def relay_message(self, event: MessageEvent) -> None:
        """The durable live copy: the message (or its edit or deletion) to every member's
        channel, the sender's other tabs included, in one round trip."""
        model = MessageUpdatedMessage if isinstance(event, MessageEdited | MessageDeleted) else MessageMessage
        text = model(message=event.message, redelivered=True).to_json()
        members = list(dict.fromkeys(event.members))
        if not members:
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            for user_id in members:
                pipe.publish(user_channel(user_id), text)
            pipe.execute()
            self.counters.add("messages_relayed", len(members))
        except redis.RedisError:
            # The message is in the control plane's store and its own publish most likely went
            # out; an open conversation refetches what it missed when its socket comes back.
            log.warning("Redis unavailable; the live copy of message %s was not relayed", event.message_id)
