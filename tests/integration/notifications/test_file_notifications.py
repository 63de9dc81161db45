"""File and deliverable notifications through the notification service's real store (SQLite)
and its event handler (real Redis), without Kafka: preferences per kind, mentions that reach
the inbox whatever they say, idempotency on the event id, and the push with its link."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis

from contracts import DeliverableChangesRequested, FileCommentAdded, encode
from contracts.channels import user_channel
from notification_service.rules import drafts_for
from notification_service.service import NotificationHandler
from notification_service.store import InboxStore

OWNER, MUSICIAN, SINGER, DRUMMER, BASSIST = 7, 8, 12, 13, 14


@pytest.fixture
def store(tmp_path: Path) -> InboxStore:
    return InboxStore.from_url(f"sqlite:///{tmp_path / 'notifications.db'}")


def comment() -> FileCommentAdded:
    return FileCommentAdded(
        file_id=11,
        project_id=6,
        project_title="Album",
        file_name="bass-take.wav",
        actor_id=OWNER,
        actor_name="Pia",
        recipients=[MUSICIAN, SINGER, DRUMMER, BASSIST],
        comment_id=31,
        version_number=2,
        excerpt="@Max @Bo the fill at 1:12 rushes",
        mentioned=[MUSICIAN, BASSIST],
    )


def test_mentions_reach_the_inbox_whatever_the_preference_and_mail_follows_it(store: InboxStore) -> None:
    store.set_preferences(MUSICIAN, "max@example.test", {"file.comment_added": "none"})  # mentioned
    store.set_preferences(SINGER, "sia@example.test", {"file.comment_added": "none"})
    store.set_preferences(DRUMMER, "dee@example.test", {"file.comment_added": "email"})
    store.set_preferences(BASSIST, "bo@example.test", {"file.comment_added": "email"})  # mentioned
    event = comment()
    drafts = drafts_for(event)
    recorded = dict(zip([d.user_id for d in drafts], store.record(str(event.event_id), drafts), strict=True))
    assert set(recorded) == {MUSICIAN, SINGER, DRUMMER, BASSIST}
    inbox = {user for user, r in recorded.items() if r.notification is not None}
    mailed = {user for user, r in recorded.items() if r.mail_queued}
    assert inbox == {MUSICIAN, BASSIST}  # the muted mention still arrives; the muted comment does not
    assert mailed == {DRUMMER, BASSIST}  # mail only where the user chose it, mention or not
    note = recorded[MUSICIAN].notification
    assert note is not None and note.kind == "file.comment_added" and note.data["url"] == "/files/11"
    again = store.record(str(event.event_id), drafts_for(event))  # a redelivered event
    assert not any(r.new or r.mail_queued for r in again)
    assert store.count_for_event(str(event.event_id)) == 2


def test_the_handler_stores_a_deliverable_decision_once_and_pushes_it_with_its_link(
    store: InboxStore, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    listener = client.pubsub()
    listener.subscribe(user_channel(MUSICIAN))
    assert listener.get_message(timeout=2) is not None  # the subscribe confirmation
    handler = NotificationHandler(store, client)
    raw = encode(
        DeliverableChangesRequested(
            deliverable_id=13,
            request_id=5,
            project_id=6,
            project_title="Album",
            title="Bass for track 3",
            actor_id=OWNER,
            actor_name="Pia",
            recipient_id=MUSICIAN,
            note="less reverb",
        )
    )
    (stored,) = handler.handle(raw)
    assert handler.handle(raw) == []  # stored once; pushed again in case the first push was lost
    assert store.unread_count(MUSICIAN) == 1 and store.unread_count(OWNER) == 0
    pushed = []
    deadline = time.monotonic() + 5
    while len(pushed) < 2 and time.monotonic() < deadline:
        message = listener.get_message(timeout=0.5)
        if message is not None and message["type"] == "message":
            pushed.append(json.loads(message["data"]))
    assert [p["id"] for p in pushed] == [stored.id, stored.id]
    assert pushed[0]["kind"] == "deliverable.changes_requested"
    assert pushed[0]["data"]["url"] == "/projects/6/files" and pushed[1]["redelivered"] is True
    listener.close()
    client.close()
