"""The PaymentGateway port and its simulated adapter.

The simulated provider behaves like a real one (Stripe's PaymentIntents): a payment starts
``pending``, the customer pays on the provider's hosted page, and the provider confirms
asynchronously by a signed webhook. The application never trusts the browser for "paid";
only a webhook with a valid signature moves a booking to confirmed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import requests

__all__ = [
    "PAYMENT_SUCCEEDED",
    "PaymentGateway",
    "PaymentSucceeded",
    "ProviderPayment",
    "ProviderRefund",
    "SimulatedGateway",
    "WebhookDataMissing",
    "WebhookInvalid",
    "payment_succeeded",
]

PAYMENT_SUCCEEDED = "payment.succeeded"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProviderPayment:
    ref: str
    status: str  # "pending" until the provider's webhook says otherwise


@dataclass(frozen=True)
class ProviderRefund:
    ref: str
    status: str


class WebhookInvalid(Exception):
    pass


class WebhookDataMissing(WebhookInvalid):
    """A verified payment event whose data lacks ref, amount or currency."""


@dataclass(frozen=True)
class PaymentSucceeded:
    """What a verified webhook reports when a customer's payment went through."""

    ref: str
    amount: int
    currency: str


def payment_succeeded(payload: dict[str, object]) -> PaymentSucceeded | None:
    """The payment a verified webhook says succeeded; None for any other event (acknowledged,
    not acted on); WebhookInvalid when the event's data lacks ref, amount or currency."""
    data = payload.get("data")
    if payload.get("type") != PAYMENT_SUCCEEDED or not isinstance(data, dict):
        return None
    try:
        return PaymentSucceeded(str(data["ref"]), int(data["amount"]), str(data["currency"]))
    except (KeyError, TypeError, ValueError):
        raise WebhookDataMissing("data lacks ref, amount or currency") from None


class PaymentGateway(Protocol):
    name: str

    def create_payment(self, *, amount: int, currency: str, reference: str) -> ProviderPayment: ...

    def cancel_payment(self, ref: str) -> None: ...

    def refund(self, *, payment_ref: str, amount: int, reason: str) -> ProviderRefund: ...

    def parse_webhook(self, body: bytes, signature: str | None) -> dict[str, object]: ...


Deliver = Callable[[bytes, str], None]


class SimulatedGateway:
    """In-process stand-in for a card provider, webhooks included."""

    name = "simulated"

    def __init__(self, secret: str, deliver: Deliver, delay_s: float = 0.3) -> None:
        self._secret = secret.encode()
        self._deliver = deliver
        self._delay_s = delay_s

    def create_payment(self, *, amount: int, currency: str, reference: str) -> ProviderPayment:
        return ProviderPayment(ref=f"sim_pay_{secrets.token_hex(12)}", status="pending")

    def cancel_payment(self, ref: str) -> None:
        return None  # nothing was captured; the hold simply lapses

    def refund(self, *, payment_ref: str, amount: int, reason: str) -> ProviderRefund:
        return ProviderRefund(ref=f"sim_re_{secrets.token_hex(12)}", status="succeeded")

    def sign(self, body: bytes) -> str:
        timestamp = str(int(time.time()))
        digest = hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={digest}"

    def parse_webhook(self, body: bytes, signature: str | None) -> dict[str, object]:
        """Verify ``t=...,v1=...`` (HMAC-SHA256 over "t.body", 5-minute tolerance, as Stripe)."""
        if not signature:
            raise WebhookInvalid("missing signature")
        parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
        timestamp, given = parts.get("t", ""), parts.get("v1", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            raise WebhookInvalid("stale or missing timestamp")
        expected = hmac.new(self._secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            raise WebhookInvalid("bad signature")
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise WebhookInvalid("payload is not an object")
        return payload

    def customer_paid(self, payment_ref: str, amount: int, currency: str) -> None:
        """The customer completed the hosted checkout; confirm by webhook a little later."""
        body = json.dumps(
            {
                "id": f"evt_{secrets.token_hex(8)}",
                "type": PAYMENT_SUCCEEDED,
                "data": {"ref": payment_ref, "amount": amount, "currency": currency},
            }
        ).encode()
        signature = self.sign(body)

        def later() -> None:
            time.sleep(self._delay_s)
            try:
                self._deliver(body, signature)
            except Exception:
                log.exception("simulated provider could not deliver the webhook for %s", payment_ref)

        threading.Thread(target=later, name="simulated-webhook", daemon=True).start()


def http_deliver(webhook_url: str) -> Deliver:
    def deliver(body: bytes, signature: str) -> None:
        # Real providers retry failed deliveries; so do we, a few times.
        for attempt in range(5):
            try:
                response = requests.post(
                    webhook_url,
                    data=body,
                    headers={"Content-Type": "application/json", "Downbeat-Signature": signature},
                    timeout=10,
                )
                if response.status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5 * 2**attempt)

    return deliver
