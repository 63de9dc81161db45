"""Typed settings, loaded once: defaults -> configs/base.toml -> configs/<env>.toml -> environment.

Every process calls :func:`load_settings` in its entry point and passes the frozen result
down; nothing deeper reads ``os.environ``. Environment variables use the ``DOWNBEAT_``
prefix with ``__`` between section and key (``DOWNBEAT_MEDIA__PORT=8021``); the
well-known names ``DATABASE_URL``, ``KAFKA_BOOTSTRAP``, ``REDIS_URL`` and
``NOTIFICATIONS_DATABASE_URL`` are honoured too because operators expect them.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "CONFIG_DIR",
    "Settings",
    "SettingsError",
    "TopicConfig",
    "load_settings",
    "load_topics",
]

CONFIG_DIR = Path(os.environ.get("DOWNBEAT_CONFIG_DIR", Path(__file__).resolve().parent.parent / "configs"))


@dataclass(frozen=True)
class ServiceAddress:
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"


@dataclass(frozen=True)
class ControlPlaneSettings(ServiceAddress):
    port: int = 8000
    # Processes x threads. One process is enough on SQLite (one writer anyway); on
    # PostgreSQL more processes get past the GIL. Each open WebSocket holds a thread, and
    # every page keeps /ws/notifications open: threads bound how many tabs a process serves
    # (with 64, the 65th tab left no thread for any request). The request gate below, not
    # the thread count, bounds how many ordinary requests run at once.
    workers: int = 1
    threads: int = 512
    # Of those threads, how many may run ordinary (non-WebSocket) requests at once: more
    # only queue on the GIL (control_plane/kits/http/request_gate.py; measured in docs/BOOKINGS_PERF.md).
    busy_requests: int = 4
    # Pages' Content-Security-Policy allows 'unsafe-eval' only where browser-automation tools
    # need it (Playwright evaluates strings): the test configuration, never dev or prod.
    csp_allow_eval: bool = False
    # Strict-Transport-Security on every answer (prod, behind TLS): seconds, 0 for none.
    hsts_seconds: int = 0
    public_url: str = ""
    # How our own processes reach it (stream worker callbacks); empty: host and port above.
    internal_url: str = ""


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = "sqlite:///downbeat.db"


@dataclass(frozen=True)
class NotificationSettings(ServiceAddress):
    port: int = 8010
    database_url: str = "sqlite:///notifications.db"
    internal_url: str = ""
    # Session reminders go out this many minutes before the start (comma-separated).
    reminder_minutes: str = "1440,60"
    # How often the service's timers look for due reminders and queued mail.
    timer_interval_ms: int = 1000

    @property
    def reminder_windows(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.reminder_minutes.split(",") if part.strip())


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 8025
    sender: str = "Downbeat <alerts@downbeat.localhost>"
    # A recipient gets at most one mail per window; what queues up meanwhile becomes a digest.
    digest_window_s: int = 60

    @property
    def local_sink(self) -> bool:
        """True when mail goes to the `downbeat mailsink` on this machine (dev and tests)."""
        return self.host in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class MediaSettings(ServiceAddress):
    port: int = 8020
    sample_rate: int = 48000
    hop: int = 800
    max_streams: int = 32
    internal_url: str = ""


@dataclass(frozen=True)
class WorkerSettings(ServiceAddress):
    port: int = 8030
    batch_max: int = 64
    batch_within_ms: int = 5


@dataclass(frozen=True)
class RelaySettings(ServiceAddress):
    port: int = 8040
    poll_interval_ms: int = 100
    batch_size: int = 200
    # After the broker lost its memory (an in-memory Tansu restarted), the outbox rows sent
    # this many seconds back are published again; consumers deduplicate on event_id.
    replay_window_s: int = 86400
    # Fault injection for crash tests only ("after_publish"); empty in every real deployment.
    failpoint: str = ""


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap: str = ""
    embedded_port: int = 19092

    @property
    def embedded(self) -> bool:
        return not self.bootstrap

    @property
    def servers(self) -> str:
        return self.bootstrap or f"127.0.0.1:{self.embedded_port}"


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    embedded_port: int = 16379

    @property
    def embedded(self) -> bool:
        return not self.url

    @property
    def effective_url(self) -> str:
        return self.url or f"redis://127.0.0.1:{self.embedded_port}/0"


@dataclass(frozen=True)
class BookingSettings:
    # An unpaid seat hold is released after this long (and the waitlist moves up).
    payment_hold_minutes: int = 15
    # The simulated payment provider confirms this long after the customer pays.
    simulated_webhook_delay_ms: int = 300


@dataclass(frozen=True)
class RequestSettings:
    # A musician booking request nobody answered expires after this long.
    expire_after_hours: int = 72


@dataclass(frozen=True)
class HousekeepingSettings:
    # How often the relay process runs timed jobs (hold expiry, request expiry).
    interval_s: int = 5


@dataclass(frozen=True)
class RoomSettings:
    # Host commands take effect this far ahead, so every client can start at the same instant.
    lead_ms: int = 250
    # Uploaded tracks larger than this are refused with 413.
    max_track_bytes: int = 50 * 1024 * 1024
    # A socket refreshes its presence this often; presence lapses after ttl without one.
    presence_heartbeat_ms: int = 5000
    presence_ttl_ms: int = 15000
    # A host gone (no open socket) this long hands the room to the longest-present member.
    host_grace_ms: int = 20000
    # How often each gateway process looks for tracks that ended (auto-advance).
    tick_ms: int = 200


@dataclass(frozen=True)
class StorageSettings:
    """Where project files' bytes live (control_plane.kits.storage)."""

    backend: str = "folder"  # "folder" (under the data dir) or "s3" (any S3-compatible store)
    folder: str = "files"  # relative to the data dir, or absolute
    s3_endpoint_url: str = ""  # empty: AWS itself
    s3_bucket: str = "downbeat-files"
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""  # empty: boto3's own chain (environment, instance role)
    s3_secret_access_key: str = ""
    s3_create_bucket: bool = False  # dev and tests: make the bucket when it is missing
    # Downloads from S3 answer with a redirect to a signed URL valid this long (0: stream
    # through the control plane instead).
    signed_url_seconds: int = 300


