"""The notification service process: a faust app consuming booking.events, files.events and
message.events, timers for reminders and mail, plus its internal HTTP API (inbox, preferences),
health and metrics endpoints on the faust web server."""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import redis
from faust.web import Request, View
from faust.web import Response as WebResponse

from contracts.topics import BOOKING_EVENTS, FILES_EVENTS, MESSAGE_EVENTS
from downbeat.faust_app import base_faust_settings
from downbeat.health import readiness, redis_ok, sql_ok
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from notification_service.kinds import CHANNELS, NOTIFICATION_KINDS
from notification_service.mail import MailQueue, SmtpMailSender
from notification_service.metrics import Counters, render_metrics
from notification_service.reminders import ReminderBook
from notification_service.service import NotificationHandler
from notification_service.store import InboxStore

__all__ = ["create_faust_app"]

log = logging.getLogger(__name__)
MAX_PAGE = 500
MAX_ID = 2**63 - 1  # ids are 64-bit database integers


def create_faust_app(settings: Settings) -> faust.App:
    app = faust.App(
        "downbeat-notifications",
        **base_faust_settings(settings, web_host=settings.notifications.host, web_port=settings.notifications.port),
    )
    # A burst of messages folds into one inbox row over the window that digests its mail.
    store = InboxStore.from_url(settings.notifications_database_url, coalesce_window_s=settings.smtp.digest_window_s)
    counters = Counters()
    handler = NotificationHandler(
        store,
        redis.Redis.from_url(settings.redis.effective_url, socket_timeout=2),
        ReminderBook(store, settings.notifications.reminder_windows),
        counters,
    )
    mail = MailQueue(
        store.engine,
        SmtpMailSender(settings.smtp.host, settings.smtp.port),
        sender=settings.smtp.sender,
        public_url=settings.public_url,
        window_s=settings.smtp.digest_window_s,
    )
    # Bookings, requests and deliverables on one topic; project files' versions and comments on
    # another (shared with the stream worker's analysis, in its own consumer group); messages on
    # the third (notifications plus their durable live copy). One agent reads all three, so every
    # event is stored through the one writer below in the order it is read.
    source = app.topic(BOOKING_EVENTS, FILES_EVENTS, MESSAGE_EVENTS, key_serializer="raw", value_serializer="raw")
    consumed = frozenset(source.topics)
    checks = {
        "database": sql_ok(store.engine),
        "redis": redis_ok(settings.redis.effective_url),
        "broker": lambda: broker_reachable(settings.kafka.servers),
        # Ready only once the consumer group has handed us partitions to read.
        "consumer": lambda: bool(app.consumer.assignment()),
    }
    interval = settings.notifications.timer_interval_ms / 1000

    # concurrency=1: with more, faust may commit an offset past an event still being stored
    # (faust-streaming issue 606), and a crash would then lose it.
    # Every write of notifications goes through this one thread: ids are then committed in the
    # order they are assigned, so a socket that has sent id N never misses a smaller one later.
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inbox-writer")

    @app.agent(source, concurrency=1)
    async def events(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for raw in stream:
            # Blocking SQL and Redis calls run off the event loop so heartbeats keep flowing.
            # A failure (database down) is retried here: faust would otherwise ack and skip it.
            delay = 0.5
            while True:
                try:
                    await loop.run_in_executor(writer, handler.handle, raw)
                    break
                except Exception:
                    log.exception("storing an event failed; retrying in %.1fs", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)

    @app.timer(interval)
    async def send_reminders() -> None:
        try:
            await asyncio.get_running_loop().run_in_executor(writer, handler.send_reminders)
        except Exception:  # a bad tick must not stop the timer; the next one retries
            log.exception("sending reminders failed")

    @app.timer(interval)
    async def send_mail() -> None:
        try:
            counters.add("emails_sent", await asyncio.get_running_loop().run_in_executor(None, mail.send_due))
        except Exception:
            log.exception("sending mail failed")

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> WebResponse:
        return web.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> WebResponse:
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(None, readiness, checks)
        return web.json(body, status=status)

    @app.page("/metrics")
    async def metrics(web: View, request: Request) -> WebResponse:
        text = render_metrics(counters.snapshot(), _lag_rows(app, consumed))
        return web.text(text, content_type="text/plain; version=0.0.4")

    @app.page("/internal/users/{user_id}/notifications")
    async def inbox(web: View, request: Request, user_id: str) -> WebResponse:
        try:
            uid = int(user_id)
            since = int(request.query.get("since", "0"))
            limit = min(int(request.query.get("limit", "100")), MAX_PAGE)
            if not (0 <= uid <= MAX_ID and 0 <= since <= MAX_ID):
                raise ValueError("out of range")
        except ValueError:
            # Ids are 64-bit database integers: anything else is the caller's mistake, not a crash.
            return web.json({"title": "Bad request", "status": 400, "detail": "ids are integers 0..2^63-1"}, status=400)
        loop = asyncio.get_running_loop()
        items, has_more = await loop.run_in_executor(None, functools.partial(store.since, uid, since, max(limit, 1)))
        return web.json(
            {
                "items": [n.to_message().to_dict() for n in items],
                "has_more": has_more,
                "epoch": await loop.run_in_executor(None, store.epoch),
                "unread": await loop.run_in_executor(None, store.unread_count, uid),
                "last_id": await loop.run_in_executor(None, store.last_id, uid),
            }
        )

    @app.page("/internal/users/{user_id}/notifications/{notification_id}/read")
    class MarkRead(View):
        async def post(self, request: Request, user_id: str, notification_id: str) -> WebResponse:
            try:
                uid, nid = int(user_id), int(notification_id)
                if not (0 <= uid <= MAX_ID and 0 <= nid <= MAX_ID):
                    raise ValueError("out of range")
            except ValueError:
                return self.json({"status": 400}, status=400)
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(None, store.mark_read, uid, nid)
            return self.bytes(b"", status=204 if found else 404)

    @app.page("/internal/users/{user_id}/read-all")
    class MarkAllRead(View):
        async def post(self, request: Request, user_id: str) -> WebResponse:
            try:
                uid = int(user_id)
            except ValueError:
                return self.json({"status": 400}, status=400)
            marked = await asyncio.get_running_loop().run_in_executor(None, store.mark_all_read, uid)
            return self.json({"marked": marked})

    @app.page("/internal/users/{user_id}/preferences")
    class Preferences(View):
        async def get(self, request: Request, user_id: str) -> WebResponse:
            try:
                uid = int(user_id)
            except ValueError:
                return self.json({"status": 400}, status=400)
            prefs = await asyncio.get_running_loop().run_in_executor(None, store.preferences, uid)
            return self.json(_preferences_body(prefs))

        async def put(self, request: Request, user_id: str) -> WebResponse:
            try:
                uid = int(user_id)
                body = await request.json()
            except ValueError:
                return self.json({"status": 400, "detail": "JSON expected"}, status=400)
            chosen = body.get("preferences") if isinstance(body, dict) else None
            errors = _preference_errors(chosen)
            if errors:
                return self.json({"status": 422, "errors": errors}, status=422)
            email = body.get("email") if isinstance(body.get("email"), str) else None
            update = functools.partial(store.set_preferences, uid, email, dict(chosen))  # type: ignore[arg-type]
            prefs = await asyncio.get_running_loop().run_in_executor(None, update)
            return self.json(_preferences_body(prefs))

    app.downbeat_store = store  # type: ignore[attr-defined]
    return app


def _preferences_body(prefs: dict[str, str]) -> dict[str, Any]:
    return {
        "preferences": prefs,
        "kinds": [{"kind": kind, "label": label} for kind, label in NOTIFICATION_KINDS.items()],
        "channels": list(CHANNELS),
    }


def _preference_errors(chosen: object) -> dict[str, list[str]]:
    if not isinstance(chosen, dict):
        return {"preferences": ["an object of kind -> channel is required"]}
    errors: dict[str, list[str]] = {}
    for kind, channel in chosen.items():
        if kind not in NOTIFICATION_KINDS:
            errors[f"preferences.{kind}"] = ["unknown notification kind"]
        elif channel not in CHANNELS:
            errors[f"preferences.{kind}"] = [f"must be one of {', '.join(CHANNELS)}"]
    return errors


def _lag_rows(app: faust.App, topics: frozenset[str]) -> list[tuple[str, int, int, int | None, int | None]]:
    """Per assigned partition of the topics we consume: committed offset vs high watermark."""
    consumer = app.consumer
    rows = []
    for tp in sorted(consumer.assignment()):
        if tp.topic not in topics:
            continue
        try:
            highwater: int | None = consumer.highwater(tp)
        except Exception:  # not fetched yet
            highwater = None
        committed = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]
        lag = max(0, (highwater or 0) - (committed or 0))
        rows.append((tp.topic, tp.partition, lag, committed, highwater))
    return rows
