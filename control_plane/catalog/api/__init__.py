"""The catalog's routes: sessions, bookings and seat payments."""

from __future__ import annotations

from flask import Blueprint

from control_plane.catalog.api import bookings, payments, sessions

__all__ = ["BLUEPRINTS"]

BLUEPRINTS: tuple[Blueprint, ...] = (sessions.bp, bookings.bp, payments.bp)