@dataclass(frozen=True)
class FileSettings:
    """Project files: size limits per kind (decided from the bytes), resumable uploads."""

    max_audio_bytes: int = 2 * 1024**3
    max_score_bytes: int = 100 * 1024**2
    max_image_bytes: int = 50 * 1024**2
    max_document_bytes: int = 200 * 1024**2
    max_other_bytes: int = 2 * 1024**3
    # An unfinished resumable upload is kept this long after its last chunk, then removed.
    upload_expire_hours: int = 24
    # What a client is told to send per chunk (any size up to max_chunk_bytes is accepted).
    chunk_bytes: int = 8 * 1024**2
    max_chunk_bytes: int = 64 * 1024**2
    # What one person's unfinished uploads may declare in all (they are staged on the
    # control plane's disk): one member cannot fill it.
    max_open_upload_bytes: int = 8 * 1024**3
    # An audio version whose analysis has not finished after this long is asked for again.
    analysis_retry_minutes: int = 10


@dataclass(frozen=True)
class AuthSettings:
    access_token_minutes: int = 30
    refresh_token_days: int = 14
    # A rotated refresh token presented again within this many seconds is a client racing
    # itself (two tabs, a retry), not theft: it gets a fresh pair instead of revoking the login.
    refresh_reuse_grace_s: int = 10
    # argon2id cost (RFC 9106 low-memory profile); the test config lowers it so suites that
    # create hundreds of accounts stay fast. Stored hashes carry their own parameters.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits (Flask-Limiter strings such as "10/minute;50/hour", per client address)."""

    # Empty: the app's Redis. "memory://" keeps counters per process (tests only).
    storage_url: str = ""
    login: str = "10/minute;60/hour"
    register: str = "5/minute;30/hour"
    refresh: str = "30/minute"
    # Messages (issue 15): per sender, and per conversation (all its members together).
    message_user: str = "30/10second;600/hour"
    message_conversation: str = "60/10second"
    # Failed logins before each further failure locks for base * 2^n seconds (capped).
    account_failures: int = 5
    address_failures: int = 20
    lockout_base_s: int = 1
    lockout_max_s: int = 900
    failure_window_s: int = 3600


