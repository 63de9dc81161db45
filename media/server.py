"""The media process: aiohttp for signalling (reached only through the control plane, which
checks who may stream where) and health, aiokafka for producing hops."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer

from contracts.topics import AUDIO_FRAMES
from downbeat.health import readiness
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from media.ingest import InvalidOffer, LiveIngest, StreamLimitReached
from media.outbound import OutboundQueue, Outgoing, run_sender

__all__ = ["create_web_app", "run"]

log = logging.getLogger(__name__)
ROOM_CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{6}$")
STREAM_ID = re.compile(r"^[0-9a-f]{8,64}$")
MAX_SDP = 64 * 1024
HOPS_QUEUED_PER_STREAM = 30


def _problem(status: int, code: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": f"/problems/{code}", "code": code, "title": code, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


def _stats(state: dict[str, Any]) -> dict[str, Any]:
    queue: OutboundQueue = state["queue"]
    ingest: LiveIngest = state["ingest"]
    return {
        "streams": len(ingest.streams),
        "queued": len(queue),
        "enqueued": queue.enqueued,
        "dropped_hops": queue.dropped,
        "ended": ingest.ended_reasons,
    }


async def producer_stop(producer: AIOKafkaProducer) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout=5)
    except TimeoutError:
        log.warning("the producer did not flush within 5 s")


def create_web_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_SDP * 2)
    state: dict[str, Any] = {}

    async def on_startup(app: web.Application) -> None:
        # acks=1: a hop of live audio is worthless if late; waiting for more replicas would
        # only add latency. Events that matter go through the outbox with acks="all".
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.servers, acks=1, linger_ms=0)
        await producer.start()
        state["producer"] = producer
        # Half a second of audio per stream at most; beyond that the oldest hops go.
        queue = OutboundQueue(limit=max(64, settings.media.max_streams * HOPS_QUEUED_PER_STREAM))
        state["queue"] = queue

        async def send(item: Outgoing) -> None:
            # send() only appends to the producer's batch; the delivery report is not awaited,
            # so a slow broker shows up as a growing queue (and dropped hops), never as a stall.
            await producer.send(AUDIO_FRAMES, item.value, key=item.key)

        state["sender"] = asyncio.ensure_future(run_sender(queue, send))
        state["ingest"] = LiveIngest(
            queue,
            sample_rate=settings.media.sample_rate,
            hop=settings.media.hop,
            max_streams=settings.media.max_streams,
        )

    async def on_cleanup(app: web.Application) -> None:
        await state["ingest"].close()
        await asyncio.sleep(0.05)  # let the sender flush the StreamEnded events
        state["sender"].cancel()
        await producer_stop(state["producer"])

    async def offer(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, "invalid-json", "body must be JSON")
        if not isinstance(body, dict):
            return _problem(400, "invalid-json", "body must be a JSON object")
        sdp, room, stream_id = body.get("sdp"), body.get("room_code"), body.get("stream_id")
        if body.get("type") != "offer" or not isinstance(sdp, str) or not 10 <= len(sdp) <= MAX_SDP:
            return _problem(422, "invalid-offer", "an SDP offer is required")
        if not isinstance(room, str) or not ROOM_CODE.match(room):
            return _problem(422, "invalid-room", "room_code is not a room code")
        if not isinstance(stream_id, str) or not STREAM_ID.match(stream_id):
            return _problem(422, "invalid-stream", "stream_id must be hex")
        user_id = body.get("user_id")
        if user_id is not None and not isinstance(user_id, int):
            return _problem(422, "invalid-user", "user_id must be an integer")
        try:
            answer = await state["ingest"].accept_offer(sdp, room, stream_id, user_id)
        except StreamLimitReached as exc:
            return _problem(503, "media-busy", str(exc))
        except InvalidOffer as exc:
            log.warning("refused an offer for room %s: %s", room, exc)
            return _problem(422, "invalid-offer", "the SDP offer could not be used (it must offer an audio track)")
        log.info("stream %s live in room %s", stream_id, room)
        return web.json_response({"sdp": answer, "type": "answer", "stream_id": stream_id})

    checks = {"broker": lambda: broker_reachable(settings.kafka.servers)}

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", **_stats(state)})

    async def readyz(request: web.Request) -> web.Response:
        status, body = await asyncio.get_running_loop().run_in_executor(None, readiness, checks)
        body.update(_stats(state))
        return web.json_response(body, status=status)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/internal/offer", offer)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def run(settings: Settings) -> None:
    web.run_app(create_web_app(settings), host=settings.media.host, port=settings.media.port, print=None)
