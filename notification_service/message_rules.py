"""Who hears about a new message, and what the notification says (pure; ``rules.drafts_for``
dispatches ``message.events`` here).

The control plane tells each member other than the sender (``MessagePosted.recipients``)
whether a socket of theirs was open, whether they muted the conversation and whether the
message names them; this service knows no members and decides by those flags alone:

- mentioned: ``message.mentioned``, always in the inbox (muted or not, online or not, in-app
  off or not): someone asked for this person by name. Mail follows their channel;
- neither muted nor online: ``message.received``, one unread row per conversation for a burst
  (its ``coalesce_key``; the store folds the rest);
- otherwise nothing: an online member sees the message live, a muted one asked for quiet.

Edits and deletions tell nobody: the durable live copy (``service.py``) is all they need.
They do change what was already stored about the message (``InboxStore.revise_message``):
an edit puts the new text's excerpt (:func:`excerpt`, the control plane's rule) on its inbox
rows and on mail not yet sent, a deletion puts :data:`DELETED_BODY` on its rows and drops
that mail. Titles name the sender and the conversation, never the text, and stay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from contracts.messages import MessageJson, MessagePosted, Recipient
from notification_service.store import Draft

__all__ = ["DELETED_BODY", "EXCERPT_CHARS", "excerpt", "message_drafts", "posted_at", "received_key"]

DELETED_BODY: Final = "This message was deleted."
EXCERPT_CHARS: Final = 200  # ``MessagePosted.excerpt``'s limit


def excerpt(message: MessageJson) -> str:
    """What a notification shows of a message's text: one line of at most 200 characters, or
    its attachments' count when it has no text. The rule the control plane applies to
    ``MessagePosted.excerpt`` (``control_plane/messages/services/events.py``; processes never
    import each other), applied here to an edited message, whose event carries no excerpt."""
    text = " ".join(str(message.get("body") or "").split())
    if not text:
        attachments = len(message.get("attachments") or [])
        text = f"({attachments} attachment{'s' if attachments != 1 else ''})"
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def posted_at(message: MessageJson) -> datetime | None:
    """When the message was posted (its ``created_at``), or None if the event does not say."""
    value = message.get("created_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def received_key(conversation_id: int) -> str:
    """The coalesce key of ``message.received``: one unread row per user and conversation."""
    return f"message.received:{conversation_id}"


def message_drafts(event: MessagePosted) -> list[Draft]:
    """One draft per recipient to be told (see the module's rules), each with the link to the
    conversation."""
    data = {
        "conversation_id": event.conversation_id,
        "message_id": event.message_id,
        "sender_id": event.sender_id,
        "url": f"/messages/{event.conversation_id}",
    }
    body = " ".join(event.excerpt.split())  # one line, whatever the message's layout
    return [draft for recipient in _recipients(event) if (draft := _draft(event, recipient, body, data)) is not None]


def _recipients(event: MessagePosted) -> list[Recipient]:
    """Each member once (the first entry wins), never the sender: nobody is told their own words."""
    seen: dict[int, Recipient] = {}
    for recipient in event.recipients:
        if recipient.user_id != event.sender_id:
            seen.setdefault(recipient.user_id, recipient)
    return list(seen.values())


def _draft(event: MessagePosted, recipient: Recipient, body: str, data: dict[str, Any]) -> Draft | None:
    direct = event.conversation_kind == "direct"
    if recipient.mentioned:
        # In a direct conversation its title is the sender's name: "mentioned you in Ana" reads oddly.
        where = "" if direct else f" in {event.conversation_title}"
        title = f"{event.sender_name} mentioned you{where}"
        return Draft(recipient.user_id, "message.mentioned", title, body, dict(data), always_in_app=True)
    if recipient.muted or recipient.online:
        return None
    title = f"New message from {event.sender_name}" if direct else f"{event.sender_name} in {event.conversation_title}"
    return Draft(
        recipient.user_id,
        "message.received",
        title,
        body,
        dict(data),
        coalesce_key=received_key(event.conversation_id),
    )
