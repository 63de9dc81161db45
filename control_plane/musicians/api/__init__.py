"""The musicians area's routes: availability, projects and requests; profiles and reviews;
search. One blueprint (``common.bp``); importing the modules registers their routes."""

from __future__ import annotations

from flask import Blueprint

from control_plane.musicians.api import profiles, requests, search
from control_plane.musicians.api.common import bp

__all__ = ["BLUEPRINTS", "profiles", "requests", "search"]

BLUEPRINTS: tuple[Blueprint, ...] = (bp,)
