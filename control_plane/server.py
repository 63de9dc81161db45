"""Serving the control plane with gunicorn's threaded worker (flask-sock needs real threads:
each open WebSocket holds one)."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

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


def serve(settings: Settings) -> None:
    from control_plane import create_app

    app = create_app(settings)
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
