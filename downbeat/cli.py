"""The `downbeat` command: `up` runs the whole stack; one subcommand per process; tooling.

The only module that knows every process. Each subcommand imports its process when it runs,
on purpose: `downbeat relay` must not load numba and aiortc, nor `downbeat worker` Flask, and
a process never imports another (import-linter checks that, docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace

from downbeat.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _control_plane(settings: Settings, _args: argparse.Namespace) -> int:
    from control_plane.server import serve

    serve(settings)
    return 0


def _relay(settings: Settings, _args: argparse.Namespace) -> int:
    import signal
    import threading

    from control_plane.kits.jobs import run_forever
    from control_plane.kits.outbox.relay import OutboxRelay
    from control_plane.kits.outbox.wakeup import WakeListener
    from control_plane.schedule import ALL_JOBS
    from downbeat.health import serve_health_in_thread, sql_ok
    from downbeat.kafka import broker_reachable

    relay = OutboxRelay.from_url(
        settings.database_url,
        settings.kafka.servers,
        batch_size=settings.relay.batch_size,
        poll_interval=settings.relay.poll_interval_ms / 1000,
        failpoint=settings.relay.failpoint,
        replay_window_s=settings.relay.replay_window_s,
    )
    serve_health_in_thread(
        settings.relay.host,
        settings.relay.port,
        {
            "database": sql_ok(relay._engine),
            "broker": lambda: broker_reachable(settings.kafka.servers),
            "publishing": lambda: relay.healthy,
        },
    )
    WakeListener(settings.redis.effective_url, relay.wake)
    # Timed jobs (unpaid holds, unanswered requests) run beside the relay: it is the one
    # process that is always up and already owns a database connection for background work.
    stop_housekeeping = threading.Event()
    threading.Thread(
        target=run_forever,
        args=(relay._engine, settings, ALL_JOBS, stop_housekeeping),
        name="housekeeping",
        daemon=True,
    ).start()
    signal.signal(signal.SIGTERM, lambda *_: relay.stop())
    signal.signal(signal.SIGINT, lambda *_: relay.stop())
    try:
        relay.run_forever()
    finally:
        stop_housekeeping.set()
        relay.close()
    return 0


def _notifications(settings: Settings, _args: argparse.Namespace) -> int:
    from downbeat.faust_app import run_faust_worker
    from notification_service.app import create_faust_app

    run_faust_worker(create_faust_app(settings), settings.log_level)
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from downbeat.faust_app import run_faust_worker
    from stream_workers.app import create_faust_app

    if args.port is not None:
        settings = replace(settings, worker=replace(settings.worker, port=args.port))
    run_faust_worker(create_faust_app(settings), settings.log_level)
    return 0


def _media(settings: Settings, _args: argparse.Namespace) -> int:
    from media.server import run

    run(settings)
    return 0


def _broker(settings: Settings, _args: argparse.Namespace) -> int:
    from downbeat.embedded import tansu_command

    argv = tansu_command(settings.kafka.embedded_port)
    os.execv(argv[0], argv)  # noqa: S606  # the broker replaces this process; signals reach it directly


def _mailsink(settings: Settings, _args: argparse.Namespace) -> int:
    from downbeat.mailsink import run_mailsink

    run_mailsink(settings.smtp.host, settings.smtp.port, settings.mail_dir)
    return 0


def _topics(settings: Settings, _args: argparse.Namespace) -> int:
    from downbeat.kafka import create_topics, wait_for_broker

    wait_for_broker(settings.kafka.servers)
    created = create_topics(settings.kafka.servers)
    print("created topics: " + (", ".join(created) if created else "none (all exist)"))
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from control_plane.kits.db.migrations import upgrade

    upgrade(settings.database_url)
    print("database migrated to head")
    return 0


def _seed(settings: Settings, _args: argparse.Namespace) -> int:
    from control_plane.seed import print_demo, seed_demo

    print_demo(seed_demo(settings), settings)
    return 0


def _doctor(settings: Settings, _args: argparse.Namespace) -> int:
    from downbeat.doctor import run_doctor

    return run_doctor(settings)


def _up(settings: Settings, args: argparse.Namespace) -> int:
    from downbeat.up import run_up

    return run_up(settings, seed=not args.no_seed, workers=args.workers, install=not args.no_install)


COMMANDS: dict[str, tuple[Callable[[Settings, argparse.Namespace], int], str]] = {
    "up": (_up, "run the whole stack on embedded defaults"),
    "control-plane": (_control_plane, "the Flask control plane (API, pages, WebSockets)"),
    "relay": (_relay, "the outbox relay (database -> Kafka)"),
    "notifications": (_notifications, "the notification service (faust)"),
    "media": (_media, "the WebRTC media ingest (aiortc)"),
    "worker": (_worker, "one stream worker (faust)"),
    "broker": (_broker, "the embedded Tansu Kafka broker"),
    "mailsink": (_mailsink, "a local SMTP sink keeping mail under <data_dir>/mail/"),
    "topics": (_topics, "create the Kafka topics from configs/topics.toml"),
    "migrate": (_migrate, "apply database migrations"),
    "seed": (_seed, "create the demo accounts, session and room"),
    "doctor": (_doctor, "check Python, Redis, broker, database and Chromium"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="downbeat", description="Downbeat: music sessions, live.")
    parser.add_argument("--env", help="settings environment (configs/<env>.toml); default DOWNBEAT_ENV or dev")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == "up":
            p.add_argument("--no-seed", action="store_true", help="do not create the demo data")
            p.add_argument("--workers", type=int, default=1, help="stream workers to start (default 1)")
            p.add_argument("--no-install", action="store_true", help="never install system packages")
        if name == "worker":
            p.add_argument("--port", type=int, default=None, help="health/web port (several workers on one host)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.env)
    except SettingsError as refused:
        # A typo in a variable or a config file stops start-up here, saying which and why.
        print(f"downbeat: {refused}", file=sys.stderr)
        return 2
    from downbeat.logs import configure_logging

    configure_logging(settings.log_level)
    handler, _ = COMMANDS[args.command]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
