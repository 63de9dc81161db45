"""The notification service process: a faust app consuming booking.events, plus its internal
HTTP API (inbox reads for the gateway) and health endpoints on the faust web server."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import faust
import redis
from faust.web import Request, View
from faust.web import Response as WebResponse

from contracts.topics import BOOKING_EVENTS
from downbeat.faust_app import base_faust_settings
from downbeat.health import readiness, redis_ok, sql_ok
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from notification_service.service import NotificationHandler
from notification_service.store import InboxStore

__all__ = ["create_faust_app"]

MAX_PAGE = 500


def create_faust_app(settings: Settings) -> faust.App:
    app = faust.App(
        "downbeat-notifications",
        **base_faust_settings(settings, web_host=settings.notifications.host, web_port=settings.notifications.port),
    )
    store = InboxStore.from_url(settings.notifications_database_url)
    handler = NotificationHandler(store, redis.Redis.from_url(settings.redis.effective_url, socket_timeout=2))
    source = app.topic(BOOKING_EVENTS, key_serializer="raw", value_serializer="raw")
    checks = {
        "database": sql_ok(store.engine),
        "redis": redis_ok(settings.redis.effective_url),
        "broker": lambda: broker_reachable(settings.kafka.servers),
        # Ready only once the consumer group has handed us partitions to read.
        "consumer": lambda: bool(app.consumer.assignment()),
    }

    # concurrency=1: with more, faust may commit an offset past an event still being stored
    # (faust-streaming issue 606), and a crash would then lose it.
    @app.agent(source, concurrency=1)
    async def booking_events(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        async for raw in stream:
            # Blocking SQL and Redis calls run off the event loop so heartbeats keep flowing.
            await loop.run_in_executor(None, handler.handle, raw)

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> WebResponse:
        return web.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> WebResponse:
        loop = asyncio.get_running_loop()
        status, body = await loop.run_in_executor(None, readiness, checks)
        return web.json(body, status=status)

    @app.page("/internal/users/{user_id}/notifications")
    async def inbox(web: View, request: Request, user_id: str) -> WebResponse:
        try:
            uid = int(user_id)
            since = int(request.query.get("since", "0"))
            limit = min(int(request.query.get("limit", "100")), MAX_PAGE)
        except ValueError:
            return web.json({"title": "Bad request", "status": 400, "detail": "integers expected"}, status=400)
        loop = asyncio.get_running_loop()
        items, has_more = await loop.run_in_executor(None, functools.partial(store.since, uid, since, max(limit, 1)))
        return web.json(
            {
                "items": [n.to_message() for n in items],
                "has_more": has_more,
                "epoch": await loop.run_in_executor(None, store.epoch),
            }
        )

    @app.page("/internal/users/{user_id}/notifications/{notification_id}/read")
    class MarkRead(View):
        async def post(self, request: Request, user_id: str, notification_id: str) -> WebResponse:
            try:
                uid, nid = int(user_id), int(notification_id)
            except ValueError:
                return self.json({"status": 400}, status=400)
            loop = asyncio.get_running_loop()
            found = await loop.run_in_executor(None, store.mark_read, uid, nid)
            return self.bytes(b"", status=204 if found else 404)

    app.downbeat_store = store  # type: ignore[attr-defined]
    return app
