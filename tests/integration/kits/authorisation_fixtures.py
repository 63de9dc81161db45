"""The world the authorisation table is checked against (issue 20): one of it per database.

Three people play the table's roles around every resource: the **owner** (hosts the session,
owns the project, the room, the track, the files, started the conversations, holds the
notification), the **member** (holds a seat, has the accepted request, joined the room, is in
the conversations) and the **stranger** (an account with every role and no tie to any of it).
**anonymous** sends no credentials. There is no admin role yet.

The world is built through the API (``files_helpers.crew`` and the other helpers), except what
has no route: a track queued in a room (the room socket's command, run in-process) and a stored
notification (the notification service's store, which this app reads in-process instead of
over HTTP). Rows of the table that change or end a resource ask for a fresh one here
(``fresh_*``), so the world every other row reads stays as built.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from contracts.live import MediaAnswer, MediaOffer
from control_plane.kits.extensions import NOTIFICATIONS_KEY, db
from control_plane.rooms.services.media import MEDIA_KEY
from notification_service.store import Draft, InboxStore
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer, new_session, register
from tests.integration.files.files_helpers import crew, upload, wav_bytes
from tests.support.services import postgres_available, postgres_database

__all__ = ["MARKER", "OFFER", "PASSWORD", "World", "authorisation_app", "build_world", "queue_track"]

# Written into everything private the world holds: no answer to a stranger or an anonymous
# caller may contain it.
MARKER = "Quokka"
ROLES_ALL = ["producer", "facilitator", "musician", "creator"]
OFFER = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
PASSWORD = "correct horse battery"

_serial = itertools.count(1)


class StoreInbox:
    """The notifications port answered by the notification service's real store, in-process:
    the same shapes as its internal HTTP API (``notification_service.app``), so the routes'
    ownership checks meet the store's own (a notification is read only by its user)."""

    def __init__(self, store: InboxStore) -> None:
        self.store = store

    def since(self, user_id: int, since: int | None, limit: int = 500) -> dict[str, Any]:
        items, more = self.store.since(user_id, since or 0, limit)
        return {
            "items": [n.to_message().to_dict() for n in items],
            "has_more": more,
            "epoch": self.store.epoch(),
            "unread": self.store.unread_count(user_id),
            "last_id": self.store.last_id(user_id),
        }

    def mark_read(self, user_id: int, notification_id: int) -> bool:
        return self.store.mark_read(user_id, notification_id)

    def mark_all_read(self, user_id: int) -> int:
        return self.store.mark_all_read(user_id)

    def preferences(self, user_id: int) -> dict[str, Any]:
        return {"preferences": self.store.preferences(user_id)}

    def set_preferences(self, user_id: int, email: str, channels: dict[str, str]) -> dict[str, Any]:
        return {"preferences": self.store.set_preferences(user_id, email, channels)}


class FakeMedia:
    """The media process: answers every offer it is handed (only allowed ones reach it)."""

    def offer(self, offer: MediaOffer) -> MediaAnswer:
        return MediaAnswer(sdp="v=0\r\n", type="answer", stream_id=offer.stream_id)


@contextmanager
def authorisation_app(kind: str, folder: Path) -> Iterator[Flask]:
    """An app like the ``app`` fixture's, for a whole module (one world per database)."""
    import pytest

    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    with _database(kind, folder) as url:
        if url is None:
            pytest.skip("PostgreSQL is not reachable at DOWNBEAT_TEST_POSTGRES")
        upgrade(url)
        app = create_app(make_settings(folder, url), TESTING=True)
        app.extensions[NOTIFICATIONS_KEY] = StoreInbox(InboxStore.from_url(f"sqlite:///{folder / 'inbox.db'}"))
        app.extensions[MEDIA_KEY] = FakeMedia()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@contextmanager
def _database(kind: str, folder: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'downbeat.db'}"
        return
    if not postgres_available():
        import os

        import pytest

        if os.environ.get("DOWNBEAT_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (DOWNBEAT_REQUIRE_POSTGRES=1) but not reachable")
        yield None
        return
    with postgres_database() as url:
        yield url


def _ok(answer: Any, *statuses: int) -> Any:
    assert answer.status_code in (statuses or (200, 201)), (answer.status_code, answer.get_data(as_text=True)[:500])
    return answer.get_json()


def _slot(day: int, hour: int) -> tuple[str, str]:
    start = datetime(2031, 5, 5 + day, hour, tzinfo=UTC)
    return start.isoformat(), (start + timedelta(minutes=30)).isoformat()


