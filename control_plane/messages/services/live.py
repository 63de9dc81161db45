"""The fast path to open sockets: after commit, the route publishes what changed on each
member's channel (``notify:<user>``, the same channel their notifications use). It may be
lost (Redis down, a process killed right after commit); the durable path through the outbox
and the notification service publishes every message again, and clients fetch what they
missed by id after a reconnect (docs/MESSAGES.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis

from contracts.channels import user_channel
from contracts.messages import ConversationMessage, ReadMessage, TypingMessage
from control_plane.messages.services.membership import MemberChange

__all__ = ["publish", "publish_changes", "publish_read", "publish_typing"]

log = logging.getLogger(__name__)


def publish(client: redis.Redis | None, user_ids: Iterable[int], text: str) -> None:
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for uid in set(user_ids):
            pipe.publish(user_channel(uid), text)
        pipe.execute()
    except redis.RedisError:
        log.warning("could not publish a conversation change; clients catch up by id")


def publish_read(
    client: redis.Redis | None, members: list[int], conversation_id: int, user_id: int, up_to: int
) -> None:
    text = ReadMessage(conversation_id=conversation_id, user_id=user_id, up_to=up_to).to_json()
    publish(client, members, text)


def publish_typing(client: redis.Redis | None, members: list[int], conversation_id: int, user_id: int) -> None:
    text = TypingMessage(conversation_id=conversation_id, user_id=user_id).to_json()
    publish(client, [m for m in members if m != user_id], text)


def publish_changes(client: redis.Redis | None, changes: list[MemberChange]) -> None:
    """Tell people who joined or left a conversation, so their list refreshes."""
    for change in changes:
        text = ConversationMessage(conversation_id=change.conversation_id, change=change.change).to_json()
        publish(client, [change.user_id], text)
