"""Timed room work: auto-advance at the end of a track, and handing a room on when its host
has been gone too long.

Both run in every gateway process (a ticker thread, every ``rooms.tick_ms``, while that
process has room sockets) and in the relay's housekeeping (every few seconds, as a backstop
when no gateway runs). That is safe: each change is re-checked under the room's row lock, so
when several processes see the same due room, one acts and the rest find nothing to do.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from contracts.files import TrackUploaded
from control_plane.kits.jobs import Job
from control_plane.kits.outbox.writer import add_event
from control_plane.rooms.models import Room, Track
from control_plane.rooms.schemas import normalise_code
from control_plane.rooms.services.messages import participants_message, publish
from control_plane.rooms.services.presence import Presence, now_ms
from control_plane.rooms.services.rooms import CommandRefused, advance_if_ended, choose_successor, locked_room
from downbeat.settings import Settings

__all__ = ["HOST_GONE_KEY", "JOBS", "RoomTicker", "advance_due_rooms", "sweep_absent_hosts"]

log = logging.getLogger(__name__)
HOST_GONE_KEY = "rooms:host-gone"  # sorted set: room code -> first instant its host was seen gone


def advance_due_rooms(engine: Engine, client: redis.Redis | None, presence: Presence | None, lead_ms: float) -> int:
    now = now_ms()
    with Session(engine) as session:
        codes = list(session.scalars(select(Room.code).where(Room.ends_at_ms <= now)))
        session.rollback()
        advanced = 0
        for code in codes:
            try:
                outcome = advance_if_ended(session, code, now, lead_ms, _present(presence, code))
            except CommandRefused:
                session.rollback()
                continue
            if not outcome.changed:
                session.rollback()
                continue
            session.commit()
            publish(client, code, outcome.messages)
            advanced += 1
    return advanced


def sweep_absent_hosts(engine: Engine, client: redis.Redis, presence: Presence, grace_ms: float) -> int:
    """Rooms whose host has had no socket for ``grace_ms`` while others are present go to the
    longest-present member. Rooms nobody is in keep their host."""
    now = now_ms()
    handed = 0
    for key in client.scan_iter(match="presence:*", count=500):
        code = (key.decode() if isinstance(key, bytes) else str(key)).partition(":")[2]
        if normalise_code(code) != code:  # not a room code: another key under presence:*
            continue
        present = presence.present(code)
        with Session(engine) as session:
            host_id = session.scalar(select(Room.host_id).where(Room.code == code))
            session.rollback()
            if host_id is None:
                # Not a room of this database (a Redis shared by several deployments or test
                # databases): leave its marker alone, or this sweeper would keep restarting
                # another deployment's grace period.
                continue
            if not present or host_id in present:
                client.zrem(HOST_GONE_KEY, code)
                continue
            client.zadd(HOST_GONE_KEY, {code: now}, nx=True)
            gone_since = client.zscore(HOST_GONE_KEY, code) or now
            if now - gone_since < grace_ms:
                continue
            room = locked_room(session, code)
            if room.host_id in present:
                session.rollback()
                continue
            successor = choose_successor(session, room, present, leaving=room.host_id)
            if successor is None or successor not in present:
                session.rollback()
                continue
            room.host_id = successor
            room.version += 1
            session.flush()
            message = participants_message(session, room, present)
            session.commit()
        client.zrem(HOST_GONE_KEY, code)
        publish(client, code, [message])
        handed += 1
    return handed


def _present(presence: Presence | None, code: str) -> dict[int, float]:
    if presence is None:
        return {}
    try:
        return presence.present(code)
    except redis.RedisError:
        return {}


class RoomTicker:
    """One daemon thread per gateway process; started by the first room socket."""

    def __init__(self, engine: Engine, client: redis.Redis, settings: Settings) -> None:
        self._engine, self._client, self._settings = engine, client, settings
        self._presence = Presence(client, settings.rooms.presence_ttl_ms)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="room-ticker", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        rooms = self._settings.rooms
        sweep_every = max(1, round(1000 / max(1, rooms.tick_ms)))
        ticks = 0
        while not self._stop.wait(rooms.tick_ms / 1000.0):
            try:
                advance_due_rooms(self._engine, self._client, self._presence, rooms.lead_ms)
                ticks += 1
                if ticks % sweep_every == 0:
                    sweep_absent_hosts(self._engine, self._client, self._presence, rooms.host_grace_ms)
            except Exception:
                log.exception("room ticker failed; trying again next tick")


_clients: dict[str, redis.Redis] = {}


def rooms_upkeep(session: Session, now: datetime, settings: Settings) -> int:
    """The relay's backstop for the gateways' tickers (same work, same locks)."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    url = settings.redis.effective_url
    client = _clients.setdefault(url, redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2))
    presence = Presence(client, settings.rooms.presence_ttl_ms)
    handled = advance_due_rooms(engine, client, presence, settings.rooms.lead_ms)
    try:
        handled += sweep_absent_hosts(engine, client, presence, settings.rooms.host_grace_ms)
    except redis.RedisError:
        log.warning("Redis unavailable; host hand-over waits")
    return handled


STALL_MINUTES = 10
MAX_ANALYSIS_ATTEMPTS = 3


def requeue_stalled_analysis(session: Session, now: datetime, settings: Settings) -> int:
    """An analysis that never reported back (worker down, control plane unreachable when it
    finished) is requested again with a new event, a few times, then marked failed."""
    stmt = (
        select(Track)
        .where(
            Track.source == "upload",
            Track.analysis_status.in_(("pending", "running")),
            Track.analysis_updated_at < now - timedelta(minutes=STALL_MINUTES),
        )
        .limit(50)
        .with_for_update(skip_locked=True)
    )
    handled = 0
    for track in session.scalars(stmt):
        track.analysis_updated_at = now
        if track.analysis_attempts >= MAX_ANALYSIS_ATTEMPTS or not track.storage_key or not track.sha256:
            track.analysis_status, track.analysis_error = "failed", "the analysis did not finish"
        else:
            track.analysis_attempts += 1
            track.analysis_status, track.analysis_progress = "pending", 0.0
            add_event(
                session,
                TrackUploaded(
                    track_id=track.id,
                    owner_id=track.owner_id,
                    storage_key=track.storage_key,
                    content_type=track.content_type,  # type: ignore[arg-type]
                    size_bytes=track.size_bytes or 1,
                    sha256=track.sha256,
                    attempt=track.analysis_attempts,
                ),
            )
        handled += 1
    session.commit()
    return handled


JOBS: dict[str, Job] = {
    "rooms.upkeep": rooms_upkeep,
    "rooms.requeue_stalled_analysis": requeue_stalled_analysis,
}
