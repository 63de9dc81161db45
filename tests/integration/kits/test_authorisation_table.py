"""Authorisation on every route (issue 20): each operation of /api/openapi.json, called by the
owner, a member, a stranger and an anonymous caller against one world per database, must get
the answer its row of ``TABLE`` names. An operation the table does not name fails
``test_every_operation_is_in_the_table``: a new route cannot ship unchecked.

Roles (authorisation_fixtures.py says who they are): ``owner``, ``member``, ``stranger``,
``anonymous``. **admin: not yet** (no admin role exists; ``test_no_admin_role_yet`` fails the
day one does, so that the table gains its column).

Expectations per role: ``2xx`` (any success) or an exact status. The contract
(../shared/API.md): a stranger gets 404 for anything private, so its existence never shows.
A 403 for a stranger is written down only where the resource is public anyway (a published
session, a room whose code the caller has) and only the action is someone else's; each such
row says why. A member's 403 means "you can see it, but that step is not yours".

A row's ``send`` builds the request for one role: it may ask the world for a fresh
sub-resource (a booking to cancel, a file to delete) so that nothing the other rows read is
changed or ended.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask

from tests.integration.files.files_helpers import wav_bytes
from tests.integration.kits.authorisation_fixtures import (
    MARKER,
    OFFER,
    PASSWORD,
    World,
    authorisation_app,
    build_world,
)

ROLES = ("owner", "member", "stranger", "anonymous")
ADMIN = "not yet"  # the admin column: there is no admin role yet (issue 20)
PROJECTS_403 = "issue 20: projects answer a stranger 403"

Expect = int | str  # an exact status, or "2xx"
Send = Callable[[World, str], "Call"]


@dataclass
class Call:
    """What one role sends: the path's ids, and the test client's keyword arguments."""

    ids: dict[str, Any] = field(default_factory=dict)
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Whose credentials: the role's own (None), or a bearer token the row made for it.
    token: str | None = None


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    expect: dict[str, Expect]
    send: Send
    xfail: dict[str, str]
    why: str = ""
    variant: str = ""  # set on VARIANTS: the same operation on another kind of resource


def _parse(expect: str) -> dict[str, Expect]:
    words = expect.split()
    assert len(words) == len(ROLES), expect
    return {role: word if word == "2xx" else int(word) for role, word in zip(ROLES, words, strict=True)}


def row(
    op: str,
    expect: str,
    send: Send | None = None,
    *,
    xfail: dict[str, str] | None = None,
    why: str = "",
    variant: str = "",
) -> Row:
    method, path = op.split(" ", 1)
    return Row(method, path, _parse(expect), send or (lambda w, r: Call()), dict(xfail or {}), why, variant)


def ids(**values: Callable[[World], Any]) -> Send:
    return lambda w, r: Call({name: get(w) for name, get in values.items()})


def body(json: Any = None, **id_values: Callable[[World], Any]) -> Send:
    def send(w: World, r: str) -> Call:
        payload = json(w, r) if callable(json) else json
        return Call({name: get(w) for name, get in id_values.items()}, {"json": payload})

    return send


def _multipart(data: bytes, name: str, **form: str) -> dict[str, Any]:
    return {"data": {"file": (io.BytesIO(data), name), **form}, "content_type": "multipart/form-data"}


def _fresh_login(w: World, r: str, kind: str = "access_token") -> Call:
    return Call(token=None if r == "anonymous" else str(w.fresh_login(r)[kind]))


def _password(w: World, r: str) -> Call:
    person = w.throwaway()
    payload = {"current_password": PASSWORD, "new_password": "another horse battery"}
    return Call(kwargs={"json": payload}, token=None if r == "anonymous" else str(person["access_token"]))


def _credentials(w: World) -> dict[str, str]:
    return {"email": w.people["owner"]["email"], "password": PASSWORD}


_registered = iter(range(1, 10**6))


def _registration() -> dict[str, Any]:
    n = next(_registered)
    return {"email": f"table{n}@example.com", "password": PASSWORD, "name": "New", "roles": ["user"]}


def _all_week() -> list[dict[str, Any]]:
    return [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]


def _request_body(w: World) -> dict[str, Any]:
    return {
        "musician_id": w.uid("outsider"),
        "instrument": "Bass",
        "starts_at": "2031-05-09T14:00:00+00:00",
        "ends_at": "2031-05-09T15:00:00+00:00",
        "offer": {"amount": 1000, "currency": "EUR"},
    }


def _fresh_request(w: World, proposed: bool = False) -> Call:
    return Call({"request_id": w.fresh_request(proposed_by_owner=proposed)}, {"json": {}})


def _add_outsider(w: World, r: str) -> Call:
    return Call({"conversation_id": w.group_id}, {"json": {"member_ids": [w.uid("outsider")]}})


SESSION = lambda w: w.session_id  # noqa: E731
PROJECT = lambda w: w.project_id  # noqa: E731
FILE = lambda w: w.file_id  # noqa: E731
DIRECT = lambda w: w.direct_id  # noqa: E731
GROUP = lambda w: w.group_id  # noqa: E731
REQUEST = lambda w: w.member_request  # noqa: E731
ROOM = lambda w: w.room_code  # noqa: E731
TRACK = lambda w: w.track_id  # noqa: E731
UPLOAD = lambda w: w.upload_id  # noqa: E731
OUTSIDER = lambda w: w.uid("outsider")  # noqa: E731
OWNER_ID = lambda w: w.uid("owner")  # noqa: E731
WHEN = {"starts_at": "2031-05-20T10:00:00+00:00", "ends_at": "2031-05-20T12:00:00+00:00"}

# Self-service rows: the caller's own things (no resource of the world in the path), so every
# account gets an answer about itself and anonymous a 401.
SELF = "2xx 2xx 2xx 401"
# Public rows: no login needed, and nothing private in them.
PUBLIC = "2xx 2xx 2xx 2xx"

TABLE: list[Row] = [
    # --- accounts ------------------------------------------------------------------------
    row("POST /api/auth/login", PUBLIC, lambda w, r: Call(kwargs={"json": _credentials(w)})),
    row("POST /api/auth/register", PUBLIC, lambda w, r: Call(kwargs={"json": _registration()})),
    row("POST /api/auth/logout", SELF, _fresh_login),
    row("POST /api/auth/refresh", SELF, lambda w, r: _fresh_login(w, r, "refresh_token")),
    row("POST /api/auth/socket-token", SELF),
    row("GET /api/me", SELF),
    row("PATCH /api/me", SELF, body({"timezone": "Europe/Berlin"})),
    row("POST /api/me/password", SELF, _password),
    # --- sessions and bookings -----------------------------------------------------------
    row("GET /api/sessions", PUBLIC),
    row("POST /api/sessions", SELF, body({**{"title": "New", "capacity": 2}, **WHEN})),
    row("GET /api/sessions/{session_id}", PUBLIC, ids(session_id=SESSION)),
    row(
        "PATCH /api/sessions/{session_id}",
        "2xx 403 403 401",
        body({"title": "Open jam"}, session_id=SESSION),
        why="a published session is public: that it exists is no secret, only editing is the host's",
    ),
    row(
        "DELETE /api/sessions/{session_id}",
        "2xx 404 404 401",
        lambda w, r: Call({"session_id": w.fresh_session(status="draft")}),
    ),
    row(
        "POST /api/sessions/{session_id}/cancel",
        "2xx 403 403 401",
        lambda w, r: Call({"session_id": w.fresh_session()}, {"json": {"reason": "rain"}}),
        why="a published session is public: only cancelling it is the host's",
    ),
    row("GET /api/sessions/{session_id}/bookings", "2xx 404 404 401", ids(session_id=SESSION)),
    row("GET /api/sessions/{session_id}/conversation", "2xx 2xx 404 401", ids(session_id=SESSION)),
    row("GET /api/bookings", SELF),
    # Booking a published session is open to any account (a fresh session: nobody joins the world's).
    row("POST /api/bookings", SELF, lambda w, r: Call(kwargs={"json": {"session_id": w.fresh_session()}})),
    # A booking is its booker's (the member's); the host sees seats through the session's list.
    row("GET /api/bookings/{booking_id}", "404 2xx 404 401", ids(booking_id=lambda w: w.booking_id)),
    row("GET /api/bookings/{booking_id}.ics", "404 2xx 404 401", ids(booking_id=lambda w: w.booking_id)),
    row(
        "POST /api/bookings/{booking_id}/cancel",
        "404 2xx 404 401",
        lambda w, r: Call({"booking_id": w.fresh_booking()["id"]}, {"json": {}}),
    ),
    # --- seat payments (the member paid; a payment is its payer's) -------------------------
    row("GET /api/payments/{ref}", "404 2xx 404 401", ids(ref=lambda w: w.payment_ref)),
    row(
        "POST /api/payments/{ref}/simulated-checkout",
        "404 2xx 404 401",
        lambda w, r: Call({"ref": w.fresh_booking(paid=True)["payment"]["ref"]}),
    ),
    row(
        "POST /api/payments/webhook",
        "400 400 400 400",
        lambda w, r: Call(kwargs={"json": {"ref": w.payment_ref}}),
        why="authorised by the provider's signature, not by a login: unsigned is 400 for everyone",
    ),
    # --- calendar ------------------------------------------------------------------------
    row("GET /api/calendar", SELF),
    row("POST /api/calendar/rotate", SELF),
    row("DELETE /api/calendar", SELF),
    row("GET /api/calendar/week", SELF),
    # --- musicians, projects, requests -----------------------------------------------------
    row("GET /api/musicians", PUBLIC),
    row("GET /api/musicians/me", SELF),
    row("PUT /api/musicians/me", SELF, body({"instruments": ["Drums"], "location": {"city": "Berlin"}})),
    row("GET /api/musicians/me/availability", SELF),
    row("PUT /api/musicians/me/availability", SELF, lambda w, r: Call(kwargs={"json": {"weekly": _all_week()}})),
    row("GET /api/musicians/{musician_id}", PUBLIC, ids(musician_id=OWNER_ID)),
    row(
        "GET /api/musicians/{musician_id}/availability/check",
        PUBLIC,
        lambda w, r: Call({"musician_id": w.uid("owner")}, {"query_string": WHEN}),
    ),
    row(
        "GET /api/musicians/{musician_id}/availability/slots",
        PUBLIC,
        lambda w, r: Call(
            {"musician_id": w.uid("owner")}, {"query_string": {"from": WHEN["starts_at"], "to": WHEN["ends_at"]}}
        ),
    ),
    row("GET /api/musicians/{musician_id}/reviews", PUBLIC, ids(musician_id=OWNER_ID)),
    row("GET /api/projects", SELF),
    row("POST /api/projects", SELF, body({"title": "Another", "location": "Hansa", **WHEN})),
    row(
        "GET /api/projects/{project_id}",
        "2xx 403 404 401",
        ids(project_id=PROJECT),
        xfail={"stranger": PROJECTS_403},
        why="member 403: a member knows the project; its requests list is the owner's",
    ),
    row(
        "POST /api/projects/{project_id}/requests",
        "2xx 403 404 401",
        lambda w, r: Call({"project_id": w.project_id}, {"json": _request_body(w)}),
        xfail={"stranger": PROJECTS_403},
    ),
    row("GET /api/projects/{project_id}/conversation", "2xx 2xx 404 401", ids(project_id=PROJECT)),
    row("GET /api/requests", SELF),
    row("GET /api/requests/{request_id}", "2xx 2xx 404 401", ids(request_id=REQUEST)),
    # State changes of a fresh pending request (owner: requester; member: the musician).
    row("POST /api/requests/{request_id}/accept", "403 2xx 404 401", lambda w, r: _fresh_request(w)),
    row("POST /api/requests/{request_id}/decline", "403 2xx 404 401", lambda w, r: _fresh_request(w)),
    row("POST /api/requests/{request_id}/cancel", "2xx 2xx 404 401", lambda w, r: _fresh_request(w)),
    row(
        "POST /api/requests/{request_id}/reschedule",
        "2xx 2xx 404 401",
        lambda w, r: Call(
            {"request_id": w.fresh_request()},
            {"json": {"starts_at": "2031-05-11T20:00:00+00:00", "ends_at": "2031-05-11T21:00:00+00:00"}},
        ),
    ),
    # The owner proposed: the member answers; the owner may not answer their own proposal.
    row(
        "POST /api/requests/{request_id}/reschedule/accept",
        "403 2xx 404 401",
        lambda w, r: _fresh_request(w, proposed=True),
    ),
    row(
        "POST /api/requests/{request_id}/reschedule/decline",
        "403 2xx 404 401",
        lambda w, r: _fresh_request(w, proposed=True),
    ),
    # The engagement has not ended: the requester hears 409, the musician may not review.
    row("POST /api/requests/{request_id}/review", "409 403 404 401", body({"stars": 5}, request_id=REQUEST)),
    # --- files, comments, uploads, deliverables ---------------------------------------------
    row("GET /api/projects/{project_id}/files", "2xx 2xx 404 401", ids(project_id=PROJECT)),
    row(
        "POST /api/projects/{project_id}/files",
        "2xx 2xx 404 401",
        lambda w, r: Call({"project_id": w.project_id}, _multipart(wav_bytes(0.05), "x.wav")),
    ),
    row("GET /api/projects/{project_id}/members", "2xx 2xx 404 401", ids(project_id=PROJECT)),
    row(
        "POST /api/projects/{project_id}/uploads",
        "2xx 2xx 404 401",
        body({"name": "a.wav", "size": 10}, project_id=PROJECT),
    ),
    row("GET /api/projects/{project_id}/deliverables", "2xx 2xx 404 401", ids(project_id=PROJECT)),
    row("GET /api/files/{file_id}", "2xx 2xx 404 401", ids(file_id=FILE)),
    row(
        "PATCH /api/files/{file_id}",
        "2xx 403 404 401",
        body({"name": "take.wav"}, file_id=FILE),
        why="member 403: they see the file; renaming is its uploader's or the owner's",
    ),
    row(
        "DELETE /api/files/{file_id}",
        "2xx 403 404 401",
        lambda w, r: Call({"file_id": w.fresh_file()}),
    ),
    row(
        "POST /api/files/{file_id}/versions",
        "2xx 2xx 404 401",
        lambda w, r: Call({"file_id": w.file_id}, _multipart(wav_bytes(0.05), "v.wav")),
    ),
    row("GET /api/files/{file_id}/versions/{number}", "2xx 2xx 404 401", ids(file_id=FILE, number=lambda w: 1)),
    row(
        "GET /api/files/{file_id}/versions/{number}/content",
        "2xx 2xx 404 401",
        ids(file_id=FILE, number=lambda w: 1),
    ),
    row("GET /api/files/{file_id}/comments", "2xx 2xx 404 401", ids(file_id=FILE)),
    row(
        "POST /api/files/{file_id}/comments",
        "2xx 2xx 404 401",
        body({"version": 1, "body": "hm"}, file_id=FILE),
    ),
    row(
        "POST /api/comments/{comment_id}/resolve",
        "2xx 2xx 404 401",
        lambda w, r: Call({"comment_id": w.fresh_comment()}),
    ),
    row(
        "POST /api/comments/{comment_id}/reopen",
        "2xx 2xx 404 401",
        lambda w, r: Call({"comment_id": w.fresh_comment(resolved=True)}),
    ),
    # A resumable upload is its starter's (the owner's) alone, even inside the project.
    row("GET /api/uploads/{upload_id}", "2xx 404 404 401", ids(upload_id=UPLOAD)),
    row("HEAD /api/uploads/{upload_id}", "2xx 404 404 401", ids(upload_id=UPLOAD)),
    row(
        "PATCH /api/uploads/{upload_id}",
        "2xx 404 404 401",
        lambda w, r: Call(
            {"upload_id": w.fresh_upload()},
            {"data": b"RIFF", "headers": {"Upload-Offset": "0"}, "content_type": "application/offset+octet-stream"},
        ),
    ),
    row("DELETE /api/uploads/{upload_id}", "2xx 404 404 401", lambda w, r: Call({"upload_id": w.fresh_upload()})),
    row("GET /api/requests/{request_id}/deliverables", "2xx 2xx 404 401", ids(request_id=REQUEST)),
    row(
        "POST /api/requests/{request_id}/deliverables",
        "2xx 403 404 401",
        body({"title": f"{MARKER} more"}, request_id=REQUEST),
        why="member 403: the requester sets what is delivered",
    ),
    row(
        "POST /api/deliverables/{deliverable_id}/submit",
        "403 2xx 404 401",
        lambda w, r: Call({"deliverable_id": w.fresh_deliverable()}, {"json": {"file_id": w.file_id, "version": 1}}),
        why="owner 403: the musician submits",
    ),
    row(
        "POST /api/deliverables/{deliverable_id}/approve",
        "2xx 403 404 401",
        lambda w, r: Call({"deliverable_id": w.fresh_deliverable(submitted=True)}, {"json": {}}),
        why="member 403: the requester approves",
    ),
    row(
        "POST /api/deliverables/{deliverable_id}/request-changes",
        "2xx 403 404 401",
        lambda w, r: Call({"deliverable_id": w.fresh_deliverable(submitted=True)}, {"json": {"note": "louder"}}),
        why="member 403: the requester asks for changes",
    ),
    # --- messages ----------------------------------------------------------------------------
    row("GET /api/conversations", SELF),
    row(
        "POST /api/conversations",
        SELF,
        lambda w, r: Call(kwargs={"json": {"kind": "group", "title": "Mine", "member_ids": [w.uid("outsider")]}}),
    ),
    row("GET /api/conversations/unread", SELF),
    row("GET /api/conversations/{conversation_id}", "2xx 2xx 404 401", ids(conversation_id=DIRECT)),
    row(
        "PATCH /api/conversations/{conversation_id}",
        "2xx 2xx 404 401",
        body({"title": f"{MARKER} group"}, conversation_id=GROUP),
    ),
    row(
        "POST /api/conversations/{conversation_id}/members",
        "2xx 2xx 404 401",
        _add_outsider,
    ),
    row(
        "DELETE /api/conversations/{conversation_id}/members/me",
        "2xx 2xx 404 401",
        lambda w, r: Call({"conversation_id": w.fresh_group()}),
    ),
    row("GET /api/conversations/{conversation_id}/messages", "2xx 2xx 404 401", ids(conversation_id=DIRECT)),
    row(
        "POST /api/conversations/{conversation_id}/messages",
        "2xx 2xx 404 401",
        lambda w, r: Call({"conversation_id": w.direct_id}, {"json": {"body": "hi", "client_id": f"t-{r}"}}),
    ),
    row(
        "PUT /api/conversations/{conversation_id}/mute",
        "2xx 2xx 404 401",
        body({"muted": False}, conversation_id=DIRECT),
    ),
    row(
        "POST /api/conversations/{conversation_id}/read",
        "2xx 2xx 404 401",
        lambda w, r: Call({"conversation_id": w.direct_id}, {"json": {"up_to": w.direct_message_id}}),
    ),
    row("GET /api/messages/search", SELF, lambda w, r: Call(kwargs={"query_string": {"q": MARKER}})),
    row(
        "PATCH /api/messages/{message_id}",
        "2xx 403 404 401",
        body({"body": f"{MARKER} says hello"}, message_id=lambda w: w.direct_message_id),
        why="member 403: they read the message; only its sender edits it",
    ),
    row(
        "DELETE /api/messages/{message_id}",
        "2xx 403 404 401",
        lambda w, r: Call({"message_id": w.fresh_message()}),
        why="member 403: they read the message; only its sender deletes it",
    ),
    # The owner sent it: reporting your own message is refused (422); the member reports it.
    row(
        "POST /api/messages/{message_id}/report",
        "422 2xx 404 401",
        body({"reason": "spam"}, message_id=lambda w: w.direct_message_id),
    ),
    row("GET /api/users/blocked", SELF),
    # Blocking is about the caller's own conversations; the target is a person outside the world.
    row("POST /api/users/{user_id}/block", SELF, ids(user_id=OUTSIDER)),
    row("DELETE /api/users/{user_id}/block", SELF, ids(user_id=OUTSIDER)),
    # --- notifications (the owner's notification) -------------------------------------------
    row("GET /api/notifications", SELF),
    row("POST /api/notifications/read-all", SELF),
    row("GET /api/notifications/preferences", SELF),
    row("PUT /api/notifications/preferences", SELF, body({"preferences": {"booking.created": "in_app"}})),
    row(
        "POST /api/notifications/{notification_id}/read",
        "2xx 404 404 401",
        ids(notification_id=lambda w: w.notification_id),
    ),
    # --- rooms and tracks ----------------------------------------------------------------------
    row("POST /api/rooms", SELF, body({"name": "Mine"})),
    row(
        "GET /api/rooms/{code}",
        "2xx 2xx 2xx 401",
        ids(code=ROOM),
        why="a room's code is its invitation (API.md): whoever has it may look and join",
    ),
    row(
        "POST /api/rooms/{code}/join",
        "2xx 2xx 2xx 401",
        lambda w, r: Call({"code": w.fresh_room()}),
        why="a room's code is its invitation: whoever has it joins (a fresh room: the world's keeps its members)",
    ),
    row(
        "POST /api/rooms/{code}/leave",
        "2xx 2xx 2xx 401",
        lambda w, r: Call({"code": w.fresh_room(member_joins=True)}),
        why="leaving a room one is not in changes nothing and tells nothing the code did not",
    ),
    row(
        "POST /api/rooms/{code}/stream",
        "2xx 403 403 401",
        body({"sdp": OFFER, "type": "offer"}, code=ROOM),
        why="the room is open to whoever has its code; streaming is for the host and whom the host allows",
    ),
    row("GET /api/tracks", SELF),
    row("POST /api/tracks", SELF, body({"url": "https://example.com/a.mp3", "title": "Link"})),
    # The member is in the room that queues the track; a stranger must not learn it exists.
    row("GET /api/tracks/{track_id}", "2xx 2xx 404 401", ids(track_id=TRACK)),
    row("GET /api/tracks/{track_id}/audio", "2xx 2xx 404 401", ids(track_id=TRACK)),
]


ROWS: dict[tuple[str, str], Row] = {(r.method, r.path): r for r in TABLE}


# The same operations on private kinds of a resource the table's rows meet public: a draft
# session is nobody's business but its host's; a track no room queues is its owner's alone.
VARIANTS: list[Row] = [
    row(
        "GET /api/sessions/{session_id}",
        "2xx 404 404 404",
        lambda w, r: Call({"session_id": w.fresh_session(status="draft")}),
        variant="draft",
    ),
    row(
        "PATCH /api/sessions/{session_id}",
        "2xx 404 404 401",
        lambda w, r: Call({"session_id": w.fresh_session(status="draft")}, {"json": {"title": "Still a draft"}}),
        variant="draft",
    ),
    row(
        "POST /api/sessions/{session_id}/cancel",
        "409 404 404 401",
        lambda w, r: Call({"session_id": w.fresh_session(status="draft")}, {"json": {"reason": "rain"}}),
        why="owner 409: a draft is deleted, not cancelled",
        variant="draft",
    ),
    row(
        "GET /api/sessions/{session_id}/conversation",
        "2xx 404 404 401",
        lambda w, r: Call({"session_id": w.fresh_session(status="draft")}),
        variant="draft",
    ),
    row(
        "GET /api/tracks/{track_id}",
        "2xx 404 404 401",
        lambda w, r: Call({"track_id": w.fresh_track()}),
        variant="not queued",
    ),
]


# --- the world, one per database -------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp(f"authorisation-{request.param}")
    with authorisation_app(request.param, folder) as app:
        yield build_world(app)


def _matches(status: int, expected: Expect) -> bool:
    return 200 <= status < 300 if expected == "2xx" else status == expected


def check(world: World, entry: Row, role: str) -> None:
    """Send the row's request as ``role`` and hold the answer to the row's expectation (and a
    stranger's or anonymous answer to telling nothing private)."""
    call = entry.send(world, role)
    headers: dict[str, str] = dict(call.kwargs.pop("headers", {}))
    if role != "anonymous":
        headers["Authorization"] = f"Bearer {call.token}" if call.token else world.headers(role)["Authorization"]
    client = world.app.test_client(use_cookies=False)  # only what this caller sends counts
    answer = client.open(entry.path.format(**call.ids), method=entry.method, headers=headers, **call.kwargs)
    expected = entry.expect[role]
    try:
        text = answer.get_data().decode("utf-8", "replace")
    finally:
        answer.close()  # a streamed file (audio, content) is closed whatever the check says
    assert _matches(answer.status_code, expected), (
        f"{entry.method} {entry.path} as {role}: expected {expected}, got {answer.status_code}: {text[:300]}"
    )
    if role in ("stranger", "anonymous"):
        assert MARKER not in text, f"{entry.method} {entry.path} as {role} shows something private: {text[:300]}"


def _cases() -> list[Any]:
    cases = []
    for entry in [*TABLE, *VARIANTS]:
        for role in ROLES:
            marks = [pytest.mark.xfail(strict=True, reason=entry.xfail[role])] if role in entry.xfail else []
            name = f"{entry.method} {entry.path}{f' ({entry.variant})' if entry.variant else ''} {role}"
            cases.append(pytest.param(entry, role, marks=marks, id=name))
    return cases


@pytest.mark.parametrize(("entry", "role"), _cases())
def test_each_operation_answers_each_role_as_the_table_says(world: World, entry: Row, role: str) -> None:
    check(world, entry, role)


# --- the table covers the document, and agrees with it ------------------------------------------


def _document_operations(app: Flask) -> dict[tuple[str, str], dict[str, Any]]:
    document = app.test_client().get("/api/openapi.json").get_json()
    return {
        (method.upper(), path): operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_every_operation_is_in_the_table(world: World) -> None:
    operations = _document_operations(world.app)
    missing = sorted(f"{m} {p}" for m, p in operations.keys() - ROWS.keys())
    assert not missing, f"operations with no row in the authorisation table: {missing}"
    stale = sorted(f"{m} {p}" for m, p in ROWS.keys() - operations.keys())
    assert not stale, f"rows for operations the document no longer has: {stale}"
    assert len(ROWS) == len(TABLE), "an operation has two rows"


def test_anonymous_expectations_agree_with_the_documented_security(world: World) -> None:
    for key, operation in _document_operations(world.app).items():
        documented_public = operation["security"] == []
        anonymous = ROWS[key].expect["anonymous"]
        assert (anonymous != 401) == documented_public, (key, anonymous, operation["security"])


def test_no_admin_role_yet() -> None:
    """The day an admin role exists, this fails: give the table its admin column."""
    from control_plane.accounts.schemas import ROLES as ACCOUNT_ROLES

    assert ADMIN == "not yet"
    assert not any("admin" in role for role in ACCOUNT_ROLES), "an admin role exists: add its column to the table"


# --- the table notices a route that loses its check --------------------------------------------


def test_a_track_route_that_loses_its_check_fails_the_table(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from control_plane.rooms.api import tracks
    from control_plane.rooms.models import Track

    check(world, ROWS["GET", "/api/tracks/{track_id}"], "stranger")  # holds as the route stands
    monkeypatch.setattr(tracks, "visible_track", lambda db, track_id, user_id: db.get(Track, track_id))
    with pytest.raises(AssertionError, match="expected 404, got 200"):
        check(world, ROWS["GET", "/api/tracks/{track_id}"], "stranger")


def test_a_conversation_that_lets_anyone_post_fails_the_table(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from control_plane.messages.queries import Access, conversation_access
    from control_plane.messages.services import posting

    def anyone(db: Any, conversation_id: int, user_id: int, **kwargs: Any) -> Access | None:
        found = conversation_access(db, conversation_id, world.uid("owner"), **kwargs)
        return None if found is None else Access(found.conversation, None, True, None)

    monkeypatch.setattr(posting, "conversation_access", anyone)
    with pytest.raises(AssertionError, match="expected 404, got 20"):
        check(world, ROWS["POST", "/api/conversations/{conversation_id}/messages"], "stranger")


def test_a_stranger_cannot_see_a_track_by_queueing_it_in_their_own_room(world: World) -> None:
    from tests.integration.kits.authorisation_fixtures import queue_track

    track_id = world.fresh_track()
    client = world.app.test_client(use_cookies=False)
    made = client.post("/api/rooms", json={"name": "Mine"}, headers=world.headers("stranger"))
    assert made.status_code == 201, made.get_json()
    from control_plane.rooms.services.rooms import CommandRefused

    with contextlib.suppress(CommandRefused):  # refusing to queue it is one way to pass
        queue_track(world.app, made.get_json()["code"], world.uid("stranger"), track_id)
    assert client.get(f"/api/tracks/{track_id}", headers=world.headers("stranger")).status_code == 404
