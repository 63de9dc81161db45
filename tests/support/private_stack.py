"""A stack of real processes with its own broker and Redis, for tests that kill processes or
load the machine: nothing they do reaches the session's shared ``stack`` (no shared Redis
channels, no shared consumer group), and a crash they cause cannot leave it broken."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from downbeat.kafka import create_topics
from tests.support.services import running_redis, running_tansu
from tests.support.stack import Stack

__all__ = ["PrivateStack", "private_stack"]


@dataclass
class PrivateStack(Stack):
    """A :class:`Stack` whose every process (restarts included) also gets ``extra_env``."""

    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **self.extra_env}

    def crash(self, name: str) -> None:
        """SIGKILL to the process's whole group (gunicorn's master and its workers alike):
        nothing gets to flush, finish a request or say goodbye."""
        process = self.processes[name]
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
        self.kill(name)

    def restart(self, name: str, timeout: float = 120.0) -> None:
        self.start(name)
        self.wait_ready(name, timeout=timeout)


@contextmanager
def private_stack(
    folder: Path, processes: Sequence[str], extra_env: dict[str, str] | None = None
) -> Iterator[PrivateStack]:
    """Its own Tansu broker (topics created) and Redis, migrated, ``processes`` started and ready."""
    (folder / "redis").mkdir(parents=True, exist_ok=True)
    (folder / "stack").mkdir(parents=True, exist_ok=True)
    with running_tansu() as bootstrap, running_redis(folder / "redis") as redis_url:
        create_topics(bootstrap)
        stack = PrivateStack(
            data_dir=folder / "stack", bootstrap=bootstrap, redis_url=redis_url, extra_env=dict(extra_env or {})
        )
        try:
            stack.run("migrate")
            for name in processes:
                stack.start(name)
            stack.wait_ready(*processes)
            yield stack
        finally:
            stack.stop_all()
