"""A Tansu broker a test can SIGKILL and start again on the same port, with its in-memory
storage gone, like `downbeat up` restarting a crashed embedded broker."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from downbeat.embedded import tansu_command
from tests.support.services import free_port, wait_port

__all__ = ["RestartableTansu", "restartable_tansu"]


class RestartableTansu:
    def __init__(self) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self._process is None, "already running"
        self._process = subprocess.Popen(tansu_command(self.port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def crash(self) -> None:
        """SIGKILL: nothing is flushed, and the memory storage is gone with the process."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait(10)

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def restartable_tansu() -> Iterator[RestartableTansu]:
    broker = RestartableTansu()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
