"""Every topic has a consumer: the faust apps' agents together subscribe to all of them."""

from __future__ import annotations

from pathlib import Path

from contracts import TOPICS
from tests.conftest import make_settings


def _agent_topics(app: object) -> set[str]:
    names: set[str] = set()
    for agent in app.agents.values():  # type: ignore[attr-defined]
        names |= set(agent.channel.topics)
    return names


def test_every_topic_has_a_consumer(tmp_path: Path) -> None:
    from notification_service.app import create_faust_app as notifications_app
    from stream_workers.app import create_faust_app as workers_app

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    consumed = _agent_topics(notifications_app(settings)) | _agent_topics(workers_app(settings))
    assert set(TOPICS) <= consumed
