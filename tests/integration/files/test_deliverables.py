"""Deliverables of an accepted booking request (docs/FILES.md), on SQLite and PostgreSQL: the
producer lists them, the musician hands in a version of a project file, the producer
approves (final) or asks for changes, the musician hands in again. Repeats are harmless,
everyone else gets 404, and each step stages one event telling the other side."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import (
    _at,
    crew,
    events,
    new_version,
    nothing_kept,
    pdf_bytes,
    problem_code,
    snapshot,
    upload,
    wav_bytes,
)

STEP_EVENTS = ("deliverable.submitted", "deliverable.approved", "deliverable.changes_requested")


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def _step(client: FlaskClient, person: dict[str, Any], deliverable_id: int, step: str, **body: Any) -> Any:
    return client.post(f"/api/deliverables/{deliverable_id}/{step}", json=body, headers=bearer(person))


def _step_events(app: Flask) -> list[Any]:
    return [e for e in events(app) if e.type in STEP_EVENTS]


def test_only_the_producer_lists_deliverables_and_only_on_an_accepted_request(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    url = f"/api/requests/{c.member_request}/deliverables"
    before = snapshot(app)
    problem_code(client.post(url, json={"title": "Drum stems"}, headers=bearer(c.member)), 403, "not-requester")
    for title in ("", "   ", "two\nlines", "x" * 201):
        answer = client.post(url, json={"title": title}, headers=bearer(c.owner))
        assert "title" in problem_code(answer, 422, "validation-error")["errors"], title
    missing = client.post(url, json={"description": "no title"}, headers=bearer(c.owner))
    assert "title" in problem_code(missing, 422, "validation-error")["errors"]
    for request_id, state in ((c.pending_request, "pending"), (c.former_request, "cancelled")):
        answer = client.post(f"/api/requests/{request_id}/deliverables", json={"title": "x"}, headers=bearer(c.owner))
        assert problem_code(answer, 409, "request-not-accepted")["current_state"] == state
    for person in (c.pending, c.former, c.stranger):
        answer = client.post(url, json={"title": "Drum stems"}, headers=bearer(person))
        problem_code(answer, 404, "request-not-found")
    nothing_kept(app, before)

    made = _ok(client.post(url, json={"title": "Drum stems", "description": "dry, 48k"}, headers=bearer(c.owner)), 201)
    assert {
        k: made[k] for k in ("request_id", "project_id", "title", "description", "status", "file_id", "version")
    } == {
        "request_id": c.member_request,
        "project_id": c.project_id,
        "title": "Drum stems",
        "description": "dry, 48k",
        "status": "open",
        "file_id": None,
        "version": None,
    }
    for person in (c.owner, c.member):
        assert [d["id"] for d in _ok(client.get(url, headers=bearer(person)))["items"]] == [made["id"]]
        listed = _ok(client.get(f"/api/projects/{c.project_id}/deliverables", headers=bearer(person)))["items"]
        assert [d["id"] for d in listed] == [made["id"]]
    # The pending musician is a project member but no party to this engagement.
    assert _ok(client.get(f"/api/projects/{c.project_id}/deliverables", headers=bearer(c.pending)))["items"] == []
    for person in (c.pending, c.former, c.stranger):
        problem_code(client.get(url, headers=bearer(person)), 404, "request-not-found")
    for person in (c.former, c.stranger):
        problem_code(
            client.get(f"/api/projects/{c.project_id}/deliverables", headers=bearer(person)), 404, "project-not-found"
        )
    assert _step_events(app) == []  # listing one tells nobody through the booking events


def test_submit_approve_or_ask_for_changes_and_submit_again(app: Flask) -> None:
    client = app.test_client()
    c = crew(client)
    owner, member = int(c.owner["user"]["id"]), int(c.member["user"]["id"])
    url = f"/api/requests/{c.member_request}/deliverables"
    deliverable = _ok(client.post(url, json={"title": "Drum stems"}, headers=bearer(c.owner)), 201)
    did = deliverable["id"]
    stems = _ok(upload(client, c.member, c.project_id, wav_bytes(0.5), "stems.wav"), 201)
    _ok(new_version(client, c.member, stems["id"], wav_bytes(0.6)), 201)
    elsewhere = _ok(
        client.post(
            "/api/projects",
            json={"title": "Other album", "starts_at": _at(0, 9), "ends_at": _at(6, 23), "location": "Abbey Road"},
            headers=bearer(c.owner),
        ),
        201,
    )
    foreign = _ok(upload(client, c.owner, elsewhere["id"], wav_bytes(0.5), "foreign.wav"), 201)
    gone = _ok(upload(client, c.member, c.project_id, pdf_bytes(), "gone.pdf"), 201)
    assert client.delete(f"/api/files/{gone['id']}", headers=bearer(c.member)).status_code == 204

    before = snapshot(app)
    # Nothing to decide on yet, and the wrong hands or files.
    assert problem_code(_step(client, c.owner, did, "approve"), 409, "deliverable-state")["current_state"] == "open"
    problem_code(_step(client, c.owner, did, "request-changes", note="more"), 409, "deliverable-state")
    problem_code(_step(client, c.owner, did, "submit", file_id=stems["id"], version=1), 403, "not-musician")
    problem_code(_step(client, c.member, did, "approve"), 403, "not-requester")
    for file_id, version, field in (
        (foreign["id"], 1, "file_id"),
        (gone["id"], 1, "file_id"),
        (987_654, 1, "file_id"),
        (stems["id"], 3, "version"),
    ):
        answer = _step(client, c.member, did, "submit", file_id=file_id, version=version)
        assert field in problem_code(answer, 422, "validation-error")["errors"], (file_id, version)
    answer = _step(client, c.member, did, "submit", file_id=str(stems["id"]), version=1)
    assert "file_id" in problem_code(answer, 422, "validation-error")["errors"]
    for person in (c.pending, c.former, c.stranger):
        for step, body in (
            ("submit", {"file_id": stems["id"], "version": 1}),
            ("approve", {}),
            ("request-changes", {"note": "x"}),
        ):
            problem_code(_step(client, person, did, step, **body), 404, "deliverable-not-found")
    nothing_kept(app, before)

    submitted = _ok(_step(client, c.member, did, "submit", file_id=stems["id"], version=1))
    assert (submitted["status"], submitted["file_id"], submitted["version"]) == ("submitted", stems["id"], 1)
    assert submitted["submitted_at"] and submitted["decided_at"] is None
    repeat = _ok(_step(client, c.member, did, "submit", file_id=stems["id"], version=1))  # a double click
    assert repeat == submitted
    (event,) = _step_events(app)
    assert (event.type, event.recipient_id, event.actor_id, event.file_id, event.version_number) == (
        "deliverable.submitted",
        owner,
        member,
        stems["id"],
        1,
    )
    assert (event.deliverable_id, event.request_id, event.project_id, event.title) == (
        did,
        c.member_request,
        c.project_id,
        "Drum stems",
    )

    missing_note = _step(client, c.owner, did, "request-changes")
    assert "note" in problem_code(missing_note, 422, "validation-error")["errors"]
    blank_note = _step(client, c.owner, did, "request-changes", note="   ")
    assert "note" in problem_code(blank_note, 422, "validation-error")["errors"]
    asked = _ok(_step(client, c.owner, did, "request-changes", note="Kick too loud"))
    assert (asked["status"], asked["note"]) == ("changes_requested", "Kick too loud")
    assert asked["decided_at"]
    assert _ok(_step(client, c.owner, did, "request-changes", note="Kick too loud")) == asked
    problem_code(_step(client, c.owner, did, "request-changes", note="and the snare"), 409, "deliverable-state")
    problem_code(_step(client, c.owner, did, "approve"), 409, "deliverable-state")
    changes = _step_events(app)[-1]
    assert (changes.type, changes.recipient_id, changes.actor_id, changes.note) == (
        "deliverable.changes_requested",
        member,
        owner,
        "Kick too loud",
    )

    again = _ok(_step(client, c.member, did, "submit", file_id=stems["id"], version=2))
    assert (again["status"], again["version"], again["note"], again["decided_at"]) == ("submitted", 2, "", None)
    approved = _ok(_step(client, c.owner, did, "approve", note="Great"))
    assert (approved["status"], approved["note"]) == ("approved", "Great")
    assert _ok(_step(client, c.owner, did, "approve")) == approved  # a retry
    assert _ok(client.post(f"/api/deliverables/{did}/approve", headers=bearer(c.owner))) == approved  # no body
    # Approved is final.
    for file_id, version in ((stems["id"], 2), (stems["id"], 1)):
        answer = _step(client, c.member, did, "submit", file_id=file_id, version=version)
        assert problem_code(answer, 409, "deliverable-state")["current_state"] == "approved"
    problem_code(_step(client, c.owner, did, "request-changes", note="one more"), 409, "deliverable-state")

    kinds = [(e.type, e.recipient_id) for e in _step_events(app)]
    assert kinds == [
        ("deliverable.submitted", owner),
        ("deliverable.changes_requested", member),
        ("deliverable.submitted", owner),
        ("deliverable.approved", member),
    ]
    assert _step_events(app)[2].version_number == 2
    listed = _ok(client.get(f"/api/projects/{c.project_id}/deliverables", headers=bearer(c.member)))["items"]
    assert [(d["id"], d["status"], d["version"]) for d in listed] == [(did, "approved", 2)]
