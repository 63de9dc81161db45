"""Message events through the notification service's handler with its real store (SQLite and
PostgreSQL) and real Redis, without Kafka: a burst is one unread notification, mentions land
whatever was muted or chosen, a redelivered event stores nothing twice, every member's
channel gets the durable live copy of the message, and an edit or a deletion reaches the
notifications and unsent mail stored about the message (pushing nothing new)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from aiosmtpd.controller import Controller
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import delete, select

from contracts import MessageDeleted, MessageEdited, MessagePosted, encode
from contracts.channels import USER_CHANNEL_PREFIX, user_channel
from contracts.messages import ConversationKind, Recipient
from downbeat.mailsink import MailSink, read_mails
from notification_service.mail import MailQueue, SmtpMailSender
from notification_service.message_rules import DELETED_BODY
from notification_service.schema import message_refs, outgoing_mail
from notification_service.service import NotificationHandler
from notification_service.store import InboxStore, Notification, Revised
from tests.support.services import free_port

ANA, BEN, CAT = 31, 32, 33  # Ana writes; Ben is offline; Cat has a socket open
DEMO, OTHER = 60, 61  # conversations


@pytest.fixture
def store(database_url: str) -> Iterator[InboxStore]:
    inbox = InboxStore.from_url(database_url)
    yield inbox
    inbox.engine.dispose()  # PostgreSQL drops the test database once nobody is connected


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture
def handler(store: InboxStore, client: redis.Redis) -> NotificationHandler:
    return NotificationHandler(store, client)


def message_json(message_id: int, conversation_id: int = DEMO, body: str = "the bridge?") -> dict[str, Any]:
    return {
        "id": message_id,
        "conversation_id": conversation_id,
        "sender": {"id": ANA, "name": "Ana Silva"},
        "body": body,
        "deleted": False,
    }


def posted(
    message_id: int,
    *recipients: Recipient,
    conversation_id: int = DEMO,
    kind: ConversationKind = "project",
) -> MessagePosted:
    if not recipients:
        recipients = (Recipient(user_id=BEN), Recipient(user_id=CAT, online=True))
    return MessagePosted(
        conversation_id=conversation_id,
        conversation_kind=kind,
        conversation_title="Demo EP",
        message_id=message_id,
        sender_id=ANA,
        sender_name="Ana Silva",
        members=[ANA, *(r.user_id for r in recipients)],
        message=message_json(message_id, conversation_id),
        excerpt=f"take {message_id}: the bridge?",
        recipients=list(recipients),
    )


def changed(
    kind: type[MessageEdited | MessageDeleted], message_id: int, body: str = "the chorus?", **extra: Any
) -> MessageEdited | MessageDeleted:
    return kind(
        conversation_id=DEMO,
        conversation_kind="project",
        conversation_title="Demo EP",
        message_id=message_id,
        sender_id=ANA,
        sender_name="Ana Silva",
        members=[ANA, BEN, CAT],
        message={**message_json(message_id, body="" if kind is MessageDeleted else body), **extra},
    )


class Channels:
    """Subscribed to some users' ``notify:<user>`` channels, as their sockets' gateway is."""

    def __init__(self, client: redis.Redis, *user_ids: int) -> None:
        self._pubsub = client.pubsub()
        self._pubsub.subscribe(*(user_channel(u) for u in user_ids))
        for _ in user_ids:  # the confirmations: subscribed before anything is published
            assert self._pubsub.get_message(timeout=2) is not None

    def take(self, count: int, timeout: float = 5.0) -> list[tuple[int, dict[str, Any]]]:
        """(user id, decoded text) of the next ``count`` messages, then a short wait for extras."""
        got: list[tuple[int, dict[str, Any]]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(got) >= count:
                deadline = min(deadline, time.monotonic() + 0.3)  # nothing more should come
            item = self._pubsub.get_message(timeout=0.1)
            if item is not None and item["type"] == "message":
                user = int(item["channel"].decode().removeprefix(USER_CHANNEL_PREFIX))
                got.append((user, json.loads(item["data"])))
        return got

    def close(self) -> None:
        self._pubsub.close()


def live(messages: list[tuple[int, dict[str, Any]]], user_id: int) -> list[dict[str, Any]]:
    return [m for u, m in messages if u == user_id and m["type"] != "notification"]


def test_a_burst_to_an_offline_member_is_one_unread_notification_until_they_read_it(
    store: InboxStore, handler: NotificationHandler
) -> None:
    stored = [handler.handle(encode(posted(100 + i))) for i in range(5)]
    assert [len(s) for s in stored] == [1, 0, 0, 0, 0]
    (first,) = stored[0]
    assert first.user_id == BEN and first.kind == "message.received"
    assert first.title == "Ana Silva in Demo EP" and first.body == "take 100: the bridge?"
    assert first.data == {"conversation_id": DEMO, "message_id": 100, "sender_id": ANA, "url": f"/messages/{DEMO}"}
    assert store.unread_count(BEN) == 1 and store.unread_count(CAT) == 0  # Cat saw it live
    assert handler.counters.snapshot()["notifications_folded"] == 4

    (elsewhere,) = handler.handle(encode(posted(200, conversation_id=OTHER)))  # another conversation: news
    assert store.unread_count(BEN) == 2

    assert store.mark_read(BEN, first.id)
    (after_reading,) = handler.handle(encode(posted(105)))
    assert after_reading.id > elsewhere.id and after_reading.data["message_id"] == 105
    assert handler.handle(encode(posted(106))) == []  # the new unread row tells the rest again
    items, _ = store.since(BEN, 0, 100)
    assert [n.data["message_id"] for n in items] == [100, 200, 105]


def test_an_unread_notification_older_than_the_window_tells_no_more(database_url: str, client: redis.Redis) -> None:
    store = InboxStore.from_url(database_url, coalesce_window_s=0.5)
    try:
        handler = NotificationHandler(store, client)
        assert len(handler.handle(encode(posted(100)))) == 1
        assert handler.handle(encode(posted(101))) == []
        time.sleep(0.6)
        assert len(handler.handle(encode(posted(102)))) == 1
        assert store.unread_count(BEN) == 2
    finally:
        store.engine.dispose()


def test_a_redelivered_event_stores_nothing_more_and_relays_its_live_copy_again(
    store: InboxStore, handler: NotificationHandler, client: redis.Redis
) -> None:
    channels = Channels(client, ANA, BEN)
    try:
        event = posted(100)
        (note,) = handler.handle(encode(event))
        assert handler.handle(encode(event)) == []
        assert store.count_for_event(str(event.event_id)) == 1
        pushed = channels.take(6)  # each time: the live copy to Ana and Ben, Ben's notification
    finally:
        channels.close()
    assert store.unread_count(BEN) == 1
    copy = {"type": "message", "message": message_json(100), "redelivered": True}
    assert live(pushed, ANA) == [copy, copy] and live(pushed, BEN) == [copy, copy]
    notes = [m for u, m in pushed if m["type"] == "notification"]
    assert [(n["id"], n.get("redelivered")) for n in notes] == [(note.id, None), (note.id, True)]


def test_a_folded_event_redelivered_after_the_read_stays_folded(
    store: InboxStore, handler: NotificationHandler
) -> None:
    first, folded = encode(posted(100)), encode(posted(101))
    (note,) = handler.handle(first)
    assert handler.handle(folded) == []
    assert store.mark_all_read(BEN) == 1
    # A restart before the offsets were committed reads both again: neither is news any more.
    assert handler.handle(first) == [] and handler.handle(folded) == []
    assert store.unread_count(BEN) == 0 and store.last_id(BEN) == note.id


def test_the_live_copies_reach_every_members_channel(handler: NotificationHandler, client: redis.Redis) -> None:
    channels = Channels(client, ANA, BEN, CAT)
    try:
        handler.handle(encode(posted(100)))
        handler.handle(encode(changed(MessageEdited, 100)))
        handler.handle(encode(changed(MessageDeleted, 100)))
        pushed = channels.take(10)  # 3 members x 3 copies, and Ben's notification
    finally:
        channels.close()
    expected = [
        {"type": "message", "message": message_json(100), "redelivered": True},
        {"type": "message_updated", "message": message_json(100, body="the chorus?"), "redelivered": True},
        {"type": "message_updated", "message": message_json(100, body=""), "redelivered": True},
    ]
    for member in (ANA, BEN, CAT):  # the sender too: their other tabs
        assert live(pushed, member) == expected
    assert [u for u, m in pushed if m["type"] == "notification"] == [BEN]


def test_a_mention_lands_even_in_a_muted_conversation_and_each_is_its_own(
    store: InboxStore, handler: NotificationHandler
) -> None:
    muted_mention = Recipient(user_id=BEN, muted=True, mentioned=True)
    muted = Recipient(user_id=CAT, muted=True)
    (first,) = handler.handle(encode(posted(100, muted_mention, muted)))
    (second,) = handler.handle(encode(posted(101, muted_mention, muted)))
    assert first.kind == second.kind == "message.mentioned" and first.id != second.id
    assert first.title == "Ana Silva mentioned you in Demo EP"
    assert store.unread_count(BEN) == 2 and store.unread_count(CAT) == 0
    assert handler.handle(encode(posted(102, Recipient(user_id=BEN, muted=True)))) == []  # no mention, muted: quiet


def test_preferences_silence_messages_but_never_mentions(store: InboxStore, handler: NotificationHandler) -> None:
    store.set_preferences(BEN, "ben@example.test", {"message.received": "none", "message.mentioned": "none"})
    assert handler.handle(encode(posted(100))) == []
    assert store.unread_count(BEN) == 0
    (mention,) = handler.handle(encode(posted(101, Recipient(user_id=BEN, mentioned=True))))
    assert mention.kind == "message.mentioned" and store.unread_count(BEN) == 1
    assert handler.counters.snapshot()["emails_queued"] == 0  # mail follows the channel: none

    store.set_preferences(BEN, None, {"message.received": "email", "message.mentioned": "email"})
    assert handler.handle(encode(posted(102))) == []  # mailed, not in the inbox
    assert len(handler.handle(encode(posted(103, Recipient(user_id=BEN, mentioned=True))))) == 1
    assert handler.counters.snapshot()["emails_queued"] == 2


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    controller = Controller(MailSink(tmp_path / "mail"), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, tmp_path / "mail"
    finally:
        controller.stop()


def test_a_burst_of_message_mails_is_one_digest(
    store: InboxStore, handler: NotificationHandler, sink: tuple[int, Path]
) -> None:
    port, folder = sink
    store.set_preferences(BEN, "ben@example.test", {"message.received": "both"})
    for i in range(5):
        handler.handle(encode(posted(100 + i)))
    assert store.unread_count(BEN) == 1  # the inbox folds the burst; every message is mailed
    queue = MailQueue(
        store.engine, SmtpMailSender("127.0.0.1", port), sender="d@x.test", public_url="http://x", window_s=10
    )
    now = datetime.now(UTC)
    assert queue.send_due(now) == 0  # the first mail waits one window for the rest of the burst
    assert queue.send_due(now + timedelta(seconds=11)) == 1
    (mail,) = read_mails(folder)
    assert mail.to == "ben@example.test" and mail.subject == "5 new notifications on Downbeat"
    assert all(f"take {100 + i}: the bridge?" in mail.text for i in range(5))


def test_redis_down_stores_the_notification_and_raises_nothing(store: InboxStore) -> None:
    # Nothing listens there; no retries, so the test does not wait out redis-py's backoff.
    unreachable = redis.Redis(
        host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    handler = NotificationHandler(store, unreachable)
    (note,) = handler.handle(encode(posted(100)))
    handler.handle(encode(changed(MessageEdited, 100)))
    assert store.unread_count(BEN) == 1 and note.kind == "message.received"
    assert handler.counters.snapshot()["messages_relayed"] == 0


# --- edits and deletions reach what was stored about the message ---------------------------


def inbox(store: InboxStore, user_id: int) -> list[Notification]:
    items, _ = store.since(user_id, 0, 100)
    return items


def queued(store: InboxStore) -> list[tuple[int, str, str | None]]:
    """(user, body, attempt id) of every mail row, sent or not."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(outgoing_mail.c.user_id, outgoing_mail.c.body, outgoing_mail.c.attempt_id).order_by(
                outgoing_mail.c.id
            )
        ).all()
    return [(int(r.user_id), str(r.body), r.attempt_id) for r in rows]


