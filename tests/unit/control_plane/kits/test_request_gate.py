"""The request gate: a bounded number of ordinary requests in the app, sockets and slow
bodies never holding a slot."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from control_plane.kits.http.request_gate import RequestGate, slot_released


class _Recorder:
    """A WSGI app that records how many requests are inside it at once."""

    def __init__(self, hold_s: float = 0.05) -> None:
        self.inside = 0
        self.most = 0
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        self._hold_s = hold_s

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        time.sleep(self._hold_s)
        with self._lock:
            self.inside -= 1
            self.bodies.append(body)
        start_response("200 OK", [])
        return [b"ok"]


def _environ(body: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {"CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body), **extra}


def test_at_most_limit_requests_run_at_once_and_bodies_arrive_whole() -> None:
    app = _Recorder()
    gate = RequestGate(app, limit=3, max_buffered_body=1024)
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda i: list(gate(_environ(b"x" * i), lambda *_: None)), range(12)))
    assert app.most == 3
    assert sorted(app.bodies, key=len) == [b"x" * i for i in range(12)]


def test_websockets_and_unbuffered_bodies_skip_the_gate() -> None:
    app = _Recorder(hold_s=0.2)
    gate = RequestGate(app, limit=1, max_buffered_body=16)
    requests = [
        _environ(),  # takes the only slot
        _environ(HTTP_UPGRADE="websocket"),
        _environ(b"y" * 64),  # above the buffered size: streamed by the app, no slot
        {"HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(b"")},
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda environ: list(gate(environ, lambda *_: None)), requests))
    assert app.most == 4


class _SlowBody(io.RawIOBase):
    def __init__(self, released: threading.Event) -> None:
        self._released = released

    def read(self, size: int = -1) -> bytes:
        self._released.wait(5)
        return b"{}"


def test_a_client_trickling_its_body_holds_no_slot() -> None:
    app = _Recorder(hold_s=0.0)
    gate = RequestGate(app, limit=1, max_buffered_body=1024)
    released = threading.Event()
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(
            lambda: list(gate(_environ() | {"CONTENT_LENGTH": "2", "wsgi.input": _SlowBody(released)}, lambda *_: None))
        )
        started = time.monotonic()
        assert list(gate(_environ(b"{}"), lambda *_: None)) == [b"ok"]  # not stuck behind the slow one
        assert time.monotonic() - started < 4
        released.set()
        assert slow.result(timeout=5) == [b"ok"]


def test_a_gate_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="slot"):
        RequestGate(_Recorder(), limit=0, max_buffered_body=1)


def test_a_request_waiting_on_another_service_gives_its_slot_back() -> None:
    """A hanging dependency must not tie up every slot: the waiter steps out of the gate."""
    waiting = threading.Event()
    finish = threading.Event()
    inside = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/slow":
            with slot_released():
                waiting.set()
                finish.wait(5)
        inside.append(environ.get("PATH_INFO"))
        return [b"ok"]

    gate = RequestGate(app, limit=1, max_buffered_body=16)
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(lambda: list(gate(_environ(PATH_INFO="/slow"), lambda *_: None)))
        assert waiting.wait(5)
        fast = pool.submit(lambda: list(gate(_environ(PATH_INFO="/fast"), lambda *_: None)))
        assert fast.result(timeout=5) == [b"ok"]  # got the slot while /slow waited outside
        finish.set()
        assert slow.result(timeout=5) == [b"ok"]
    assert inside == ["/fast", "/slow"]
    with slot_released():  # outside any gated request: nothing to give back
        pass
