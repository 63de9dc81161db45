"""At most a few plain HTTP requests running Python at once per process; WebSockets pass.

The control plane needs many threads per process: every open WebSocket holds one (a room
socket two). But CPU-bound requests on 64 threads fight over one GIL: each thread that comes
back from the database waits for the interpreter, and everyone's latency grows. Measured on
the booking benchmark (2 processes, 50 clients): 64 threads gave 273 bookings/s and a p95 of
408 ms, 4 threads 373/s and 169 ms. The gate keeps the 64 threads for sockets and lets only
``limit`` ordinary requests into the app at once; the others wait their turn asleep.

A request's body is read *before* it takes a slot (up to the app's size limit), so a client
trickling its body slowly only ties up its own thread, never a slot. Bodies without a length
or above the limit (uploads, which the app refuses or streams) and WebSocket upgrades skip the
gate, and a response body is sent after the slot is given back. A request that waits on
another service (an HTTP call with a timeout, a readiness probe) gives its slot back for the
wait (``slot_released``), so a hanging dependency cannot tie up every slot.
"""

from __future__ import annotations

import io
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["FairSlots", "RequestGate", "slot_released"]

_holder = threading.local()  # the FairSlots whose slot this thread's request holds, if any

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class FairSlots:
    """A counting semaphore that hands a freed slot to the longest waiter (first come, first
    served). ``threading.Semaphore`` wakes an arbitrary waiter, and under load some requests
    then wait far longer than others: the p95 grows although the throughput does not."""

    def __init__(self, count: int) -> None:
        self._lock = threading.Lock()
        self._free = count
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        baton.acquire()  # released by ``release`` with the slot already ours

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1


class RequestGate:
    """WSGI middleware admitting ``limit`` ordinary requests at a time."""

    def __init__(self, app: WSGIApp, limit: int, max_buffered_body: int) -> None:
        if limit < 1:
            raise ValueError("the gate needs at least one slot")
        self._app = app
        self._slots = FairSlots(limit)
        self._max_body = max_buffered_body

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket" or not self._buffer_body(environ):
            return self._app(environ, start_response)
        self._slots.acquire()
        _holder.slots = self._slots
        try:
            return self._app(environ, start_response)
        finally:
            _holder.slots = None
            self._slots.release()

    def _buffer_body(self, environ: dict[str, Any]) -> bool:
        """Read a bounded body into memory; False when it cannot be (then no gate)."""
        length_text = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(length_text)
        except ValueError:
            return False  # the app answers the malformed header itself
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or not 0 <= length <= self._max_body:
            return False
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return True


@contextmanager
def slot_released() -> Iterator[None]:
    """Wait on something outside this process without holding a slot; queue again after."""
    slots: FairSlots | None = getattr(_holder, "slots", None)
    if slots is None:
        yield
        return
    _holder.slots = None
    slots.release()
    try:
        yield
    finally:
        slots.acquire()
        _holder.slots = slots
