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
    client: redis.Redis | None, project_id: int, file_id: int | None, change: Change, **extra: int
) -> None:
    """After commit only."""
    if client is None:
        return
    message = json.dumps({"type": "file.changed", "file_id": file_id, "change": change, **extra})
    try:
        client.publish(project_files_channel(project_id), message)
    except redis.RedisError:
        log.warning("could not publish a files change of project %s; open pages miss it", project_id)