@dataclass(frozen=True)
class Settings:
    env: str = "dev"
    data_dir: str = "var"
    log_level: str = "INFO"
    secret_key: str = ""
    control_plane: ControlPlaneSettings = field(default_factory=ControlPlaneSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    relay: RelaySettings = field(default_factory=RelaySettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    bookings: BookingSettings = field(default_factory=BookingSettings)
    requests: RequestSettings = field(default_factory=RequestSettings)
    housekeeping: HousekeepingSettings = field(default_factory=HousekeepingSettings)
    rooms: RoomSettings = field(default_factory=RoomSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    files: FileSettings = field(default_factory=FileSettings)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    @property
    def database_url(self) -> str:
        return _resolve_sqlite(self.database.url, self.data_path)

    @property
    def notifications_database_url(self) -> str:
        return _resolve_sqlite(self.notifications.database_url, self.data_path)

    @property
    def notifications_url(self) -> str:
        return self.notifications.internal_url or self.notifications.url

    @property
    def mail_dir(self) -> Path:
        """Where the local mail sink keeps each message as a .eml file."""
        return self.data_path / "mail"

    @property
    def storage_path(self) -> Path:
        """The folder adapter's root (control_plane.kits.storage.folder)."""
        return self.data_path / self.storage.folder

    @property
    def media_url(self) -> str:
        return self.media.internal_url or self.media.url

    @property
    def public_url(self) -> str:
        return self.control_plane.public_url or self.control_plane.url


@dataclass(frozen=True)
class TopicConfig:
    name: str
    partitions: int
    retention_ms: int
    key: str


_ENV_ALIASES = {
    "DATABASE_URL": ("database", "url"),
    "KAFKA_BOOTSTRAP": ("kafka", "bootstrap"),
    "REDIS_URL": ("redis", "url"),
    "NOTIFICATIONS_DATABASE_URL": ("notifications", "database_url"),
    "DOWNBEAT_SECRET_KEY": ("secret_key",),
}

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting that cannot be: an unknown key or variable (a typo), or a value of the wrong
    type. Raised at start, naming the setting, where it came from and what was expected."""


def load_settings(env: str | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings for ``env`` (default: ``DOWNBEAT_ENV`` or ``dev``). A key in a config
    file or a ``DOWNBEAT_<SECTION>__<KEY>`` variable that names no setting is refused with
    the nearest valid name, and so is a value of the wrong type (:class:`SettingsError`)."""
    environ = os.environ if environ is None else environ
    env = env or environ.get("DOWNBEAT_ENV", "dev")
    merged: dict[str, Any] = {}
    for name in ("base", env):
        path = CONFIG_DIR / f"{name}.toml"
        if path.exists():
            loaded = tomllib.loads(path.read_text())
            _check_keys(Settings, loaded, f"{path.name}: ", "")
            _deep_merge(merged, loaded)
    for key, value in environ.items():
        if key in _ENV_ALIASES:
            _set_path(merged, _ENV_ALIASES[key], value)
        elif key.startswith("DOWNBEAT_") and key not in ("DOWNBEAT_ENV", "DOWNBEAT_CONFIG_DIR"):
            path_parts = tuple(part.lower() for part in key[len("DOWNBEAT_") :].split("__"))
            if _names_a_setting(path_parts, key):
                _set_path(merged, path_parts, value)
    merged["env"] = env
    settings = _build(Settings, merged, "")
    if not settings.secret_key:
        if env == "prod":
            raise RuntimeError("DOWNBEAT_SECRET_KEY must be set in prod")
        # A stable development key so tokens survive a restart of `downbeat up`.
        settings = replace(settings, secret_key=f"downbeat-insecure-{env}-key-change-me-0123456789")
    return settings


def _field_names(cls: type[Any]) -> list[str]:
    return [f.name for f in fields(cls)]


def _nearest(name: str, choices: list[str]) -> str:
    found = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return f" (did you mean {found[0]!r}?)" if found else f" (known: {', '.join(sorted(choices))})"


def _check_keys(cls: type[Any], data: Mapping[str, Any], origin: str, prefix: str) -> None:
    """Every key of a config file names a setting."""
    defaults = cls()
    names = _field_names(cls)
    for key, value in data.items():
        if key not in names:
            raise SettingsError(f"{origin}unknown setting {prefix}{key!r}{_nearest(key, names)}")
        default = getattr(defaults, key)
        if is_dataclass(default) and isinstance(value, Mapping):
            _check_keys(type(default), value, origin, f"{prefix}{key}.")


def _names_a_setting(parts: tuple[str, ...], variable: str) -> bool:
    """Whether ``DOWNBEAT_...`` names a setting. A sectioned variable (``A__B``) must; a plain
    one is ours only if it names (or nearly names) a top-level setting: other tools share the
    prefix (DOWNBEAT_FUZZ_EXAMPLES, DOWNBEAT_REQUIRE_POSTGRES ...)."""
    cls: type[Any] = Settings
    for depth, part in enumerate(parts):
        names = _field_names(cls)
        if part not in names:
            if len(parts) == 1 and not difflib.get_close_matches(part, names, n=1, cutoff=0.8):
                return False
            found = difflib.get_close_matches(part, names, n=1, cutoff=0.5)
            head = "__".join(p.upper() for p in parts[:depth])
            hint = (
                f" (did you mean DOWNBEAT_{head + '__' if head else ''}{found[0].upper()}?)"
                if found
                else f" (known here: {', '.join(sorted(n.upper() for n in names))})"
            )
            raise SettingsError(f"{variable} names no setting{hint}")
        default = getattr(cls(), part)
        if depth < len(parts) - 1:
            if not is_dataclass(default):
                raise SettingsError(f"{variable}: {part!r} is a setting, not a section")
            cls = type(default)
        elif is_dataclass(default):
            raise SettingsError(f"{variable}: {part!r} is a section; name one of its settings with __")
    return True


def load_topics() -> list[TopicConfig]:
    data = tomllib.loads((CONFIG_DIR / "topics.toml").read_text())
    return [
        TopicConfig(
            name=name, partitions=int(spec["partitions"]), retention_ms=int(spec["retention_ms"]), key=spec["key"]
        )
        for name, spec in data["topics"].items()
    ]


def _resolve_sqlite(url: str, data_path: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        return prefix + str(data_path / url[len(prefix) :])
    return url


def _deep_merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_merge(target[key], value)
        elif isinstance(value, Mapping):
            target[key] = dict(value)
        else:
            target[key] = value


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            return
    target[path[-1]] = value


def _build(cls: type[T], data: Mapping[str, Any], prefix: str) -> T:
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            continue
        raw = data[f.name]
        default = getattr(cls(), f.name)
        name = f"{prefix}{f.name}"
        if is_dataclass(default):
            kwargs[f.name] = _build(type(default), raw if isinstance(raw, Mapping) else {}, f"{name}.")
        elif isinstance(default, bool):
            kwargs[f.name] = _boolean(name, raw)
        elif isinstance(default, int):
            kwargs[f.name] = _integer(name, raw)
        elif isinstance(default, float):
            kwargs[f.name] = _number(name, raw)
        else:
            kwargs[f.name] = str(raw)
    return cls(**kwargs)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _boolean(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise SettingsError(f"setting {name}: expected true or false, got {raw!r}")


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise SettingsError(f"setting {name}: expected a whole number, got {raw!r}") from None


def _number(name: str, raw: object) -> float:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    try:
        return float(str(raw).strip())
    except ValueError:
        raise SettingsError(f"setting {name}: expected a number, got {raw!r}") from None
