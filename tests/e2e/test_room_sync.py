"""Sync harness: several headless Chromium clients in one listening room, each behind its own
delaying, jittering TCP proxy and with its own skewed page clock; each reports what it hears
(`window.__syncProbe()`: playhead at an output timestamp) against the shared machine clock.

The harness (used by the benchmark too) measures the offset between clients after play, seek,
a late join and a host hand-over. This regular test asserts the correctness bound only: once
converged, no two clients are more than 40 ms apart (timing goals live in the benchmark)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
import soundfile as sf
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import launch_chromium
from tests.support.people import PASSWORD, register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e

CORRECTNESS_BOUND_MS = 40.0
GOAL_MS = 10.0
AUDIO_ARGS = ["--autoplay-policy=no-user-gesture-required"]

# --- a click track made here (no downloads) ----------------------------------------------------


def write_click_track(path: Path, seconds: float = 60.0, bpm: float = 120.0, rate: int = 44100) -> Path:
    """Short decaying clicks on every beat over a quiet bed: easy to hear, easy to analyse."""
    t = np.arange(int(seconds * rate)) / rate
    samples = 0.05 * np.sin(2 * np.pi * 220.0 * t)
    period = 60.0 / bpm
    click = np.sin(2 * np.pi * 1000.0 * t[: int(0.03 * rate)]) * np.exp(-t[: int(0.03 * rate)] * 150.0)
    for k in range(int(seconds / period)):
        at = int(k * period * rate)
        gain = 0.9 if k % 4 == 0 else 0.5
        samples[at : at + click.size] += gain * click[: samples.size - at]
    sf.write(path, np.clip(samples, -1, 1).astype(np.float32), rate, subtype="PCM_16")
    return path


# --- network: one delaying proxy per client -----------------------------------------------------


class DelayProxy:
    """TCP proxy that delays every chunk, each direction, by delay ± jitter (uniform), keeping
    order as TCP would. Runs its own asyncio loop in a thread."""

    def __init__(self, target_port: int, delay_ms: float, jitter_ms: float, seed: int) -> None:
        self.target_port, self.delay_ms, self.jitter_ms = target_port, delay_ms, jitter_ms
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    def __enter__(self) -> DelayProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for writer in list(self._writers):
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def _release_delay(self) -> float:
        return max(0.0, self.delay_ms + self._random.uniform(-self.jitter_ms, self.jitter_ms)) / 1000.0

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_w.close()
            return
        self._writers.add(server_w)
        try:
            await asyncio.gather(self._pump(client_r, server_w), self._pump(server_r, client_w), return_exceptions=True)
        except asyncio.CancelledError:
            pass  # shutting down; finishing normally keeps asyncio's connection callback quiet
        finally:
            for writer in (client_w, server_w):
                writer.close()
                self._writers.discard(writer)

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        pending: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                release, data = await pending.get()
                wait = release - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    dst.close()
                    return
                dst.write(data)
                await dst.drain()

        sender = asyncio.create_task(deliver())
        last = 0.0
        try:
            while True:
                data = await src.read(65536)
                last = max(last, loop.time() + self._release_delay())  # in order, like TCP
                await pending.put((last, data))
                if not data:
                    break
            await sender
        except (ConnectionError, OSError):
            dst.close()
        finally:
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)


# --- clients ------------------------------------------------------------------------------------


@dataclass
class Client:
    name: str
    person: dict[str, Any]
    proxy: DelayProxy
    skew_ms: float
    context: BrowserContext
    page: Page
    clock_error_ms: float = 0.0  # page clock minus machine clock, measured

    def probe(self) -> dict[str, Any]:
        result: dict[str, Any] = self.page.evaluate("() => window.__syncProbe ? window.__syncProbe() : null")
        return result or {}

    def send(self, message: dict[str, Any]) -> None:
        self.page.evaluate("(m) => window.downbeatRoom.socket.send(m)", message)

    def calibrate(self, rounds: int = 15) -> float:
        """Page clock (performance.timeOrigin + now, skew included) minus time.time(): taken from
        the evaluate round trip with the smallest delay."""
        best: tuple[float, float] | None = None
        for _ in range(rounds):
            before = time.time() * 1000.0
            page_ms = float(self.page.evaluate("() => performance.timeOrigin + performance.now()"))
            after = time.time() * 1000.0
            if best is None or after - before < best[0]:
                best = (after - before, page_ms - (before + after) / 2)
        assert best is not None
        self.clock_error_ms = best[1]
        return best[1]


SKEW_SCRIPT = """
(() => {
  const skew = %f;
  const origin = performance.timeOrigin;
  Object.defineProperty(Performance.prototype, "timeOrigin", { get() { return origin + skew; } });
})();
"""


def open_client(
    browser: Browser, stack: Stack, person: dict[str, Any], proxy: DelayProxy, skew_ms: float, name: str
) -> Client:
    context = browser.new_context(base_url=proxy.url)
    # A skewed page clock: the sync engine must learn the offset over the socket, not trust it.
    context.add_init_script(SKEW_SCRIPT % skew_ms)
    login = context.request.post("/api/auth/login", data={"email": person["email"], "password": PASSWORD})
    assert login.ok, login.text()
    page = context.new_page()
    return Client(name, person, proxy, skew_ms, context, page)


def enter_room(client: Client, code: str, by_code_form: bool = False) -> None:
    if by_code_form:
        client.page.goto("/rooms")
        client.page.fill("#room-code", code.lower())
        client.page.click("#join-form button[type=submit]")
        client.page.wait_for_url(f"**/rooms/{code}")
    else:
        client.page.goto(f"/rooms/{code}")
    client.page.wait_for_function(
        "() => window.downbeatRoom && window.downbeatRoom.clock.ready && window.downbeatRoom.clock.samplesSeen >= 8",
        timeout=30_000,
    )


# --- measurement ----------------------------------------------------------------------------------


@dataclass
class Round:
    at_s: float  # seconds since the command was sent
    positions: dict[str, float]  # playhead (ms) at one common machine instant
    raw: dict[str, float] = field(default_factory=dict)  # the same from unfiltered output stamps

    @property
    def spread_ms(self) -> float:
        values = list(self.positions.values())
        return max(values) - min(values)

    def pairs(self, raw: bool = False) -> list[float]:
        values = (self.raw if raw else self.positions).values()
        return [abs(a - b) for a, b in itertools.combinations(values, 2)]


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


@dataclass
class Phase:
    name: str
    rounds: list[Round] = field(default_factory=list)
    command_s: float = 0.0  # how long the command itself took (a page reload for a late join)

    def converged_at_s(self, goal_ms: float = GOAL_MS) -> float | None:
        """Seconds after the command returned from which every round stays within the goal
        (None: never). For a late join the command is the reload, until its clock is synced."""
        at: float | None = None
        for r in self.rounds:
            within = r.spread_ms < goal_ms
            at = (r.at_s if at is None else at) if within else None
        return None if at is None else max(0.0, at - self.command_s)

    def settled(self, after_s: float) -> list[Round]:
        """Rounds taken at least `after_s` after the command returned."""
        return [r for r in self.rounds if r.at_s >= self.command_s + after_s]

    def stats(self, after_s: float, raw: bool = False) -> dict[str, float]:
        return percentiles([p for r in self.settled(after_s) for p in r.pairs(raw) if r.raw or not raw])


Sampler = Callable[[list["Client"], float], Round | None]


def sample_round(clients: list[Client], started: float) -> Round | None:
    """Each client's playhead, extrapolated to one machine instant (the latest probe's)."""
    probes = [(c, c.probe()) for c in clients]
    if not all(p.get("playing") and p.get("position_ms") is not None for _, p in probes):
        return None

    def at_reference(key_wall: str, key_position: str) -> dict[str, float]:
        walls = {c.name: float(p[key_wall]) - c.clock_error_ms for c, p in probes}
        reference = max(walls.values())
        return {c.name: float(p[key_position]) + (reference - walls[c.name]) for c, p in probes}

    positions = at_reference("wall_ms", "position_ms")
    has_raw = all(p.get("raw_position_ms") is not None and p.get("raw_wall_ms") is not None for _, p in probes)
    raw = at_reference("raw_wall_ms", "raw_position_ms") if has_raw else {}
    return Round(at_s=time.monotonic() - started, positions=positions, raw=raw)


def sample_clocks(clients: list[Client], started: float) -> Round:
    """Each client's error in server time (its estimate minus the machine clock, which is the
    server's): differences between clients are what any playback would inherit."""
    errors = {
        c.name: float(c.page.evaluate("() => window.downbeatRoom.clock.offsetMs")) + c.clock_error_ms for c in clients
    }
    return Round(at_s=time.monotonic() - started, positions=errors)


