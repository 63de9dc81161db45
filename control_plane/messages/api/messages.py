"""Messages of a conversation: history, send, edit, delete, read markers, search."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import jwt_required

from contracts.messages import message_live_text
from control_plane.accounts.auth import current_user
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.messages.api.common import (
    bp,
    limit_per_conversation,
    limit_per_sender,
    online_check,
    redis_client,
)
from control_plane.messages.models import Message
from control_plane.messages.queries import history, messages_json, search, search_terms
from control_plane.messages.schemas import EditBody, HistoryQuery, MessageBody, ReadBody, SearchQuery
from control_plane.messages.services import conversations as conversation_service
from control_plane.messages.services import posting
from control_plane.messages.services.live import publish, publish_changes, publish_read
from control_plane.messages.services.membership import sync_user

__all__: list[str] = []  # routes join ``common.bp`` when this module loads


@api_route(
    bp,
    "/conversations/<int:conversation_id>/messages",
    "GET",
    "Messages in id order: the newest page (or those before `before`), or those after `after` "
    "(catching up after a reconnect: no gap, no duplicate)",
    query=HistoryQuery,
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def list_messages(conversation_id: int) -> Response:
    user = current_user()
    query = parse_query(HistoryQuery)
    access = conversation_service.open_conversation(db.session, user, conversation_id)
    db.session.commit()
    # ``cursor`` (the list convention) continues where ``next_cursor`` pointed: older
    # messages, or newer ones when the client is catching up with ``after``.
    before, after = query.before, query.after
    if query.cursor is not None:
        if after is not None:
            after = query.cursor
        else:
            before = query.cursor
    page = history(access, before=before, after=after, limit=query.limit + 1)
    rows: list[Message] = list(db.session.scalars(page))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    if after is None:
        rows.reverse()  # fetched newest first; always answered in id order
    items = messages_json(db.session, rows)
    cursor = None
    if more and rows:
        cursor = str(rows[-1].id if after is not None else rows[0].id)
    return jsonify({"items": items, "has_more": more, "next_cursor": cursor})


@api_route(
    bp,
    "/conversations/<int:conversation_id>/messages",
    "POST",
    "Send a message (safe Markdown: links, emphasis, code); the same client_id again returns the "
    "first message (200) and adds nothing",
    body=MessageBody,
    responses={
        200: "A retry: the message sent first",
        201: "Created",
        403: "Blocked, or no longer a member",
        404: "Not found",
        422: "Invalid fields",
        429: "Too many messages (Retry-After)",
    },
)
@jwt_required()
@limit_per_sender
@limit_per_conversation
def send_message(conversation_id: int) -> tuple[Response, int]:
    body = parse_body(MessageBody)
    posted = posting.post_message(db.session, current_user(), conversation_id, body, online_check)
    db.session.commit()
    if posted.created:
        client = redis_client()
        publish(client, posted.members, message_live_text("message", posted.message))
        publish_changes(client, posted.changes)
    return jsonify(posted.message), 201 if posted.created else 200


@api_route(
    bp,
    "/messages/<int:message_id>",
    "PATCH",
    "The sender edits a message (within 15 minutes of sending)",
    body=EditBody,
    responses={200: "OK", 403: "Not the sender", 404: "Not found", 409: "Deleted, or too late", 422: "Invalid"},
)
@jwt_required()
@limit_per_sender
def edit_message(message_id: int) -> Response:
    body = parse_body(EditBody)
    changed = posting.edit_message(db.session, current_user(), message_id, body.body)
    db.session.commit()
    publish(redis_client(), changed.members, message_live_text("message_updated", changed.message))
    return jsonify(changed.message)


@api_route(
    bp,
    "/messages/<int:message_id>",
    "DELETE",
    "The sender deletes a message: it stays as a tombstone (deleted: true, no text)",
    responses={204: "Deleted (a repeat too)", 403: "Not the sender", 404: "Not found"},
)
@jwt_required()
@limit_per_sender
def delete_message(message_id: int) -> tuple[str, int]:
    changed = posting.delete_message(db.session, current_user(), message_id)
    db.session.commit()
    if changed is not None:
        publish(redis_client(), changed.members, message_live_text("message_updated", changed.message))
    return "", 204


@api_route(
    bp,
    "/conversations/<int:conversation_id>/read",
    "POST",
    "Move the caller's read marker up to a message id (never back)",
    body=ReadBody,
    responses={204: "Moved (or already there)", 404: "Not found"},
)
@jwt_required()
def mark_read(conversation_id: int) -> tuple[str, int]:
    user = current_user()
    body = parse_body(ReadBody)
    moved = posting.mark_read(db.session, user, conversation_id, body.up_to)
    db.session.commit()
    if moved is not None:
        up_to, members = moved
        publish_read(redis_client(), members, conversation_id, user.id, up_to)
    return "", 204


@api_route(
    bp,
    "/messages/search",
    "GET",
    "Search the messages the caller may read (every word, as a prefix), newest first",
    query=SearchQuery,
)
@jwt_required()
def search_messages() -> Response:
    user = current_user()
    query = parse_query(SearchQuery)
    if sync_user(db.session, user.id):
        db.session.commit()
    before = query.cursor if query.cursor is not None else query.before
    rows = search(db.session, user.id, search_terms(query.q), limit=query.limit + 1, before=before)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return jsonify({"items": messages_json(db.session, rows), "next_cursor": str(rows[-1].id) if more else None})
