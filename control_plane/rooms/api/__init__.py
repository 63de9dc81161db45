"""The rooms area's routes: rooms and live-audio signalling, tracks and the analysis callback,
and the two sockets' blueprints."""

from __future__ import annotations

from flask import Blueprint

from control_plane.rooms import sockets
from control_plane.rooms.api import rooms, tracks

__all__ = ["BLUEPRINTS"]

BLUEPRINTS: tuple[Blueprint, ...] = (rooms.bp, tracks.bp, tracks.internal_bp, sockets.bp)