def test_a_deleted_message_leaves_its_text_in_no_notification_and_no_queued_mail(
    store: InboxStore, handler: NotificationHandler, client: redis.Redis, sink: tuple[int, Path]
) -> None:
    port, folder = sink
    store.set_preferences(BEN, "ben@example.test", {"message.received": "both"})
    store.set_preferences(CAT, "cat@example.test", {"message.mentioned": "both"})
    # Ben is away, Cat is named while online: a message.received and a message.mentioned row.
    (to_ben, to_cat) = handler.handle(
        encode(posted(100, Recipient(user_id=BEN), Recipient(user_id=CAT, online=True, mentioned=True)))
    )
    assert handler.handle(encode(posted(101))) == []  # folded into Ben's row; mailed all the same
    assert to_ben.body == "take 100: the bridge?" and to_cat.kind == "message.mentioned"
    assert [body for _, body, _ in queued(store)] == ["take 100: the bridge?"] * 2 + ["take 101: the bridge?"]

    channels = Channels(client, ANA, BEN, CAT)
    try:
        assert handler.handle(encode(changed(MessageDeleted, 100))) == []
        pushed = channels.take(3)
    finally:
        channels.close()
    # Only the live tombstone, to each member: no notification pushed, new or changed.
    assert sorted((u, m["type"]) for u, m in pushed) == [(u, "message_updated") for u in (ANA, BEN, CAT)]

    (ben_row,) = inbox(store, BEN)
    (cat_row,) = inbox(store, CAT)
    assert (ben_row.id, ben_row.body, ben_row.title) == (to_ben.id, DELETED_BODY, to_ben.title)
    assert (cat_row.id, cat_row.body, cat_row.title) == (to_cat.id, DELETED_BODY, "Ana Silva mentioned you in Demo EP")
    assert "bridge" not in ben_row.title + cat_row.title  # titles never held the text
    assert ben_row.data == to_ben.data and not ben_row.read and store.unread_count(BEN) == 1
    assert queued(store) == [(BEN, "take 101: the bridge?", None)]  # 101 still stands
    assert handler.counters.snapshot()["notifications_revised"] == 2
    assert handler.counters.snapshot()["emails_withdrawn"] == 2

    # The folded message deleted too: Ben's row told of 100 and stays; 101's mail goes.
    handler.handle(encode(changed(MessageDeleted, 101)))
    assert [n.body for n in inbox(store, BEN)] == [DELETED_BODY] and queued(store) == []
    queue = MailQueue(
        store.engine, SmtpMailSender("127.0.0.1", port), sender="d@x.test", public_url="http://x", window_s=0
    )
    assert queue.send_due(datetime.now(UTC) + timedelta(seconds=1)) == 0
    assert read_mails(folder) == []


