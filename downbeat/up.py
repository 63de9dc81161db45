"""`downbeat up`: the whole stack on one machine, on embedded defaults."""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from control_plane.seed import Demo
from downbeat.embedded import EmbeddedUnavailable, redis_command, redis_server_binary
from downbeat.settings import Settings
from downbeat.supervisor import Child, Supervisor

__all__ = ["run_up"]

READY_TIMEOUT_S = 180


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _wait_tcp(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URLs
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _fail(message: str) -> int:
    print(f"downbeat: {message}", file=sys.stderr, flush=True)
    return 1


def run_up(settings: Settings, *, seed: bool = True, workers: int = 1, install: bool = True) -> int:
    data = settings.data_path
    data.mkdir(parents=True, exist_ok=True)
    me = [sys.executable, "-m", "downbeat"]
    if settings.env != "dev":
        me += ["--env", settings.env]
    child_env = {
        "KAFKA_BOOTSTRAP": settings.kafka.servers,
        "REDIS_URL": settings.redis.effective_url,
        "DOWNBEAT_DATA_DIR": str(data),
    }
    worker_ports = [settings.worker.port + i for i in range(max(1, workers))]
    wanted = {
        "control plane": settings.control_plane.port,
        "notifications": settings.notifications.port,
        "media": settings.media.port,
        "relay": settings.relay.port,
        **{f"worker {i + 1}": port for i, port in enumerate(worker_ports)},
    }
    if settings.kafka.embedded:
        wanted["broker"] = settings.kafka.embedded_port
    if settings.redis.embedded:
        wanted["redis"] = settings.redis.embedded_port
    busy = [f"{name} ({port})" for name, port in wanted.items() if not _port_free(port)]
    if busy:
        return _fail(f"ports already in use: {', '.join(busy)}; stop what holds them or change them in configs/")

    supervisor = Supervisor()
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        if settings.redis.embedded:
            try:
                binary = redis_server_binary(install)
            except EmbeddedUnavailable as exc:
                return _fail(str(exc))
            supervisor.start(Child("redis", redis_command(binary, settings.redis.embedded_port, data)))
        if settings.kafka.embedded:
            supervisor.start(Child("broker", [*me, "broker"]))
            if not _wait_tcp(settings.kafka.embedded_port, 30):
                return _fail("the embedded Tansu broker did not start; see its log lines above")
        if settings.redis.embedded and not _wait_tcp(settings.redis.embedded_port, 15):
            return _fail("the private redis-server did not start; see its log lines above")

        # `up` knows every process, but loads the control plane only once its services are up.
        from control_plane.kits.db.migrations import upgrade
        from downbeat.kafka import create_topics, wait_for_broker

        wait_for_broker(settings.kafka.servers)
        created = create_topics(settings.kafka.servers)
        supervisor.log("downbeat", f"topics ready ({len(created)} created)")
        upgrade(settings.database_url)
        supervisor.log("downbeat", "database migrated")
        demo = None
        if seed:
            from control_plane.seed import seed_demo

            demo = seed_demo(settings)
            supervisor.log("downbeat", "demo data seeded")

        if settings.smtp.local_sink and _port_free(settings.smtp.port):
            supervisor.start(Child("mail", [*me, "mailsink"], child_env))
        elif settings.smtp.local_sink:
            # Mail is queued and retried, so a busy port costs mail, not the stack.
            supervisor.log("downbeat", f"SMTP port {settings.smtp.port} is busy; not starting the mail sink")
        for name in ("control-plane", "relay", "notifications", "media"):
            supervisor.start(Child(name, [*me, name], child_env))
        for i, port in enumerate(worker_ports):
            supervisor.start(Child(f"worker-{i + 1}", [*me, "worker", "--port", str(port)], child_env))

        checks = {
            "control-plane": f"{settings.control_plane.url}/readyz",
            "relay": f"{settings.relay.url}/readyz",
            "notifications": f"{settings.notifications.url}/readyz",
            "media": f"{settings.media.url}/readyz",
            **{f"worker-{i + 1}": f"http://127.0.0.1:{port}/readyz" for i, port in enumerate(worker_ports)},
        }
        pending = dict(checks)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while pending and not stop.is_set():
            for name, url in list(pending.items()):
                if _ready(url):
                    supervisor.log("downbeat", f"{name} ready")
                    del pending[name]
            if time.monotonic() > deadline:
                return _fail(f"not ready after {READY_TIMEOUT_S}s: {', '.join(pending)}")
            supervisor.watch_once()
            stop.wait(0.5)
        if not stop.is_set():
            _banner(settings, demo, supervisor)
        while not stop.is_set():
            supervisor.watch_once()
            stop.wait(0.5)
        return 0
    finally:
        supervisor.stop_all()
        supervisor.log("downbeat", "stopped")


def _banner(settings: Settings, demo: Demo | None, supervisor: Supervisor) -> None:
    from control_plane.seed import demo_lines

    url = settings.public_url
    lines = [
        "",
        "Downbeat is up.",
        f"  Web UI and API   {url}",
        f"  OpenAPI          {url}/api/openapi.json",
        f"  Kafka            {settings.kafka.servers}{' (embedded Tansu)' if settings.kafka.embedded else ''}",
        f"  Redis            {settings.redis.effective_url}{' (private)' if settings.redis.embedded else ''}",
        f"  Database         {settings.database_url}",
        *([f"  Mail             {url}/mail (local sink)"] if settings.smtp.local_sink else []),
        f"  Data             {Path(settings.data_dir).resolve()}",
    ]
    if demo is not None:
        lines += ["", *demo_lines(demo, settings)]
    lines += ["", "Press Ctrl-C to stop everything.", ""]
    for line in lines:
        supervisor.log("downbeat", line)
