"""Visual frames written straight onto sockets: valid WebSocket frames, one build per frame,
and a client that does not read skips frames instead of blocking the writer."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from wsproto import ConnectionType
from wsproto.connection import Connection
from wsproto.events import TextMessage

from control_plane.kits.realtime.fanout import DirectSocket, text_frame


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


class _Ws:
    """What DirectSocket needs of a simple_websocket Server: its ``sock``."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: Any = sock


def _read_messages(sock: socket.socket, data: bytes = b"") -> list[str]:
    client = Connection(ConnectionType.CLIENT)
    sock.settimeout(0.2)
    try:
        while True:
            chunk = sock.recv(1 << 16)
            if not chunk:
                break
            data += chunk
    except TimeoutError:
        pass
    client.receive_data(data)
    return [e.data for e in client.events() if isinstance(e, TextMessage)]


def test_frames_of_every_size_class_parse_as_websocket_text(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    direct = DirectSocket(_Ws(server))
    texts = ["x" * 10, "y" * 300, "z" * 70_000]
    for text in texts:
        direct.offer(text_frame(text))
    direct.locked.sendall(text_frame("from the socket thread"))  # the other writer, same lock
    assert _read_messages(client) == [*texts, "from the socket thread"]
    assert text_frame("hi")[:2] == struct.pack("!BB", 0x81, 2)  # FIN, text, unmasked, RSV1 clear


def test_a_client_that_does_not_read_skips_frames_and_never_blocks_the_writer(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    server, client = pair
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
    direct = DirectSocket(_Ws(server))
    frame = text_frame("v" * 4000)
    for _ in range(500):  # far more than the buffers hold; must return at once every time
        direct.offer(frame)
    assert direct.skipped > 0 and direct.sent < 500
    messages = _read_messages(client)
    # whatever arrived is whole frames: a partly written frame was completed before anything else
    direct.offer(frame)
    messages += _read_messages(client)
    assert messages and all(m == "v" * 4000 for m in messages)


def test_a_closed_socket_is_dropped_quietly(pair: tuple[socket.socket, socket.socket]) -> None:
    server, client = pair
    direct = DirectSocket(_Ws(server))
    client.close()
    for _ in range(3):
        direct.offer(text_frame("after close"))
    assert direct.closed
