"""Visual frames straight onto room sockets: one WebSocket frame built per room and frame, the
same bytes written to every socket without blocking.

A thread per socket waking 60 times a second, and a per-socket ``ws.send`` (wsproto framing,
and permessage-deflate with its own compressor per socket when a browser offers it), is what
made fan-out cost grow with the audience. Here a frame is framed once (text, FIN, unmasked, no
compression: RFC 7692 lets a sender leave any message uncompressed, RSV1 clear) and written
with ``MSG_DONTWAIT``. A client whose socket buffer is full keeps its unsent tail, skips the
frames that arrive meanwhile, and gets the newest one once it has drained: it never falls
behind and never slows the others.

The socket's own thread still sends its other messages through simple_websocket; a lock per
socket (taken by :class:`LockedSocket`, which stands in for ``ws.sock``) keeps the two writers
from interleaving bytes mid-frame.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Any

__all__ = ["DirectSocket", "LockedSocket", "text_frame"]

TCP_NOTSENT_LOWAT = getattr(socket, "TCP_NOTSENT_LOWAT", 25)  # Linux value; absent from older Pythons
NOT_SENT_LIMIT = 16 * 1024  # about 25 visual frames


def text_frame(text: str) -> bytes:
    """A complete server-to-client WebSocket text frame (FIN, opcode 1, no mask, no RSV bits)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


class LockedSocket:
    """Wraps a socket so every write, from any thread, goes out whole and in order."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.lock = threading.Lock()
        self.pending = b""  # unsent tail of a frame the fan-out started (only touched under lock)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def fileno(self) -> int:
        return self._sock.fileno()

    def _finish_pending(self) -> None:
        if self.pending:
            self._sock.sendall(self.pending)  # a frame's tail must precede anything else
            self.pending = b""

    def send(self, data: bytes, flags: int = 0) -> int:
        self.sendall(data, flags)
        return len(data)

    def sendall(self, data: bytes, flags: int = 0) -> None:
        with self.lock:
            self._finish_pending()
            self._sock.sendall(data, flags)


class DirectSocket:
    """One room socket as the fan-out sees it."""

    def __init__(self, ws: Any) -> None:
        raw = ws.sock
        self.locked = raw if isinstance(raw, LockedSocket) else LockedSocket(raw)
        ws.sock = self.locked  # simple_websocket's own writes now take the same lock
        # Keep at most this much not yet sent in the kernel for this client: beyond it a
        # non-blocking send fails and the frame is skipped, so buffers cannot hide a backlog.
        with contextlib.suppress(OSError, AttributeError):
            self.locked._sock.setsockopt(socket.IPPROTO_TCP, TCP_NOTSENT_LOWAT, NOT_SENT_LIMIT)
        self.sent = 0
        self.skipped = 0
        self.closed = False

    def offer(self, frame: bytes) -> None:
        """Write ``frame`` now if the socket can take it, else skip it; never blocks on the client."""
        if self.closed:
            return
        sock = self.locked
        if not sock.lock.acquire(blocking=False):
            self.skipped += 1  # the socket's own thread is writing: this frame is skipped, the next is newer
            return
        try:
            if sock.pending:
                sock.pending = sock.pending[self._send(sock.pending) :]
                if sock.pending:
                    self.skipped += 1
                    return
            sent = self._send(frame)
            if sent < len(frame):
                sock.pending = frame[sent:]
            self.sent += 1
        except OSError:
            self.closed = True
        finally:
            sock.lock.release()

    def _send(self, data: bytes) -> int:
        try:
            return self.locked._sock.send(data, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0
