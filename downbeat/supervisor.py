"""A small process supervisor for `downbeat up`: starts children, prefixes their log lines
with their names, restarts a child that crashes (with backoff), stops all cleanly."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Child", "Supervisor"]

_COLORS = ["36", "33", "35", "32", "34", "31", "96", "93", "95"]
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Children get SIGTERM if the supervisor itself is killed (Linux), so none is orphaned."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    restart: bool = True
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    restart_at: float | None = None


class Supervisor:
    def __init__(self, out: Callable[[str], None] | None = None) -> None:
        self.children: list[Child] = []
        self._out = out or (lambda line: print(line, flush=True))
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._pumps: list[threading.Thread] = []
        self._width = 12
        self._color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

    def log(self, name: str, line: str) -> None:
        index = sum(ord(c) for c in name) % len(_COLORS)
        label = f"{name:<{self._width}}|"
        if self._color:
            label = f"\033[{_COLORS[index]}m{label}\033[0m"
        with self._lock:
            self._out(f"{label} {line}")

    def start(self, child: Child) -> Child:
        env = {**os.environ, **child.env, "PYTHONUNBUFFERED": "1"}
        child.process = subprocess.Popen(
            child.argv,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches only us; we stop children in order
            preexec_fn=_die_with_parent,
        )
        child.started_at = time.monotonic()
        if child not in self.children:
            self.children.append(child)
        pump = threading.Thread(target=self._pump, args=(child, child.process), daemon=True)
        pump.start()
        self._pumps.append(pump)
        return child

    def _pump(self, child: Child, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for raw in iter(process.stdout.readline, b""):
                self.log(child.name, raw.decode(errors="replace").rstrip())

    def watch_once(self) -> None:
        """Restart children that exited on their own, with exponential backoff.

        Called from the main thread only: PR_SET_PDEATHSIG fires when the *thread* that
        forked a child ends, so children must never be started from short-lived threads.
        """
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None and now >= child.restart_at and not self._stopping.is_set():
                child.restart_at = None
                self.start(child)
                continue
            process = child.process
            if process is None or process.poll() is None or self._stopping.is_set():
                continue
            if not child.restart:
                continue
            uptime = time.monotonic() - child.started_at
            if uptime > 60:
                child.restarts = 0  # it ran fine for a while; start the backoff over
            delay = min(2**child.restarts, 30)
            self.log("downbeat", f"{child.name} exited with {process.returncode}; restarting in {delay}s")
            child.restarts += 1
            child.process = None
            child.restart_at = now + delay

    def stop_all(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        for child in reversed(self.children):
            if child.process is not None and child.process.poll() is None:
                self.log("downbeat", f"stopping {child.name}")
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in reversed(self.children):
            if child.process is None:
                continue
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log("downbeat", f"{child.name} did not stop; killing it")
                child.process.kill()
                child.process.wait()
        for pump in self._pumps:
            pump.join(timeout=2)
