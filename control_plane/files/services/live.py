"""Live changes for the file pages: one Redis channel per project; the pages refetch what
changed through the API (and everything after a reconnect), so a lost message costs
freshness, never truth."""

from __future__ import annotations

import json
import logging
from typing import Literal

import redis

from contracts.channels import project_files_channel

__all__ = ["Change", "project_files_channel", "publish_change"]

log = logging.getLogger(__name__)
Change = Literal["version", "comment", "analysis", "renamed", "deleted", "deliverable", "added"]


def publish_change(
    client: redis.Redis | None,
    project_id: int,
    file_id: int | None,
    change: Change,
    *,
    only: tuple[int, ...] = (),
    **extra: int,
) -> None:
    """After commit only. ``only``: tell just these members (on their own channels)."""
    if client is None:
        return
    message = json.dumps({"type": "file.changed", "file_id": file_id, "change": change, **extra})
    channels = [project_files_channel(project_id, uid) for uid in only] or [project_files_channel(project_id)]
    try:
        for channel in channels:
            client.publish(channel, message)
    except redis.RedisError:
        log.warning("could not publish a files change of project %s; open pages miss it", project_id)
