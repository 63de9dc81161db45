"""Small helpers for the messages tests: talking to the conversation routes, the people of a
session, and looking at the rows and outbox events the routes leave behind."""

from __future__ import annotations

import itertools
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from contracts import decode
from control_plane.kits.extensions import db
from control_plane.kits.outbox.models import OutboxMessage
from tests.integration.api_helpers import bearer, new_session, register

_ids = itertools.count(1)


def client_id() -> str:
    return f"c-{next(_ids)}"


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True))
    return answer.get_json()


def project_conversation(client: FlaskClient, person: dict[str, Any], project_id: int) -> Any:
    return client.get(f"/api/projects/{project_id}/conversation", headers=bearer(person))


def session_conversation(client: FlaskClient, person: dict[str, Any], session_id: int) -> Any:
    return client.get(f"/api/sessions/{session_id}/conversation", headers=bearer(person))


def post(
    client: FlaskClient,
    person: dict[str, Any],
    conversation_id: int,
    body: str = "hello",
    cid: str | None = None,
    **extra: Any,
) -> Any:
    return client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"body": body, "client_id": cid or client_id(), **extra},
        headers=bearer(person),
    )


def send(client: FlaskClient, person: dict[str, Any], conversation_id: int, body: str = "hello", **extra: Any) -> int:
    """Post and return the new message's id (it must be created)."""
    return int(ok(post(client, person, conversation_id, body, **extra), 201)["id"])


def history(client: FlaskClient, person: dict[str, Any], conversation_id: int, **query: Any) -> Any:
    return client.get(f"/api/conversations/{conversation_id}/messages", query_string=query, headers=bearer(person))


def bodies(client: FlaskClient, person: dict[str, Any], conversation_id: int) -> list[str]:
    return [m["body"] for m in ok(history(client, person, conversation_id, limit=200))["items"]]


def read(client: FlaskClient, person: dict[str, Any], conversation_id: int, up_to: int) -> Any:
    return client.post(f"/api/conversations/{conversation_id}/read", json={"up_to": up_to}, headers=bearer(person))


def direct(client: FlaskClient, person: dict[str, Any], other: dict[str, Any]) -> Any:
    return client.post(
        "/api/conversations", json={"kind": "direct", "member_ids": [other["user"]["id"]]}, headers=bearer(person)
    )


def group(client: FlaskClient, person: dict[str, Any], title: str, *others: dict[str, Any]) -> Any:
    return client.post(
        "/api/conversations",
        json={"kind": "group", "title": title, "member_ids": [o["user"]["id"] for o in others]},
        headers=bearer(person),
    )


def listing(client: FlaskClient, person: dict[str, Any]) -> dict[str, Any]:
    """The caller's conversation list, by id."""
    body = ok(client.get("/api/conversations", query_string={"limit": 100}, headers=bearer(person)))
    return {c["id"]: c for c in body["items"]}


def unread_total(client: FlaskClient, person: dict[str, Any]) -> int:
    return int(ok(client.get("/api/conversations/unread", headers=bearer(person)))["total"])


def host_and_session(client: FlaskClient, **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    host = register(client, roles=["facilitator"], name="Hana Host")
    return host, new_session(client, host, **fields)


def book(client: FlaskClient, person: dict[str, Any], session_id: int, **extra: Any) -> dict[str, Any]:
    answer = client.post("/api/bookings", json={"session_id": session_id, **extra}, headers=bearer(person))
    assert answer.status_code in (200, 201), answer.get_json()
    result: dict[str, Any] = answer.get_json()
    return result


def cancel_booking(client: FlaskClient, person: dict[str, Any], booking_id: int) -> None:
    ok(client.post(f"/api/bookings/{booking_id}/cancel", json={}, headers=bearer(person)))


# --- rows and events ---


def count(app: Flask, model: Any, *where: Any) -> int:
    with app.app_context():
        found = int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)
        db.session.remove()
    return found


def events(app: Flask, *types: str) -> list[Any]:
    """Outbox events (decoded, oldest first) of these types."""
    with app.app_context():
        found = [decode(row.payload) for row in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
        db.session.remove()
    return [e for e in found if e.type in types]


def set_columns(app: Flask, model: Any, where: Any, **values: Any) -> None:
    with app.app_context():
        db.session.execute(update(model).where(where).values(**values))
        db.session.commit()
        db.session.remove()
