"""Waking the relay right after a commit that staged events, instead of at its next poll.

Best effort by design: the notice is a Redis PUBLISH after commit; if it is lost, the relay's
poll still finds the rows within ``poll_interval_ms``. Correctness never depends on it.

The PUBLISH is sent by one ``RelayWaker`` thread per process, not by the committing request:
a commit only sets a flag, so the request does not wait for Redis, and commits that land
while a notice is in flight or within 5 ms of the last share the next one (under load, one
PUBLISH serves many bookings instead of one each; the relay learns at most 5 ms later).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

import redis
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

__all__ = ["CHANNEL", "RelayWaker", "WakeListener", "install_commit_hook", "mark_outbox_dirty", "wake_relay"]

log = logging.getLogger(__name__)
CHANNEL = "outbox:wake"
_DIRTY = "downbeat.outbox_dirty"


def mark_outbox_dirty(session: Any) -> None:
    session.info[_DIRTY] = True


def _after_commit(session: Session) -> None:
    if not session.info.pop(_DIRTY, False) or not has_app_context():
        return
    wake_relay()


def wake_relay() -> None:
    """Announce new outbox rows committed outside the ORM session (the booking hot path)."""
    waker: RelayWaker | None = current_app.extensions.get(WAKER)
    if waker is not None:
        waker.poke()


WAKER = "downbeat.relay_waker"


class RelayWaker:
    """Sends the wake-up PUBLISH from its own thread, once per burst of commits.

    The thread starts on the first poke in a process (gunicorn forks workers after building
    the app) and ends after ``idle_exit_s`` without one, so short-lived apps (tests) leave no
    threads behind.
    """

    def __init__(self, client: redis.Redis, idle_exit_s: float = 30.0, min_gap_s: float = 0.005) -> None:
        self._client = client
        self._idle_exit_s = idle_exit_s
        # At most one notice per gap: under load the commits of those 5 ms share it.
        self._min_gap_s = min_gap_s
        self._pending = threading.Event()
        self._lock = threading.Lock()
        self._running_in = 0  # pid of the process whose thread is running, 0 for none

    def poke(self) -> None:
        with self._lock:
            self._pending.set()
            if self._running_in != os.getpid():
                self._running_in = os.getpid()
                threading.Thread(target=self._run, name="outbox-waker", daemon=True).start()

    def _run(self) -> None:
        while True:
            if not self._pending.wait(self._idle_exit_s):
                with self._lock:  # a poke racing this exit either is seen here or starts anew
                    if not self._pending.is_set():
                        self._running_in = 0
                        return
                continue
            self._pending.clear()  # commits from here on get a notice of their own
            try:
                self._client.publish(CHANNEL, b"1")
            except redis.RedisError:
                log.debug("could not wake the relay; it will poll", exc_info=True)
            time.sleep(self._min_gap_s)


def _after_rollback(session: Session) -> None:
    session.info.pop(_DIRTY, None)


def install_commit_hook(sessions: Any) -> None:
    """Wake the relay after every commit of ``sessions`` (a sessionmaker, e.g. the one behind
    Flask-SQLAlchemy's ``db.session``) that staged outbox rows. Only that factory's sessions
    are listened to, not SQLAlchemy's global ``Session`` class."""
    if not event.contains(sessions, "after_commit", _after_commit):
        event.listen(sessions, "after_commit", _after_commit)
        event.listen(sessions, "after_rollback", _after_rollback)


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
