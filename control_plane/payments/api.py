"""Payments have no routes of their own yet: the webhook, a payment of the caller and the
simulated checkout are seat payments, served by ``catalog.api.payments``."""

from __future__ import annotations

from flask import Blueprint

__all__ = ["BLUEPRINTS"]

BLUEPRINTS: tuple[Blueprint, ...] = ()