@dataclass
class World:
    app: Flask
    client: FlaskClient
    people: dict[str, dict[str, Any]]  # owner, member, stranger, outsider (a target no role is)
    project_id: int
    member_request: int
    session_id: int
    booking_id: int
    payment_ref: str
    room_code: str
    track_id: int
    direct_id: int
    group_id: int
    direct_message_id: int
    file_id: int
    comment_id: int
    upload_id: str
    deliverable_id: int
    notification_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.people[role])

    def uid(self, role: str) -> int:
        return int(self.people[role]["user"]["id"])

    # --- fresh sub-resources for the rows that change or end one --------------------------

    def fresh_session(self, **fields: Any) -> int:
        return int(new_session(self.client, self.people["owner"], title=f"Check {next(_serial)}", **fields)["id"])

    def fresh_booking(self, paid: bool = False) -> dict[str, Any]:
        price = {"price": {"amount": 2500, "currency": "EUR"}} if paid else {}
        session_id = self.fresh_session(**price)
        answer = self.client.post("/api/bookings", json={"session_id": session_id}, headers=self.headers("member"))
        booking: dict[str, Any] = _ok(answer, 201)
        return booking

    def fresh_request(self, proposed_by_owner: bool = False) -> int:
        """A pending request of the owner's project to the member, at a time of its own."""
        n = next(_serial)
        starts_at, ends_at = _slot(1 + n % 6, (n // 6) % 22 + 1)
        body = {
            "musician_id": self.uid("member"),
            "instrument": f"Drums {n}",
            "starts_at": starts_at,
            "ends_at": ends_at,
            "offer": {"amount": 1000, "currency": "EUR"},
        }
        answer = self.client.post(f"/api/projects/{self.project_id}/requests", json=body, headers=self.headers("owner"))
        request_id = int(_ok(answer, 201)["id"])
        if proposed_by_owner:
            moved = {"starts_at": starts_at.replace(":00:00", ":30:00"), "ends_at": ends_at.replace(":30:00", ":59:00")}
            answer = self.client.post(
                f"/api/requests/{request_id}/reschedule", json=moved, headers=self.headers("owner")
            )
            _ok(answer, 200)
        return request_id

    def fresh_file(self) -> int:
        answer = upload(self.client, self.people["owner"], self.project_id, wav_bytes(0.05), "spare.wav")
        return int(_ok(answer, 201)["id"])

    def fresh_comment(self, resolved: bool = False) -> int:
        answer = self.client.post(
            f"/api/files/{self.file_id}/comments",
            json={"version": 1, "body": f"{MARKER} note"},
            headers=self.headers("owner"),
        )
        comment_id = int(_ok(answer, 201)["id"])
        if resolved:
            _ok(self.client.post(f"/api/comments/{comment_id}/resolve", headers=self.headers("owner")), 200)
        return comment_id

    def fresh_deliverable(self, submitted: bool = False) -> int:
        answer = self.client.post(
            f"/api/requests/{self.member_request}/deliverables",
            json={"title": f"{MARKER} stems"},
            headers=self.headers("owner"),
        )
        deliverable_id = int(_ok(answer, 201)["id"])
        if submitted:
            answer = self.client.post(
                f"/api/deliverables/{deliverable_id}/submit",
                json={"file_id": self.file_id, "version": 1},
                headers=self.headers("member"),
            )
            _ok(answer, 200)
        return deliverable_id

    def fresh_upload(self) -> str:
        answer = self.client.post(
            f"/api/projects/{self.project_id}/uploads",
            json={"name": "stem.wav", "size": 1000},
            headers=self.headers("owner"),
        )
        return str(_ok(answer, 201)["id"])

    def fresh_message(self) -> int:
        return post_message(self.client, self.people["owner"], self.direct_id)

    def fresh_group(self) -> int:
        return group(self.client, self.people["owner"], self.people["member"])

    def fresh_room(self, member_joins: bool = False) -> str:
        answer = self.client.post("/api/rooms", json={"name": "Spare room"}, headers=self.headers("owner"))
        code = str(_ok(answer, 201)["code"])
        if member_joins:
            _ok(self.client.post(f"/api/rooms/{code}/join", headers=self.headers("member")), 200)
        return code

    def fresh_track(self) -> int:
        """An uploaded track of the owner's that no room queues."""
        answer = self.client.post(
            "/api/tracks",
            data={"file": (io.BytesIO(wav_bytes(0.1)), "spare.wav")},
            headers=self.headers("owner"),
            content_type="multipart/form-data",
        )
        return int(_ok(answer, 201)["id"])

    def fresh_login(self, role: str) -> dict[str, Any]:
        """A new login (token family) of the role's person: logging it out or rotating it
        leaves the world's own tokens working."""
        person = self.people[role]
        answer = self.client.post("/api/auth/login", json={"email": person["email"], "password": PASSWORD})
        tokens: dict[str, Any] = _ok(answer, 200)
        return tokens

    def throwaway(self) -> dict[str, Any]:
        """An account of its own, for what ends every other login (a password change)."""
        return register(self.client, roles=ROLES_ALL, name="Throwaway")


def post_message(client: FlaskClient, person: dict[str, Any], conversation_id: int) -> int:
    answer = client.post(
        f"/api/conversations/{conversation_id}/messages",
        json={"body": f"{MARKER} says hello", "client_id": f"w-{next(_serial)}"},
        headers=bearer(person),
    )
    return int(_ok(answer, 201)["id"])


def group(client: FlaskClient, owner: dict[str, Any], *others: dict[str, Any]) -> int:
    answer = client.post(
        "/api/conversations",
        json={"kind": "group", "title": f"{MARKER} group", "member_ids": [o["user"]["id"] for o in others]},
        headers=bearer(owner),
    )
    return int(_ok(answer, 201)["id"])


def _everything(client: FlaskClient, person: dict[str, Any]) -> None:
    """Every role (so no row is refused for a missing role rather than for whose it is), a
    profile and availability (so the caller's own musician rows answer 200)."""
    _ok(client.patch("/api/me", json={"roles": ROLES_ALL}, headers=bearer(person)), 200)
    profile = {"instruments": ["Drums"], "location": {"city": "Berlin"}}
    _ok(client.put("/api/musicians/me", json=profile, headers=bearer(person)), 200)
    _ok(client.put("/api/musicians/me/availability", json={"weekly": ALL_WEEK}, headers=bearer(person)), 200)


def build_world(app: Flask) -> World:
    client = app.test_client(use_cookies=False)
    c = crew(client)
    people = {"owner": c.owner, "member": c.member, "stranger": c.stranger, "outsider": c.former}
    for role in ("owner", "member", "stranger"):
        _everything(client, people[role])
    owner, member = people["owner"], people["member"]

    # A published session with the member's seat, and a paid one with the member's payment.
    session_id = int(new_session(client, owner, title="Open jam")["id"])
    booking = _ok(client.post("/api/bookings", json={"session_id": session_id}, headers=bearer(member)), 201)
    paid = new_session(client, owner, title="Paid jam", price={"amount": 2500, "currency": "EUR"})
    paid_booking = _ok(client.post("/api/bookings", json={"session_id": paid["id"]}, headers=bearer(member)), 201)
    assert paid_booking["payment"], paid_booking

    # A room the member joined, with the owner's uploaded track in its queue.
    code = str(_ok(client.post("/api/rooms", json={"name": "Listening room"}, headers=bearer(owner)), 201)["code"])
    _ok(client.post(f"/api/rooms/{code}/join", headers=bearer(member)), 200)
    track = client.post(
        "/api/tracks",
        data={"file": (io.BytesIO(wav_bytes(0.5)), "take.wav")},
        headers=bearer(owner),
        content_type="multipart/form-data",
    )
    track_id = int(_ok(track, 201)["id"])
    queue_track(app, code, int(owner["user"]["id"]), track_id)

    # Conversations: direct, group, the project's and the session's, each with a message.
    direct = client.post(
        "/api/conversations", json={"kind": "direct", "member_ids": [member["user"]["id"]]}, headers=bearer(owner)
    )
    direct_id = int(_ok(direct, 201)["id"])
    direct_message_id = post_message(client, owner, direct_id)
    group_id = group(client, owner, member)
    post_message(client, owner, group_id)
    project_conversation = _ok(client.get(f"/api/projects/{c.project_id}/conversation", headers=bearer(owner)), 200)
    post_message(client, owner, int(project_conversation["id"]))
    session_conversation = _ok(client.get(f"/api/sessions/{session_id}/conversation", headers=bearer(owner)), 200)
    post_message(client, owner, int(session_conversation["id"]))

    # A project file with a comment, a resumable upload under way, a deliverable.
    file_id = int(_ok(upload(client, owner, c.project_id, wav_bytes(0.2), "take.wav"), 201)["id"])
    comment = client.post(
        f"/api/files/{file_id}/comments", json={"version": 1, "body": f"{MARKER} comment"}, headers=bearer(owner)
    )
    started = client.post(
        f"/api/projects/{c.project_id}/uploads", json={"name": "stem.wav", "size": 1000}, headers=bearer(owner)
    )
    deliverable = client.post(
        f"/api/requests/{c.member_request}/deliverables", json={"title": f"{MARKER} stems"}, headers=bearer(owner)
    )

    # A notification of the owner's, in the notification service's store.
    inbox: StoreInbox = app.extensions[NOTIFICATIONS_KEY]
    [recorded] = inbox.store.record(
        "authorisation-world", [Draft(int(owner["user"]["id"]), "booking.created", f"{MARKER} booked", "A seat", {})]
    )
    assert recorded.notification is not None

    return World(
        app=app,
        client=client,
        people=people,
        project_id=c.project_id,
        member_request=c.member_request,
        session_id=session_id,
        booking_id=int(booking["id"]),
        payment_ref=str(paid_booking["payment"]["ref"]),
        room_code=code,
        track_id=track_id,
        direct_id=direct_id,
        group_id=group_id,
        direct_message_id=direct_message_id,
        file_id=file_id,
        comment_id=int(_ok(comment, 201)["id"]),
        upload_id=str(_ok(started, 201)["id"]),
        deliverable_id=int(_ok(deliverable, 201)["id"]),
        notification_id=recorded.notification.id,
    )


def queue_track(app: Flask, code: str, host_id: int, track_id: int) -> None:
    """What the host's ``queue_add`` on the room socket does (the queue has no HTTP route)."""
    from control_plane.rooms.services.rooms import handle_command

    with app.app_context():
        handle_command(db.session, code, host_id, {"type": "queue_add", "track_id": track_id}, {}, 0.0, 0.0)
        db.session.commit()
        db.session.remove()
