"""/healthz and /readyz for the control plane."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from control_plane.kits.extensions import REDIS_KEY, current_settings, db
from control_plane.kits.http.request_gate import slot_released
from downbeat.health import readiness, sql_ok
from downbeat.kafka import broker_reachable

__all__ = ["bp"]

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "alive"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    settings = current_settings()
    checks = {
        "database": sql_ok(db.engine),
        # The app's own client (one pool per process), not a new connection per probe.
        "redis": lambda: bool(current_app.extensions[REDIS_KEY].ping()),
        "broker": lambda: broker_reachable(settings.kafka.servers),
    }
    with slot_released():  # probes wait on other services, up to their timeouts
        status, body = readiness(checks)
    return jsonify(body), status
