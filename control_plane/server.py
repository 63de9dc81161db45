"""Serving the control plane with gunicorn's threaded worker (flask-sock needs real threads:
each open WebSocket holds one)."""

from __future__ import annotations

import gc
import json
import re
from typing import Any

from gunicorn import util
from gunicorn.app.base import BaseApplication

from control_plane.app import create_app
from downbeat.settings import Settings

__all__ = ["serve"]


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._app


def _problem_from_the_server(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own answer to a request it cannot parse (a 431 for a huge header, a 400 for a
    bad request line), as problem+json like every other error: the contract allows no HTML
    error page under /api, and gunicorn answers before it knows the path."""
    code = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "bad-request"
    body = json.dumps(
        {"type": f"/problems/{code}", "title": reason, "status": status_int, "detail": mesg or reason, "code": code}
    ).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin-1") + body)


def serve(settings: Settings) -> None:
    app = create_app(settings)
    # Everything loaded so far (modules, the app, SQLAlchemy's metadata) lives as long as the
    # process: out of the collector's sight, a full collection scans only what requests made,
    # instead of pausing a request for the whole heap (and forked workers share those pages).
    gc.collect()
    gc.freeze()
    util.write_error = _problem_from_the_server  # the workers call it through the module
    options = {
        "bind": f"{settings.control_plane.host}:{settings.control_plane.port}",
        "worker_class": "gthread",
        "workers": settings.control_plane.workers,
        "threads": settings.control_plane.threads,
        "timeout": 0,  # WebSockets are long-lived; the gthread worker must not be killed for them
        "graceful_timeout": 5,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
    }
    _Gunicorn(app, options).run()
