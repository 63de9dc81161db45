"""Logout ends an open /ws/notifications socket of that login within a couple of seconds
(the real control plane, notification service, broker and Redis)."""

from __future__ import annotations

import json
import time

import pytest
import websocket

from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e


def _open(stack: Stack, token: str) -> websocket.WebSocket:
    ws = websocket.create_connection(stack.base.replace("http", "ws") + "/ws/notifications", timeout=30)
    ws.send(json.dumps({"type": "auth", "token": token, "since": None}))
    ws.send(json.dumps({"type": "ping", "client_time_ms": 1}))
    while json.loads(ws.recv())["type"] != "pong":  # authenticated and past the backlog
        pass
    return ws


def test_logout_closes_that_logins_socket_and_no_other(stack: Stack) -> None:
    person = register_person(stack.base, ["user"], "Socket Sam")
    status, other_login = http_json(
        "POST", f"{stack.base}/api/auth/login", {"email": person["email"], "password": "correct horse battery staple"}
    )
    assert status == 200
    ending, staying = _open(stack, person["access_token"]), _open(stack, other_login["access_token"])
    try:
        status, _ = http_json("POST", f"{stack.base}/api/auth/logout", token=person["access_token"])
        assert status == 204
        started = time.monotonic()
        messages = []
        while True:
            try:
                raw = ending.recv()
            except websocket.WebSocketConnectionClosedException:
                break
            if not raw:
                break
            messages.append(json.loads(raw))
        closed_after = time.monotonic() - started
        assert {"type": "error", "code": "token-revoked"}.items() <= messages[-1].items(), messages
        print(f"socket closed {closed_after:.2f} s after logout")
        # The same person's other login keeps its socket.
        staying.send(json.dumps({"type": "ping", "client_time_ms": 2}))
        while (message := json.loads(staying.recv()))["type"] != "pong":
            assert message["type"] != "error", message
    finally:
        for ws in (ending, staying):
            ws.close()
            ws.shutdown()  # type: ignore[no-untyped-call]  # close() is a no-op once the server closed
