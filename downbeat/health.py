"""/healthz and /readyz for every process.

``/healthz`` says the process is alive. ``/readyz`` runs each dependency check and names the
ones that are down, so an operator (or `downbeat up`) knows what to fix.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import redis

__all__ = ["Check", "readiness", "redis_ok", "serve_health_in_thread", "sql_ok"]

Check = Callable[[], bool]
log = logging.getLogger(__name__)


def readiness(checks: Mapping[str, Check]) -> tuple[int, dict[str, Any]]:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = "ok" if check() else "down"
        except Exception:  # a probe must never take the process down
            log.debug("readiness check %s failed", name, exc_info=True)
            results[name] = "down"
    down = [name for name, state in results.items() if state != "ok"]
    body: dict[str, Any] = {"status": "not ready" if down else "ready", "checks": results}
    if down:
        body["down"] = down
    return (503 if down else 200), body


def redis_ok(url: str) -> Check:
    client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    return lambda: bool(client.ping())


def sql_ok(engine: Any) -> Check:
    from sqlalchemy import text  # only processes with a database call this; media and worker never load it

    def check() -> bool:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True

    return check


def serve_health_in_thread(host: str, port: int, checks: Mapping[str, Check]) -> ThreadingHTTPServer:
    """Serve the two endpoints from a daemon thread (for processes with no web server)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body: dict[str, Any]
            if self.path == "/healthz":
                status, body = 200, {"status": "alive"}
            elif self.path == "/readyz":
                status, body = readiness(checks)
            else:
                status, body = 404, {"title": "Not Found", "status": 404}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
    return server
