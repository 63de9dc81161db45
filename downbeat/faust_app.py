"""Settings every faust app of ours shares, tuned for Tansu in development."""

from __future__ import annotations

import sys
from typing import Any

from downbeat.settings import Settings

__all__ = ["FETCH_MAX_WAIT_MS", "base_faust_settings", "run_faust_worker"]

# faust hard-codes aiokafka's fetch_max_wait_ms=1500. Tansu answers an empty fetch only when
# that wait runs out instead of when data arrives, which put ~750 ms into every alert
# (measured: tests/benchmarks/test_bench_alert_latency.py). A short wait costs a few idle
# fetch requests per second and brings the latency down to the relay's poll interval.
FETCH_MAX_WAIT_MS = 20


def _install_short_fetch_wait() -> None:
    from faust.transport.drivers import aiokafka as faust_aiokafka  # faust loads only in the faust processes

    thread_class = faust_aiokafka.AIOKafkaConsumerThread
    if getattr(thread_class, "_downbeat_short_fetch", False):
        return
    original = thread_class._create_worker_consumer

    def create_worker_consumer(self: Any, transport: Any) -> Any:
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by AIOKafkaConsumer.start()
        return consumer

    setattr(thread_class, "_create_worker_consumer", create_worker_consumer)  # noqa: B010
    setattr(thread_class, "_downbeat_short_fetch", True)  # noqa: B010


def base_faust_settings(settings: Settings, *, web_host: str, web_port: int) -> dict[str, Any]:
    _install_short_fetch_wait()
    datadir = settings.data_path / "faust" / str(web_port)
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return {
        "broker": f"kafka://{settings.kafka.servers}",
        "store": "memory://",
        "web_enabled": True,
        "web_host": web_host,
        "web_port": web_port,
        "web_bind": web_host,
        # Short sessions: a restarted worker rejoins in seconds, not the default 60 s.
        "broker_session_timeout": 6.0,
        "broker_heartbeat_interval": 1.0,
        "broker_request_timeout": 40.0,
        "consumer_auto_offset_reset": "earliest",
        # Topics come from configs/topics.toml (`downbeat topics`); faust must not invent them.
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "producer_acks": -1,
        "datadir": str(datadir),
    }


def run_faust_worker(app: Any, log_level: str = "WARNING") -> None:
    """Run a faust app in the foreground until SIGTERM/SIGINT."""
    from faust.worker import Worker  # faust loads only in the faust processes

    sys.argv = sys.argv[:1]  # faust's worker parses argv; ours was already parsed
    worker = Worker(app, loglevel=log_level.lower(), quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
