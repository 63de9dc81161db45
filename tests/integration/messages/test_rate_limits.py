"""Sending limits with counters in the real Redis, on SQLite and PostgreSQL: past
``limits.message_user`` (per sender, every conversation) or ``limits.message_conversation``
(everyone in one conversation) a send is a 429 problem+json with Retry-After, and nothing is
stored. Counters are keyed by user and conversation id, which every test's fresh database
hands out again, so each test starts by clearing the message counters of the session's Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

from control_plane.kits.outbox.models import OutboxMessage
from control_plane.messages.models import Message
from tests.conftest import make_settings
from tests.integration.api_helpers import problem
from tests.integration.messages.messages_helpers import count, direct, group, ok, post, send
from tests.integration.people import many_people

AppFactory = Callable[..., Flask]


@pytest.fixture
def limited_app(tmp_path: Path, database_url: str, redis_url: str) -> Iterator[AppFactory]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade
    from control_plane.kits.extensions import db

    upgrade(database_url)
    store = redis.Redis.from_url(redis_url)
    for key in store.scan_iter(match="*message-*"):
        store.delete(key)
    store.close()
    made: list[Flask] = []

    def build(**limits: Any) -> Flask:
        settings = make_settings(tmp_path, database_url, redis_url)
        loose = {"message_user": "1000/minute", "message_conversation": "1000/minute"}
        settings = replace(settings, limits=replace(settings.limits, storage_url="", **{**loose, **limits}))
        app = create_app(settings, TESTING=True)
        made.append(app)
        return app

    yield build
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _stored(app: Flask) -> tuple[int, int]:
    return count(app, Message), count(app, OutboxMessage)


def _limited(answer: Any) -> int:
    body = problem(answer, 429)
    retry_after = int(answer.headers["Retry-After"])
    assert body["code"] == "rate-limited" and body["retry_after"] == retry_after
    assert 1 <= retry_after <= 60
    return retry_after


def test_a_sender_past_their_limit_gets_429_in_every_conversation(limited_app: AppFactory, redis_url: str) -> None:
    app = limited_app(message_user="3/minute")
    client = app.test_client()
    ana, ben, cat = many_people(app, 3)
    one = ok(direct(client, ana, ben), 201)["id"]
    two = ok(group(client, ana, "Two", ben, cat), 201)["id"]
    for i in range(3):
        send(client, ana, one, f"m{i}")
    before = _stored(app)
    _limited(post(client, ana, one, "one more"))
    _limited(post(client, ana, two, "elsewhere"))  # the limit is the sender's, wherever they write
    assert _stored(app) == before
    send(client, ben, one, "ben is not limited")
    store = redis.Redis.from_url(redis_url)
    assert list(store.scan_iter(match="*message-sender*")), "the counters live in Redis"
    store.close()


def test_a_busy_conversation_past_its_limit_gets_429_for_everyone_in_it(limited_app: AppFactory) -> None:
    app = limited_app(message_conversation="4/minute")
    client = app.test_client()
    ana, ben, cat = many_people(app, 3)
    busy = ok(group(client, ana, "Busy", ben, cat), 201)["id"]
    quiet = ok(direct(client, ana, ben), 201)["id"]
    for person in (ana, ben, cat, ana):
        send(client, person, busy, "chatter")
    before = _stored(app)
    _limited(post(client, cat, busy, "me too"))
    _limited(post(client, ben, busy, "and me"))
    assert _stored(app) == before
    send(client, ana, quiet, "another conversation is not limited")


def test_outsiders_and_refused_sends_do_not_use_up_a_conversations_budget(limited_app: AppFactory) -> None:
    """The per-conversation budget is shared by its members: only messages it stores count.
    Otherwise anyone could silence a conversation they are not in by posting at its id."""
    app = limited_app(message_conversation="3/minute")
    client = app.test_client()
    ana, ben, *strangers = many_people(app, 6)
    cid = ok(direct(client, ana, ben), 201)["id"]
    for stranger in strangers:
        problem(post(client, stranger, cid, "let me in"), 404)
    problem(post(client, ana, cid, "\x07"), 422)
    for person in (ana, ben, ana):
        send(client, person, cid, "we are still talking")
    _limited(post(client, ben, cid, "one too many"))
