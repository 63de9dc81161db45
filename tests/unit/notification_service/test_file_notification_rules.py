"""Who hears about project files and deliverables, and what the notification says (pure rules)."""

from __future__ import annotations

from typing import Any

from contracts import (
    DeliverableApproved,
    DeliverableChangesRequested,
    DeliverableSubmitted,
    FileCommentAdded,
    FileVersionAdded,
)
from notification_service.rules import drafts_for
from notification_service.store import Draft

OWNER, MUSICIAN, SINGER, DRUMMER = 7, 8, 12, 13
FILE: dict[str, Any] = dict(file_id=11, project_id=6, project_title="Album", file_name="bass-take.wav")


def version(**overrides: Any) -> FileVersionAdded:
    fields: dict[str, Any] = dict(
        **FILE,
        actor_id=MUSICIAN,
        actor_name="Max",
        recipients=[OWNER, SINGER],
        version_id=21,
        version_number=2,
        kind="audio",
        content_type="audio/wav",
        size_bytes=4096,
        sha256="b" * 64,
    )
    return FileVersionAdded(**{**fields, **overrides})


def comment(**overrides: Any) -> FileCommentAdded:
    fields: dict[str, Any] = dict(
        **FILE,
        actor_id=OWNER,
        actor_name="Pia",
        recipients=[MUSICIAN, SINGER, DRUMMER],
        comment_id=31,
        version_number=2,
        excerpt="the fill at 1:12 rushes",
    )
    return FileCommentAdded(**{**fields, **overrides})


def by_user(drafts: list[Draft]) -> dict[int, Draft]:
    assert len({d.user_id for d in drafts}) == len(drafts)  # nobody twice
    return {d.user_id: d for d in drafts}


def test_a_new_version_tells_the_projects_people_but_not_the_uploader() -> None:
    drafts = by_user(drafts_for(version(recipients=[OWNER, MUSICIAN, SINGER, OWNER])))
    assert set(drafts) == {OWNER, SINGER}
    draft = drafts[OWNER]
    assert draft.kind == "file.version_added" and not draft.always_in_app
    assert draft.title == "New version: bass-take.wav"
    assert draft.body == "Max uploaded version 2 of bass-take.wav to Album."
    assert draft.data == {"file_id": 11, "project_id": 6, "url": "/files/11", "version": 2, "file_kind": "audio"}


def test_a_first_version_is_a_new_file_and_its_note_is_one_clipped_line() -> None:
    (draft, _) = drafts_for(version(version_number=1, note="tighter fills\n\nand " + "x" * 400))
    assert draft.title == "New file: bass-take.wav"
    assert draft.body.startswith("Max uploaded bass-take.wav to Album. Tighter fills and xxx")
    assert "\n" not in draft.body and draft.body.endswith("….") and len(draft.body) < 300


def test_a_comment_tells_everyone_but_its_author_and_mentions_cannot_be_muted() -> None:
    event = comment(recipients=[OWNER, MUSICIAN, SINGER, DRUMMER], mentioned=[SINGER, OWNER], reply_to_author=MUSICIAN)
    drafts = by_user(drafts_for(event))
    assert set(drafts) == {MUSICIAN, SINGER, DRUMMER}  # the author's own mention of themself tells nobody
    assert {d.kind for d in drafts.values()} == {"file.comment_added"}
    assert drafts[SINGER].title == "Pia mentioned you: bass-take.wav" and drafts[SINGER].always_in_app
    assert drafts[MUSICIAN].title == "Pia replied to you: bass-take.wav" and not drafts[MUSICIAN].always_in_app
    assert drafts[DRUMMER].title == "New comment: bass-take.wav" and not drafts[DRUMMER].always_in_app
    assert drafts[DRUMMER].body == "Pia on version 2 (Album): “the fill at 1:12 rushes”"
    assert drafts[SINGER].data == {
        "file_id": 11,
        "project_id": 6,
        "url": "/files/11",
        "version": 2,
        "comment_id": 31,
        "mentioned": True,
    }
    assert drafts[DRUMMER].data["mentioned"] is False


def test_the_mentioned_are_told_even_when_the_recipients_leave_them_out() -> None:
    drafts = by_user(drafts_for(comment(recipients=[MUSICIAN], mentioned=[SINGER])))
    assert set(drafts) == {MUSICIAN, SINGER} and drafts[SINGER].always_in_app


def test_a_reply_to_someone_who_left_the_project_tells_them_nothing() -> None:
    drafts = by_user(drafts_for(comment(recipients=[MUSICIAN], reply_to_author=DRUMMER)))
    assert set(drafts) == {MUSICIAN}


DELIVERABLE: dict[str, Any] = dict(
    deliverable_id=13, request_id=5, project_id=6, project_title="Album", title="Bass for track 3"
)


def test_a_submitted_deliverable_tells_the_producer_with_a_link_to_the_projects_files() -> None:
    event = DeliverableSubmitted(
        **DELIVERABLE, actor_id=MUSICIAN, actor_name="Max", recipient_id=OWNER, file_id=11, version_number=2
    )
    (draft,) = drafts_for(event)
    assert (draft.user_id, draft.kind, draft.title) == (OWNER, "deliverable.submitted", "Handed in: Bass for track 3")
    assert draft.body == "Max submitted version 2 for “Bass for track 3” on Album."
    assert draft.data == {
        "deliverable_id": 13,
        "request_id": 5,
        "project_id": 6,
        "url": "/projects/6/files",
        "file_id": 11,
        "version": 2,
    }


def test_decisions_tell_the_musician_with_the_producers_note() -> None:
    approved = DeliverableApproved(**DELIVERABLE, actor_id=OWNER, actor_name="Pia", recipient_id=MUSICIAN)
    changes = DeliverableChangesRequested(
        **DELIVERABLE, actor_id=OWNER, actor_name="Pia", recipient_id=MUSICIAN, note="less reverb on the chorus"
    )
    (yes,) = drafts_for(approved)
    (again,) = drafts_for(changes)
    assert (yes.user_id, yes.kind, yes.title) == (MUSICIAN, "deliverable.approved", "Approved: Bass for track 3")
    assert yes.body == "Pia approved “Bass for track 3” on Album."
    assert (again.kind, again.title) == ("deliverable.changes_requested", "Changes requested: Bass for track 3")
    assert again.body == "Pia asked for changes to “Bass for track 3” on Album: Less reverb on the chorus."
    assert yes.data["url"] == again.data["url"] == "/projects/6/files"


def test_nobody_is_told_what_they_did_themselves() -> None:
    event = DeliverableApproved(**DELIVERABLE, actor_id=OWNER, actor_name="Pia", recipient_id=OWNER)
    assert drafts_for(event) == []
    assert drafts_for(version(recipients=[MUSICIAN])) == []
