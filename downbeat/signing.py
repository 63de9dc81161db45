"""Signed internal callbacks between our own processes (stream worker -> control plane).

The header is ``t=<unix seconds>,v1=<hex HMAC-SHA256 over "t.body">`` like a Stripe webhook,
keyed by a key derived from the deployment's secret, so a callback cannot be forged from
outside and an old one cannot be replayed after the tolerance.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = ["HEADER", "SignatureInvalid", "sign", "verify"]

HEADER = "X-Downbeat-Signature"
TOLERANCE_S = 300


class SignatureInvalid(ValueError):
    pass


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(secret.encode(), f"downbeat-internal:{purpose}".encode(), hashlib.sha256).digest()


def _digest(secret: str, purpose: str, timestamp: str, body: bytes) -> str:
    return hmac.new(_key(secret, purpose), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(secret: str, purpose: str, body: bytes, now: float | None = None) -> str:
    timestamp = str(int(time.time() if now is None else now))
    return f"t={timestamp},v1={_digest(secret, purpose, timestamp, body)}"


def verify(secret: str, purpose: str, body: bytes, header: str | None, now: float | None = None) -> None:
    if not header:
        raise SignatureInvalid("missing signature")
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    timestamp, given = parts.get("t", ""), parts.get("v1", "")
    if not timestamp.isdigit() or abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_S:
        raise SignatureInvalid("stale or missing timestamp")
    if not hmac.compare_digest(_digest(secret, purpose, timestamp, body), given):
        raise SignatureInvalid("signature does not match")
