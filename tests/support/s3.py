"""A real S3 API for tests: moto's server on a free port (an HTTP server in a process of its
own, spoken to through boto3 and plain HTTP like any S3-compatible store)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.support.services import free_port, wait_port

__all__ = ["running_moto_s3"]


def _moto_server() -> Path:
    # The venv's console script sits beside its python; not resolved, as bin/python is a symlink.
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        raise RuntimeError(f"{binary} is missing: install moto[server] into the venv (it is in requirements)")
    return binary


def _wait_http(url: str, process: subprocess.Popen[bytes], log: IO[bytes], timeout: float = 30.0) -> None:
    """The port opens before moto has loaded its S3 backend: wait for a real S3 answer."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"moto_server exited with {process.returncode}: {log.read()[-2000:]!r}")
        try:
            with opener.open(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"moto_server does not answer {url} after {timeout}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


@contextmanager
def running_moto_s3() -> Iterator[str]:
    """Start moto's S3 server on 127.0.0.1 and yield its endpoint URL; stop it afterwards.

    Its request log goes to a temporary file (a pipe nobody reads would fill and stall it),
    shown when it fails to start. State lives in its memory: use a fresh bucket per test.
    """
    port = free_port()
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(_moto_server()), "-H", "127.0.0.1", "-p", str(port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_port(port, timeout=30.0)
            endpoint = f"http://127.0.0.1:{port}"
            _wait_http(endpoint, process, log)
            yield endpoint
        finally:
            _stop(process)
