"""Requests gunicorn refuses before the app sees them still get problem+json, never HTML."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.e2e


def _raw(stack: Stack, request: bytes) -> tuple[str, dict[str, str], bytes]:
    where = urlsplit(stack.base)
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return status_line, headers, body


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"POST /api/bookings HTTP/1.1\r\nHost: x\r\nIdempotency-Key: " + b"k" * 10_000 + b"\r\n\r\n", 431),
        (b"GARBAGE\r\n\r\n", 400),
    ],
    ids=["header-too-large", "bad-request-line"],
)
def test_requests_the_server_cannot_parse_get_a_problem_body(stack: Stack, request_bytes: bytes, status: int) -> None:
    status_line, headers, body = _raw(stack, request_bytes)
    assert status_line.startswith(f"HTTP/1.1 {status} ")
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert problem["type"].startswith("/problems/")