def test_a_deleted_message_handled_again_changes_nothing_more_and_nothing_brings_its_text_back(
    store: InboxStore, handler: NotificationHandler
) -> None:
    store.set_preferences(BEN, "ben@example.test", {"message.received": "both"})
    post, delete_it = posted(100), changed(MessageDeleted, 100)
    (note,) = handler.handle(encode(post))
    handler.handle(encode(delete_it))
    before = (inbox(store, BEN), queued(store), handler.counters.snapshot())
    assert before[0][0].body == DELETED_BODY and before[1] == []

    assert handler.handle(encode(delete_it)) == []
    assert store.revise_message(100, DELETED_BODY, deleted=True, members=[ANA, BEN, CAT]) == Revised()
    after = handler.counters.snapshot()
    assert (inbox(store, BEN), queued(store)) == before[:2]
    assert after["notifications_revised"] == before[2]["notifications_revised"] == 1
    assert after["emails_withdrawn"] == before[2]["emails_withdrawn"] == 1

    # A restart before the offsets were committed replays the post and an edit: still no text.
    assert handler.handle(encode(post)) == []
    assert handler.handle(encode(changed(MessageEdited, 100, body="the bridge, again"))) == []
    assert [(n.id, n.body) for n in inbox(store, BEN)] == [(note.id, DELETED_BODY)]
    assert queued(store) == [] and store.unread_count(BEN) == 1


