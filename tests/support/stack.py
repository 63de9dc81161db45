"""Running Downbeat's processes as real subprocesses for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.services import free_port

__all__ = ["Stack", "http_json"]

PROCESS_PORT_KEYS = {
    "control-plane": "DOWNBEAT_CONTROL_PLANE__PORT",
    "notifications": "DOWNBEAT_NOTIFICATIONS__PORT",
    "media": "DOWNBEAT_MEDIA__PORT",
    "worker": "DOWNBEAT_WORKER__PORT",
    "relay": "DOWNBEAT_RELAY__PORT",
}


def http_json(
    method: str, url: str, body: Any = None, token: str | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


@dataclass
class Stack:
    """Processes sharing one environment (ports, data dir, broker, Redis)."""

    data_dir: Path
    bootstrap: str
    redis_url: str
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)
    _handles: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in PROCESS_PORT_KEYS:
            self.ports.setdefault(name, free_port())

    @property
    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "DOWNBEAT_ENV": "test",
            "DOWNBEAT_DATA_DIR": str(self.data_dir),
            "KAFKA_BOOTSTRAP": self.bootstrap,
            "REDIS_URL": self.redis_url,
            "PYTHONUNBUFFERED": "1",
            "DOWNBEAT_LOG_LEVEL": "INFO",
        }
        for name, key in PROCESS_PORT_KEYS.items():
            env[key] = str(self.ports[name])
        return env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def base(self) -> str:
        return self.url("control-plane")

    def run(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "downbeat", *args], env=self.env, check=True, stdout=subprocess.DEVNULL, timeout=120
        )

    def start(self, name: str, extra_env: dict[str, str] | None = None) -> None:
        log = self.data_dir / f"{name}.log"
        self.logs[name] = log
        handle = log.open("ab")
        self._handles.append(handle)
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "downbeat", name],
            env={**self.env, **(extra_env or {})},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, *names: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                process = self.processes.get(name)
                if process is not None and process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}:\n{self.tail(name)}")
                try:
                    with urllib.request.urlopen(f"{self.url(name)}/readyz", timeout=2) as response:
                        if response.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not ready after {timeout}s:\n{self.tail(name)}")
                time.sleep(0.2)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        process.wait(30)

    def wait_exit(self, name: str, timeout: float) -> int:
        process = self.processes.pop(name)
        return process.wait(timeout)

    def stop_all(self) -> None:
        stopping = [self.processes.pop(name) for name in list(self.processes)]
        for process in stopping:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in stopping:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for handle in self._handles:
            handle.close()

    def tail(self, name: str, lines: int = 40) -> str:
        log = self.logs.get(name)
        if log is None or not log.exists():
            return "(no log)"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
