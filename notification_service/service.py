"""Consuming one booking event: decide, store, then push. Free of faust so tests drive it."""

from __future__ import annotations

import json
import logging

import redis

from contracts import DecodeError, decode
from notification_service.rules import drafts_for
from notification_service.store import InboxStore, Notification

__all__ = ["NotificationHandler"]

log = logging.getLogger(__name__)


class NotificationHandler:
    def __init__(self, store: InboxStore, redis_client: redis.Redis) -> None:
        self._store = store
        self._redis = redis_client

    def handle(self, raw: bytes) -> list[Notification]:
        """Store first, then push. A duplicate event re-pushes the stored rows (the first push
        may have been lost in a crash); gateways drop ids a client already has."""
        try:
            event = decode(raw)
        except DecodeError:
            log.warning("skipping an undecodable message on booking.events: %.200r", raw)
            return []
        drafts = drafts_for(event)
        if not drafts:
            return []
        stored = self._store.record(str(event.event_id), drafts)
        for note, _new in stored:
            self.push(note)
        return [note for note, new in stored if new]

    def push(self, note: Notification) -> None:
        try:
            self._redis.publish(f"notify:{note.user_id}", json.dumps(note.to_message()))
        except redis.RedisError:
            # The row is stored; the client gets it from the store when its socket resyncs.
            log.warning("Redis unavailable; notification %s will be delivered from the store", note.id)
