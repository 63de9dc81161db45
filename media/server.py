"""The media process: aiohttp for signalling (reached only through the control plane, which
checks who may stream where) and health, aiokafka for producing hops."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from contracts.live import MAX_SDP_BYTES, MEDIA_OFFER_PATH, MediaAnswer, MediaOffer
from contracts.topics import AUDIO_FRAMES
from downbeat.health import readiness
from downbeat.kafka import broker_reachable
from downbeat.settings import Settings
from media.ingest import InvalidOffer, LiveIngest, StreamLimitReached
from media.outbound import OutboundQueue, Outgoing, run_sender

__all__ = ["create_web_app", "run"]

log = logging.getLogger(__name__)
HOPS_QUEUED_PER_STREAM = 30
# The problem an offer gets for its first bad field (contracts.live.MediaOffer).
_OFFER_PROBLEMS = {
    "sdp": ("invalid-offer", "an SDP offer is required"),
    "type": ("invalid-offer", "an SDP offer is required"),
    "room_code": ("invalid-room", "room_code is not a room code"),
    "stream_id": ("invalid-stream", "stream_id must be hex"),
    "user_id": ("invalid-user", "user_id must be an integer"),
}


def _problem(status: int, code: str, detail: str) -> web.Response:
    return web.json_response(
        {"type": f"/problems/{code}", "code": code, "title": code, "status": status, "detail": detail},
        status=status,
        content_type="application/problem+json",
    )


def _offer_problem(exc: ValidationError) -> web.Response:
    first = exc.errors()[0]
    if first["type"] == "json_invalid":
        return _problem(400, "invalid-json", "body must be JSON")
    if not first["loc"]:
        return _problem(400, "invalid-json", "body must be a JSON object")
    code, detail = _OFFER_PROBLEMS.get(str(first["loc"][0]), ("invalid-offer", f"unknown field {first['loc'][0]}"))
    return _problem(422, code, detail)


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
    app = web.Application(client_max_size=MAX_SDP_BYTES * 2)
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
            body = MediaOffer.model_validate_json(await request.read())
        except ValidationError as exc:
            return _offer_problem(exc)
        sdp, room, stream_id, user_id = body.sdp, body.room_code, body.stream_id, body.user_id
        try:
            answer = await state["ingest"].accept_offer(sdp, room, stream_id, user_id)
        except StreamLimitReached as exc:
            return _problem(503, "media-busy", str(exc))
        except InvalidOffer as exc:
            log.warning("refused an offer for room %s: %s", room, exc)
            return _problem(422, "invalid-offer", "the SDP offer could not be used (it must offer an audio track)")
        log.info("stream %s live in room %s", stream_id, room)
        return web.Response(
            text=MediaAnswer(sdp=answer, type="answer", stream_id=stream_id).model_dump_json(),
            content_type="application/json",
        )

    checks = {"broker": lambda: broker_reachable(settings.kafka.servers)}

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "alive", **_stats(state)})

    async def readyz(request: web.Request) -> web.Response:
        status, body = await asyncio.get_running_loop().run_in_executor(None, readiness, checks)
        body.update(_stats(state))
        return web.json_response(body, status=status)

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post(MEDIA_OFFER_PATH, offer)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


def run(settings: Settings) -> None:
    web.run_app(create_web_app(settings), host=settings.media.host, port=settings.media.port, print=None)