def test_an_edit_puts_the_new_excerpt_on_the_notifications_and_on_mail_not_yet_claimed(
    store: InboxStore, handler: NotificationHandler
) -> None:
    store.set_preferences(BEN, "ben@example.test", {"message.received": "both"})
    (note,) = handler.handle(encode(posted(100)))
    assert handler.handle(encode(changed(MessageEdited, 100, body="the  chorus,\nthen the bridge"))) == []
    (row,) = inbox(store, BEN)
    assert (row.id, row.title, row.body) == (note.id, note.title, "the chorus, then the bridge")
    assert queued(store) == [(BEN, "the chorus, then the bridge", None)]

    long = "la " * 100  # 300 characters: the excerpt's 200, as the control plane cuts it
    handler.handle(encode(changed(MessageEdited, 100, body=long)))
    (row,) = inbox(store, BEN)
    assert row.body == ("la " * 67)[:199] + "…" and len(row.body) == 200
    assert queued(store) == [(BEN, row.body, None)]
    handler.handle(encode(changed(MessageEdited, 100, body="", attachments=[7, 8])))
    assert inbox(store, BEN)[0].body == "(2 attachments)"
    counted = handler.counters.snapshot()["notifications_revised"]
    handler.handle(encode(changed(MessageEdited, 100, body="", attachments=[7, 8])))  # delivered again
    assert handler.counters.snapshot()["notifications_revised"] == counted == 3

    # Another message's rows are not touched.
    other = posted(200, conversation_id=OTHER)
    (elsewhere,) = handler.handle(encode(other))
    handler.handle(encode(changed(MessageEdited, 100, body="once more")))
    assert {n.id: n.body for n in inbox(store, BEN)} == {note.id: "once more", elsewhere.id: other.excerpt}


