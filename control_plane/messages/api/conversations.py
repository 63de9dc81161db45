"""/api/conversations: the caller's list, starting direct and group conversations, a project's
and a session's conversation, renaming, muting, joining and leaving groups."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import jwt_required
from sqlalchemy import select

from control_plane.accounts.auth import current_user
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import after, encode
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.messages.api.common import bp, limit_per_sender, redis_client
from control_plane.messages.models import Conversation, ConversationMember
from control_plane.messages.queries import Access, access_to, conversation_json, unread_counts, unread_total
from control_plane.messages.schemas import ConversationBody, ConversationQuery, MembersBody, MuteBody, RenameBody
from control_plane.messages.services import conversations as service
from control_plane.messages.services.live import publish_changes
from control_plane.messages.services.membership import MemberChange, sync_user

__all__: list[str] = []  # routes join ``common.bp`` when this module loads


def _opened(opened: service.Opened, *, created_status: int = 201) -> tuple[Response, int]:
    user = current_user()
    changes = opened.changes
    db.session.commit()
    publish_changes(redis_client(), changes)
    return jsonify(conversation_json(db.session, opened.access, user.id)), created_status if opened.created else 200


@api_route(
    bp,
    "/conversations",
    "GET",
    "The caller's conversations, latest activity first, each with its last message and unread count",
    query=ConversationQuery,
)
@jwt_required()
def list_conversations() -> Response:
    user = current_user()
    query = parse_query(ConversationQuery)
    # Join the project and session conversations requests and bookings now entitle them to,
    # and leave the ones they no longer do, before reading the list.
    changes = sync_user(db.session, user.id)
    if changes:
        db.session.commit()
    stmt = (
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user.id)
        .order_by(Conversation.last_activity_at.desc(), Conversation.id)
    )
    stmt = after(stmt, query.cursor, Conversation.last_activity_at, Conversation.id, newest_first=True)  # type: ignore[type-var]
    rows = db.session.execute(stmt.limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    counts = unread_counts(db.session, user.id, [c.id for c, _ in rows])
    items = []
    for conversation, member in rows:
        access = access_to(db.session, conversation, user.id) or Access(
            conversation, member, False, member.visible_until
        )
        items.append(conversation_json(db.session, access, user.id, unread=counts.get(conversation.id, 0)))
    last = rows[-1][0] if rows else None
    return jsonify(
        {
            "items": items,
            "next_cursor": encode(last.last_activity_at, last.id) if more and last is not None else None,
            "unread_total": unread_total(db.session, user.id),
        }
    )


@api_route(
    bp,
    "/conversations",
    "POST",
    "Start a direct conversation (the one that exists is returned with 200) or a named group",
    body=ConversationBody,
    responses={200: "The direct conversation that exists", 201: "Created", 403: "Blocked", 422: "Invalid fields"},
)
@jwt_required()
@limit_per_sender
def start_conversation() -> tuple[Response, int]:
    body = parse_body(ConversationBody)
    return _opened(service.start_conversation(db.session, current_user(), body))


@api_route(bp, "/conversations/unread", "GET", "Unread messages in the caller's unmuted conversations (the badge)")
@jwt_required()
def unread() -> Response:
    return jsonify({"total": unread_total(db.session, current_user().id)})


@api_route(
    bp,
    "/conversations/<int:conversation_id>",
    "GET",
    "One conversation: members, read markers, last message, unread count",
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def get_conversation(conversation_id: int) -> Response:
    user = current_user()
    access = service.open_conversation(db.session, user, conversation_id)
    db.session.commit()
    return jsonify(conversation_json(db.session, access, user.id))


@api_route(
    bp,
    "/projects/<int:project_id>/conversation",
    "GET",
    "The project's conversation (its owner and every musician with a pending or accepted request)",
    responses={200: "OK (made the first time anyone entitled opens it)", 404: "Not found"},
)
@jwt_required()
def project_conversation(project_id: int) -> tuple[Response, int]:
    # 200 even the first time: to the client it was always there (made on first open).
    return _opened(service.project_conversation(db.session, current_user(), project_id), created_status=200)


@api_route(
    bp,
    "/sessions/<int:session_id>/conversation",
    "GET",
    "The session's conversation (its host and everyone holding a confirmed seat)",
    responses={200: "OK (made the first time anyone entitled opens it)", 404: "Not found"},
)
@jwt_required()
def session_conversation(session_id: int) -> tuple[Response, int]:
    return _opened(service.session_conversation(db.session, current_user(), session_id), created_status=200)


@api_route(
    bp,
    "/conversations/<int:conversation_id>",
    "PATCH",
    "Rename a group",
    body=RenameBody,
    responses={200: "OK", 403: "Not a member any more", 404: "Not found", 409: "Not a group"},
)
@jwt_required()
@limit_per_sender
def rename(conversation_id: int) -> Response:
    user = current_user()
    body = parse_body(RenameBody)
    access = service.rename_group(db.session, user, conversation_id, body.title)
    members = service.current_members(db.session, conversation_id)
    db.session.commit()
    # "renamed", as the contract names it: the members were told "added" for a rename.
    renamed = [MemberChange(conversation_id, uid, "renamed") for uid in members if uid != user.id]
    publish_changes(redis_client(), renamed)
    return jsonify(conversation_json(db.session, access, user.id))


@api_route(
    bp,
    "/conversations/<int:conversation_id>/mute",
    "PUT",
    "Mute or unmute a conversation (muted: nobody tells you about it; mentions still do)",
    body=MuteBody,
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def mute(conversation_id: int) -> Response:
    user = current_user()
    body = parse_body(MuteBody)
    access = service.set_muted(db.session, user, conversation_id, body.muted)
    db.session.commit()
    return jsonify(conversation_json(db.session, access, user.id))


@api_route(
    bp,
    "/conversations/<int:conversation_id>/members",
    "POST",
    "Add people to a group",
    body=MembersBody,
    responses={200: "OK", 403: "Not a member any more", 404: "Not found", 409: "Not a group", 422: "Invalid fields"},
)
@jwt_required()
@limit_per_sender
def add_members(conversation_id: int) -> Response:
    user = current_user()
    body = parse_body(MembersBody)
    changes = service.add_to_group(db.session, user, conversation_id, body.member_ids)
    access = service.open_conversation(db.session, user, conversation_id)
    added = {c.user_id for c in changes}
    others = [uid for uid in service.current_members(db.session, conversation_id) if uid not in added]
    db.session.commit()
    if changes:
        publish_changes(redis_client(), [*changes, *(MemberChange(conversation_id, uid, "members") for uid in others)])
    return jsonify(conversation_json(db.session, access, user.id))


@api_route(
    bp,
    "/conversations/<int:conversation_id>/members/me",
    "DELETE",
    "Leave a group: you keep what was said until now and see nothing new",
    responses={204: "Left", 403: "Not a member any more", 404: "Not found", 409: "Not a group"},
)
@jwt_required()
def leave(conversation_id: int) -> tuple[str, int]:
    user = current_user()
    _, change = service.leave_group(db.session, user, conversation_id)
    others = service.current_members(db.session, conversation_id)
    db.session.commit()
    if change is not None:
        # The leaver's other tabs drop it from their list; the others see one member fewer.
        stayed = [MemberChange(conversation_id, uid, "members") for uid in others]
        publish_changes(redis_client(), [change, *stayed])
    return "", 204
