"""The messages area's routes (docs/MESSAGES.md): conversations, messages, read markers,
blocks, reports and search. Importing the modules registers their routes on ``common.bp``."""

from __future__ import annotations

from flask import Blueprint

from control_plane.messages.api import conversations, messages, safety
from control_plane.messages.api.common import bp

__all__ = ["BLUEPRINTS", "conversations", "messages", "safety"]

BLUEPRINTS: tuple[Blueprint, ...] = (bp,)