def test_mail_a_digest_attempt_already_claimed_is_left_as_it_is(
    store: InboxStore, handler: NotificationHandler
) -> None:
    class Refusing:
        def send(self, message: object) -> None:
            raise OSError("the SMTP server hung up")

    store.set_preferences(BEN, "ben@example.test", {"message.received": "email"})
    handler.handle(encode(posted(100)))
    queue = MailQueue(store.engine, Refusing(), sender="d@x.test", public_url="http://x", window_s=0)
    assert queue.send_due(datetime.now(UTC) + timedelta(seconds=1)) == 0  # claimed, not sent: a retry resends it
    ((user, body, attempt),) = queued(store)
    assert attempt is not None
    handler.handle(encode(changed(MessageEdited, 100)))
    handler.handle(encode(changed(MessageDeleted, 100)))
    assert queued(store) == [(user, body, attempt)]  # the retry must be the identical message


def test_rows_stored_before_messages_were_noted_are_found_by_their_message_id(
    store: InboxStore, handler: NotificationHandler
) -> None:
    """Rows a store kept from before ``message_refs`` existed: found through the members'
    rows and the JSON ``data.message_id``, on SQLite and PostgreSQL alike."""
    store.set_preferences(BEN, "ben@example.test", {"message.received": "both", "message.mentioned": "both"})
    (note,) = handler.handle(encode(posted(100)))
    (mention,) = handler.handle(encode(posted(101, Recipient(user_id=BEN, mentioned=True))))
    (other,) = handler.handle(encode(posted(200, conversation_id=OTHER)))
    with store.engine.begin() as conn:
        conn.execute(delete(message_refs))
    now = datetime.now(UTC).isoformat()
    handler.handle(encode(changed(MessageEdited, 101, body="the chorus?", created_at=now)))
    handler.handle(encode(changed(MessageDeleted, 100, created_at=now)))
    assert {n.id: n.body for n in inbox(store, BEN)} == {
        note.id: DELETED_BODY,
        mention.id: "the chorus?",
        other.id: "take 200: the bridge?",
    }
    assert sorted(body for _, body, _ in queued(store)) == ["take 200: the bridge?", "the chorus?"]
