"""Waking the relay right after a commit that staged events, instead of at its next poll.

Best effort by design: the notice is a Redis PUBLISH after commit; if it is lost, the relay's
poll still finds the rows within ``poll_interval_ms``. Correctness never depends on it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["CHANNEL", "WakeListener", "install_commit_hook", "mark_outbox_dirty"]

log = logging.getLogger(__name__)
CHANNEL = "outbox:wake"
_DIRTY = "downbeat.outbox_dirty"


def mark_outbox_dirty(session: Any) -> None:
    session.info[_DIRTY] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop(_DIRTY, False) or not has_app_context():
        return
    client: redis.Redis | None = current_app.extensions.get("downbeat.redis")
    if client is None:
        return
    try:
        client.publish(CHANNEL, b"1")
    except redis.RedisError:
        log.debug("could not wake the relay; it will poll", exc_info=True)


def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)


def install_commit_hook() -> None:
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)


class WakeListener:
    """Sets ``wake`` whenever a commit announces new outbox rows; reconnects on its own."""

    def __init__(self, redis_url: str, wake: threading.Event) -> None:
        self._url = redis_url
        self._wake = wake
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="outbox-wake", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                pubsub = redis.Redis.from_url(self._url, socket_connect_timeout=2).pubsub(  # type: ignore[no-untyped-call]
                    ignore_subscribe_messages=True
                )
                pubsub.subscribe(CHANNEL)
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        self._wake.set()
            except redis.RedisError:
                self._stop.wait(1.0)
