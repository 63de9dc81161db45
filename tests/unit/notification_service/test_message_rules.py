"""Who hears about a message, and what the notification says (pure rules, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from contracts import MessageDeleted, MessageEdited, MessagePosted
from contracts.messages import ConversationKind, Recipient
from notification_service.message_rules import DELETED_BODY, excerpt, posted_at, received_key
from notification_service.rules import drafts_for
from notification_service.store import Draft

ANA, BEN, CAT, DAN, EVE = 21, 22, 23, 24, 25
CONVERSATION = 40


def message(message_id: int = 501) -> dict[str, Any]:
    return {"id": message_id, "conversation_id": CONVERSATION, "sender": {"id": ANA, "name": "Ana Silva"}, "body": "x"}


def posted(
    *recipients: Recipient, kind: ConversationKind = "project", title: str = "Demo EP", excerpt: str = "the bridge?"
) -> MessagePosted:
    return MessagePosted(
        conversation_id=CONVERSATION,
        conversation_kind=kind,
        conversation_title=title,
        message_id=501,
        sender_id=ANA,
        sender_name="Ana Silva",
        members=[ANA, *(r.user_id for r in recipients)],
        message=message(),
        excerpt=excerpt,
        recipients=list(recipients),
    )


def by_user(drafts: list[Draft]) -> dict[int, Draft]:
    assert len({d.user_id for d in drafts}) == len(drafts)  # nobody twice
    return {d.user_id: d for d in drafts}


DATA = {"conversation_id": CONVERSATION, "message_id": 501, "sender_id": ANA, "url": f"/messages/{CONVERSATION}"}


def test_offline_members_who_did_not_mute_it_are_told_and_a_burst_shares_one_key() -> None:
    drafts = by_user(drafts_for(posted(Recipient(user_id=BEN), Recipient(user_id=CAT))))
    assert set(drafts) == {BEN, CAT}
    draft = drafts[BEN]
    assert draft.kind == "message.received" and not draft.always_in_app
    assert draft.title == "Ana Silva in Demo EP" and draft.body == "the bridge?"
    assert draft.data == DATA
    assert draft.coalesce_key == received_key(CONVERSATION) == drafts[CAT].coalesce_key
    assert received_key(CONVERSATION + 1) != draft.coalesce_key  # another conversation is news of its own


def test_a_direct_message_names_its_sender() -> None:
    (draft,) = drafts_for(posted(Recipient(user_id=BEN), kind="direct", title="Ana Silva"))
    assert draft.title == "New message from Ana Silva"
    (mention,) = drafts_for(posted(Recipient(user_id=BEN, mentioned=True), kind="direct", title="Ana Silva"))
    assert mention.title == "Ana Silva mentioned you"


def test_online_and_muted_members_are_not_told() -> None:
    event = posted(
        Recipient(user_id=BEN, online=True),
        Recipient(user_id=CAT, muted=True),
        Recipient(user_id=DAN, online=True, muted=True),
        Recipient(user_id=EVE),
    )
    assert set(by_user(drafts_for(event))) == {EVE}


def test_a_mention_is_told_always_even_muted_or_online_and_is_never_folded() -> None:
    event = posted(
        Recipient(user_id=BEN, mentioned=True, muted=True),
        Recipient(user_id=CAT, mentioned=True, online=True),
        Recipient(user_id=DAN, mentioned=True),
    )
    drafts = by_user(drafts_for(event))
    assert set(drafts) == {BEN, CAT, DAN}
    for draft in drafts.values():
        assert draft.kind == "message.mentioned" and draft.always_in_app and draft.coalesce_key is None
        assert draft.title == "Ana Silva mentioned you in Demo EP" and draft.data == DATA


def test_the_sender_is_never_told_and_nobody_twice() -> None:
    event = posted(
        Recipient(user_id=ANA, mentioned=True),  # names themself: still nothing
        Recipient(user_id=BEN),
        Recipient(user_id=BEN, mentioned=True),  # a second entry never doubles a draft
    )
    drafts = by_user(drafts_for(event))
    assert set(drafts) == {BEN} and drafts[BEN].kind == "message.received"


def test_the_excerpt_is_one_line_and_a_long_title_fits_the_column() -> None:
    (draft,) = drafts_for(posted(Recipient(user_id=BEN), title="T" * 200, excerpt="line one\n\n  line two"))
    assert draft.body == "line one line two"
    assert len(draft.title) == 200 and draft.title.endswith("…")


def test_edits_and_deletions_tell_nobody() -> None:
    fields: dict[str, Any] = dict(
        conversation_id=CONVERSATION,
        conversation_kind="group",
        conversation_title="Band",
        message_id=501,
        sender_id=ANA,
        sender_name="Ana Silva",
        members=[ANA, BEN],
        message=message(),
    )
    assert drafts_for(MessageEdited(**fields)) == []
    assert drafts_for(MessageDeleted(**fields)) == []


def test_an_edited_message_gets_the_excerpt_the_control_plane_gives_a_new_one() -> None:
    assert excerpt({"body": "  the chorus,\n\nthen\tthe bridge "}) == "the chorus, then the bridge"
    assert excerpt({"body": "x" * 200}) == "x" * 200
    cut = excerpt({"body": "word " * 60})
    assert len(cut) == 200 and cut == ("word " * 40)[:199] + "…"
    assert excerpt({"body": "", "attachments": [{"id": 1}]}) == "(1 attachment)"
    assert excerpt({"body": None, "attachments": [1, 2]}) == "(2 attachments)"
    assert excerpt({}) == "(0 attachments)"
    # Whatever a MessagePosted may carry as its excerpt (1-200 characters), an edit gives too.
    posted(Recipient(user_id=BEN), excerpt=excerpt({"body": "y " * 500}))


def test_the_deleted_text_and_when_a_message_was_posted() -> None:
    assert DELETED_BODY == "This message was deleted."
    when = datetime(2026, 12, 8, 10, 30, tzinfo=UTC)
    assert posted_at({"created_at": when.isoformat()}) == when
    assert posted_at({"created_at": "2026-12-08T10:30:00"}) == when  # naive: UTC, as the control plane stores it
    assert posted_at({"created_at": "2026-12-08T11:30:00+01:00"}) == when.astimezone(timezone(timedelta(hours=1)))
    assert posted_at({}) is None and posted_at({"created_at": "yesterday"}) is None
    assert posted_at({"created_at": 1765189800}) is None