def measure(
    clients: list[Client],
    name: str,
    seconds: float,
    command: Callable[[], None],
    period_s: float = 0.1,
    sampler: Sampler | None = None,
) -> Phase:
    """Run `command`, then sample for `seconds` after it returned (times count from its start)."""
    phase = Phase(name)
    started = time.monotonic()
    command()
    phase.command_s = time.monotonic() - started
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        found = (sampler or sample_round)(clients, started)
        if found is not None:
            phase.rounds.append(found)
        time.sleep(period_s)
    return phase


# --- the room scenario ------------------------------------------------------------------------------


@dataclass
class Scenario:
    stack: Stack
    browser: Browser
    tmp_path: Path
    network: list[tuple[float, float, float]]  # per client: (delay ms each way, jitter ms, clock skew ms)
    clients: list[Client] = field(default_factory=list)
    proxies: list[DelayProxy] = field(default_factory=list)
    code: str = ""
    track: dict[str, Any] = field(default_factory=dict)

    def setup(self) -> None:
        port = int(self.stack.base.rsplit(":", 1)[1])
        people = [
            register_person(self.stack.base, ["facilitator" if i == 0 else "user"], f"Sync {i}")
            for i in range(len(self.network))
        ]
        status, room = http_json(
            "POST", f"{self.stack.base}/api/rooms", {"name": "Sync harness"}, token=people[0]["access_token"]
        )
        assert status == 201, room
        self.code = room["code"]
        wav = write_click_track(self.tmp_path / "click.wav")
        with wav.open("rb") as handle:
            answer = requests.post(
                f"{self.stack.base}/api/tracks",
                files={"file": ("click.wav", handle, "audio/wav")},
                headers={"Authorization": f"Bearer {people[0]['access_token']}"},
                timeout=60,
            )
        assert answer.status_code == 201, answer.text
        self.track = answer.json()
        for i, (delay, jitter, skew) in enumerate(self.network):
            proxy = DelayProxy(port, delay, jitter, seed=i).__enter__()
            self.proxies.append(proxy)
            client = open_client(self.browser, self.stack, people[i], proxy, skew, f"c{i}")
            self.clients.append(client)
            enter_room(client, self.code, by_code_form=(i == 1))
        self.host.send({"type": "queue_add", "track_id": self.track["id"]})
        for client in self.clients:
            client.page.wait_for_selector(f'#queue .queue-item[data-track-id="{self.track["id"]}"]', timeout=20_000)
            client.calibrate()

    @property
    def host(self) -> Client:
        return self.clients[0]

    def wait_all_playing(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(c.probe().get("playing") for c in self.clients):
                return
            time.sleep(0.1)
        raise AssertionError(f"not every client is playing: {[c.probe() for c in self.clients]}")

    def current_host(self) -> Client:
        """Whoever the room says is host now (the server hands over by itself when a host's
        presence lapses, which a loaded machine can cause)."""
        for client in self.clients:
            if client.page.get_attribute("#room", "data-is-host") == "true":
                return client
        raise AssertionError("no page shows itself as host")

    def hand_over(self) -> Client:
        host = self.current_host()
        target = next(c for c in self.clients[1:] if c is not host)
        for _ in range(3):
            host.send({"type": "hand_over", "user_id": target.person["user"]["id"]})
            try:
                target.page.wait_for_selector('#room[data-is-host="true"]', timeout=5_000)
                return target
            except PlaywrightTimeout:
                host = self.current_host()
        error = host.page.evaluate("() => window.downbeatRoom.received.lastError || null")
        raise AssertionError(f"hand-over to {target.name} did not happen; host {host.name} last error: {error}")

    def run(self, window_s: float) -> list[Phase]:
        # After join: nothing plays yet, so compare what each client believes the server time is.
        phases = [measure(self.clients, "join (clock)", 1.0, lambda: None, period_s=0.1, sampler=sample_clocks)]
        phases.append(
            measure(
                self.clients, "play", window_s, lambda: self.current_host().send({"type": "play", "position_ms": 0})
            )
        )
        self.wait_all_playing()
        phases.append(
            measure(
                self.clients,
                "seek",
                window_s,
                lambda: self.current_host().send({"type": "seek", "position_ms": 20_000}),
            )
        )
        late = self.clients[-1]

        def rejoin() -> None:
            late.page.reload()
            enter_room(late, self.code)
            late.calibrate()

        phases.append(measure(self.clients, "late join", window_s, rejoin))
        new_host = self.hand_over()
        phases.append(
            measure(
                self.clients,
                "hand-over + seek",
                window_s,
                lambda: new_host.send({"type": "seek", "position_ms": 5_000}),
            )
        )
        return phases

    def close(self) -> None:
        for client in self.clients:
            client.context.close()
        for proxy in self.proxies:
            proxy.__exit__(None, None, None)


def phase_rows(phases: list[Phase], settle_s: float) -> list[dict[str, Any]]:
    rows = []
    for phase in phases:
        # The clock phase has nothing to settle from: every sample counts.
        after = 0.0 if phase.name.startswith("join") else settle_s
        raw = phase.stats(after, raw=True)
        rows.append(
            {
                "phase": phase.name,
                "converged_s": phase.converged_at_s(),
                "command_s": phase.command_s,
                "rounds": len(phase.rounds),
                **phase.stats(after),
                "raw_p95": raw["p95"],
                "raw_max": raw["max"],
            }
        )
    return rows


# --- the regular test ---------------------------------------------------------------------------------

E2E_NETWORK = [(5.0, 2.0, 0.0), (25.0, 8.0, 180.0), (12.0, 5.0, -240.0)]


def test_three_browsers_stay_in_sync_through_play_seek_join_and_hand_over(stack: Stack, tmp_path: Path) -> None:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, AUDIO_ARGS)
        scenario = Scenario(stack, browser, tmp_path, E2E_NETWORK)
        try:
            scenario.setup()
            # Each page learned its (skewed) clock's offset to the server over its own slow link.
            for client in scenario.clients:
                offset = client.page.evaluate("() => window.downbeatRoom.clock.offsetMs")
                assert abs(offset + client.clock_error_ms) < 15, (client.name, offset, client.clock_error_ms)
            phases = scenario.run(window_s=4.0)
            # Every page shows the same track playing; the one that joined by code (and is
            # host by now) and a plain listener both show their measured clock offset.
            shown = [
                (c.page.text_content("#np-title"), c.page.get_attribute("#player", "data-playing"))
                for c in scenario.clients
            ]
            offsets = [scenario.clients[i].page.text_content("#sync-offset") or "" for i in (1, 2)]
        finally:
            scenario.close()
            browser.close()

    rows = phase_rows(phases, settle_s=2.0)
    for row in rows:
        print(f"\n{row}")
    assert shown == [(scenario.track["title"], "true")] * len(scenario.clients)
    for offset in offsets:
        assert re.fullmatch(r"[+-]?\d+\.\d", offset.strip()), offset  # a number, not the "—" placeholder
    for phase, row in zip(phases, rows, strict=True):
        assert row["n"] > 0, f"{phase.name}: no settled measurements"
        assert row["max"] < CORRECTNESS_BOUND_MS, f"{phase.name}: clients {row['max']:.1f} ms apart after settling"
