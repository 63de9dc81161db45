"""Building the configured PaymentGateway adapter from settings."""

from __future__ import annotations

from typing import cast

from control_plane.kits.extensions import app_extension
from control_plane.payments.services.gateway import PaymentGateway, SimulatedGateway, http_deliver
from downbeat.settings import Settings

__all__ = ["GATEWAY_KEY", "current_gateway", "gateway_from_settings", "webhook_url"]

GATEWAY_KEY = "downbeat.payment_gateway"


def webhook_url(settings: Settings) -> str:
    return f"{settings.control_plane.url}/api/payments/webhook"


def gateway_from_settings(settings: Settings) -> PaymentGateway:
    # Stripe comes later (its adapter will be chosen here by a `payments.provider` setting).
    return SimulatedGateway(
        secret=f"{settings.secret_key}:payments-webhook",
        deliver=http_deliver(webhook_url(settings)),
        delay_s=settings.bookings.simulated_webhook_delay_ms / 1000,
    )


def current_gateway() -> PaymentGateway:
    """The app's gateway (built once in create_app; tests may put a fake in its place)."""
    gateway = app_extension(GATEWAY_KEY, object)
    if gateway is None:
        raise RuntimeError("no payment gateway outside an app: create_app binds one")
    return cast(PaymentGateway, gateway)
