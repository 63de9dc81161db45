"""The stream worker process: faust agents for live analysis and the visual fan-out.

Scale by running more workers: audio.frames and visual.params are partitioned by stream id
and room code, and the consumer group spreads partitions over the workers.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import redis.asyncio as aioredis
from faust.web import Request, View
from faust.web import Response as WebResponse

from contracts import DecodeError, VisualParams, decode, encode
from contracts.topics import AUDIO_FRAMES, VISUAL_PARAMS
from downbeat.faust_app import base_faust_settings
from downbeat.health import readiness, redis_ok
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from stream_workers.live import MAX_FRAME_AGE_S, analyse_batch

__all__ = ["create_faust_app"]

log = logging.getLogger(__name__)


def create_faust_app(settings: Settings) -> faust.App:
    app = faust.App(
        "downbeat-stream-workers",
        **base_faust_settings(settings, web_host=settings.worker.host, web_port=settings.worker.port),
    )
    audio = app.topic(AUDIO_FRAMES, key_serializer="raw", value_serializer="raw")
    visual = app.topic(VISUAL_PARAMS, key_serializer="raw", value_serializer="raw")
    redis_client = aioredis.Redis.from_url(settings.redis.effective_url)
    checks = {
        "redis": redis_ok(settings.redis.effective_url),
        "broker": lambda: broker_reachable(settings.kafka.servers),
        # Ready only once the consumer group has handed us partitions to read.
        "consumer": lambda: bool(app.consumer.assignment()),
    }
    within = timedelta(milliseconds=settings.worker.batch_within_ms)

    @app.agent(audio, concurrency=1)
    async def live_audio(stream: Any) -> None:
        # One kernel call per batch advances every stream that has a hop waiting.
        async for batch in stream.take(settings.worker.batch_max, within=within):
            for params in analyse_batch(list(batch), datetime.now(UTC)):
                await visual.send(key=params.room_code.encode(), value=encode(params))

    @app.agent(visual, concurrency=1)
    async def visual_fanout(stream: Any) -> None:
        async for raw in stream:
            try:
                params = decode(raw)
            except DecodeError:
                log.warning("skipping an undecodable visual frame")
                continue
            if not isinstance(params, VisualParams):
                continue
            if (datetime.now(UTC) - params.occurred_at).total_seconds() > MAX_FRAME_AGE_S:
                continue
            try:
                await redis_client.publish(f"room:{params.room_code}", _frame_json(params))
            except aioredis.RedisError:
                log.warning("Redis unavailable; dropping a visual frame for %s", params.room_code)

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> WebResponse:
        return web.json({"status": "alive"})

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> WebResponse:
        status, body = await asyncio.get_running_loop().run_in_executor(None, readiness, checks)
        return web.json(body, status=status)

    return app


def _frame_json(params: VisualParams) -> str:
    import json

    return json.dumps(params.to_frame())
