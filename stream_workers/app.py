"""The stream worker process: faust agents for live analysis and the visual fan-out.

Scale by running more workers: audio.frames and visual.params are partitioned by stream id
and room code, and the consumer group spreads partitions over the workers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import faust
import redis.asyncio as aioredis
from faust.web import Request, View
from faust.web import Response as WebResponse

from contracts import DecodeError, VisualParams, decode, encode
from contracts.channels import last_visual_key, room_channel
from contracts.topics import AUDIO_FRAMES, VISUAL_PARAMS
from downbeat.faust_app import base_faust_settings
from downbeat.health import readiness, redis_ok
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from stream_workers.live import MAX_FRAME_AGE_MS, LagWindow, LiveEngine
from stream_workers.project_files import register_files_events

__all__ = ["create_faust_app"]

log = logging.getLogger(__name__)
SNAPSHOT_TTL_MS = 5000


class StreamWorkerApp(faust.App):
    """Runs ``before_consuming`` (the kernels' JIT warm-up) before the consumer starts: a worker
    that joins the group must not be handed partitions while it cannot analyse yet (a cold
    compile took seconds and showed up as a gap in every room's visuals during the rebalance)."""

    before_consuming: Callable[[], None] | None = None

    async def on_first_start(self) -> None:
        await super().on_first_start()
        if self.before_consuming is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.before_consuming)


def create_faust_app(settings: Settings) -> faust.App:
    app = StreamWorkerApp(
        "downbeat-stream-workers",
        **base_faust_settings(settings, web_host=settings.worker.host, web_port=settings.worker.port),
    )
    audio = app.topic(AUDIO_FRAMES, key_serializer="raw", value_serializer="raw")
    visual = app.topic(VISUAL_PARAMS, key_serializer="raw", value_serializer="raw")
    redis_client = aioredis.Redis.from_url(settings.redis.effective_url)
    engine = LiveEngine(settings.media.sample_rate, settings.media.hop)
    fanout_lag = LagWindow()  # capture at media -> visual frame handed to Redis
    # The kernels release the GIL; one analysis thread keeps the event loop free for fetching,
    # heartbeats and producing, and serialises every use of the engine's state.
    analysis = ThreadPoolExecutor(1, thread_name_prefix="live-analysis")
    kernels_ready = threading.Event()

    def warm_up() -> None:
        engine.warm_up()
        kernels_ready.set()

    app.before_consuming = warm_up
    checks = {
        "redis": redis_ok(settings.redis.effective_url),
        "broker": lambda: broker_reachable(settings.kafka.servers),
        # Ready only once the consumer group has handed us partitions to read.
        "consumer": lambda: bool(app.consumer.assignment()),
        "kernels": kernels_ready.is_set,
    }
    within = timedelta(milliseconds=settings.worker.batch_within_ms)

    async def publish(visuals: list[VisualParams]) -> None:
        """Fan out straight from the analysis: one Redis round trip per batch, no second broker hop.

        Going through visual.params and a separate fan-out agent first cost a second Kafka
        produce/fetch (p95 +40 ms measured, docs/LIVE.md). The topic still gets every frame,
        keyed by room code, for consumers that want them durable and ordered per room.
        """
        if not visuals:
            return
        now_ms = time.time() * 1000.0
        pipe = redis_client.pipeline(transaction=False)
        for params in visuals:
            if params.capture_ms is not None:
                fanout_lag.add(now_ms - params.capture_ms)
            pipe.publish(room_channel(params.room_code), params.frame_json())
        try:
            await pipe.execute()
        except aioredis.RedisError:
            log.warning("Redis unavailable; dropped %d visual frames", len(visuals))
        for params in visuals:
            await visual.send(key=params.room_code.encode(), value=encode(params))

    # concurrency=1: per-stream state and sequence checks need one consumer of each partition.
    @app.agent(audio, concurrency=1)
    async def live_audio(stream: Any) -> None:
        loop = asyncio.get_running_loop()
        # One kernel call per analyzer and batch advances every stream that has a hop waiting.
        async for batch in stream.take(settings.worker.batch_max, within=within):
            await publish(await loop.run_in_executor(analysis, engine.handle, list(batch), time.time() * 1000.0))

    @app.timer(1.0)
    async def end_idle_streams() -> None:
        loop = asyncio.get_running_loop()
        await publish(await loop.run_in_executor(analysis, engine.sweep, time.time() * 1000.0))

    @app.agent(visual, concurrency=1)
    async def visual_snapshot(stream: Any) -> None:
        # Keeps each room's newest frame under visual:last:<code> for a few seconds: a room
        # socket that opens mid-stream is sent it first, so a late joiner sees the picture at once.
        async for batch in stream.take(settings.worker.batch_max, within=timedelta(milliseconds=100)):
            newest: dict[str, VisualParams] = {}
            for raw in batch:
                try:
                    params = decode(raw)
                except DecodeError:
                    log.warning("skipping an undecodable visual frame")
                    continue
                if isinstance(params, VisualParams):
                    newest[params.room_code] = params
            fresh = [
                p
                for p in newest.values()
                if (datetime.now(UTC) - p.occurred_at).total_seconds() * 1000.0 <= MAX_FRAME_AGE_MS
            ]
            if not fresh:
                continue
            pipe = redis_client.pipeline(transaction=False)
            for params in fresh:
                if params.ended:
                    # The stream is over: a late joiner (or a socket that reconnects) gets no frame of
                    # it, and nobody is sent its ``ended`` frame twice.
                    pipe.delete(last_visual_key(params.room_code))
                else:
                    pipe.set(last_visual_key(params.room_code), params.frame_json(), px=SNAPSHOT_TTL_MS)
            try:
                await pipe.execute()
            except aioredis.RedisError:
                log.warning("Redis unavailable; visual snapshots not kept")

    # files.events: offline analysis of room tracks and of project files' audio versions (one agent)
    register_files_events(app, settings)

    @app.page("/healthz")
    async def healthz(web: View, request: Request) -> WebResponse:
        return web.json(
            {
                "status": "alive",
                "live": engine.stats.as_dict(),
                "streams": len(engine.pool.streams),
                "lag": {"intake": engine.intake_lag.summary(), "fanout": fanout_lag.summary()},
            }
        )

    @app.page("/readyz")
    async def readyz(web: View, request: Request) -> WebResponse:
        status, body = await asyncio.get_running_loop().run_in_executor(None, readiness, checks)
        return web.json(body, status=status)

    return app
