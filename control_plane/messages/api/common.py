"""What the messages area's route modules share: the blueprint, Redis, presence, the rate
limits, and the commit-then-publish step every change ends with."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, request
from flask_jwt_extended import get_jwt_identity

from control_plane.kits.extensions import REDIS_KEY, current_settings, limiter
from control_plane.kits.realtime import presence

__all__ = ["bp", "limit_per_conversation", "limit_per_sender", "online_check", "redis_client"]

bp = Blueprint("messages", __name__, url_prefix="/api")


def redis_client() -> redis.Redis | None:
    found = current_app.extensions.get(REDIS_KEY)
    return found if isinstance(found, redis.Redis) else None


def online_check(user_ids: list[int]) -> set[int]:
    return presence.online(redis_client(), user_ids)


def _sender() -> str:
    return f"user:{get_jwt_identity()}"


def _conversation() -> str:
    return f"conversation:{(request.view_args or {}).get('conversation_id', 0)}"


# Beyond these a send is a 429 problem with Retry-After (the app's breach handler) and
# stores nothing. Per sender: one person flooding everyone; per conversation: a room of
# people flooding each other. Both read from settings on every request.
limit_per_sender = limiter.limit(
    lambda: current_settings().limits.message_user, key_func=_sender, scope="message-sender"
)


def _stored(response: Response) -> bool:
    return response.status_code == 201


# The per-conversation budget is shared by the members, so only messages it stores count:
# counting every request let anyone silence a conversation they are not in by posting at its
# id (404 after 404), and a member's refused sends ate everyone's budget. The sender's own
# budget counts every attempt.
limit_per_conversation = limiter.limit(
    lambda: current_settings().limits.message_conversation,
    key_func=_conversation,
    scope="message-conversation",
    deduct_when=_stored,
)
