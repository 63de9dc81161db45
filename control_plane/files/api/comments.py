"""/api/files/{id}/comments and /api/comments/{id}/resolve, /reopen."""

from __future__ import annotations

from flask import Response, jsonify
from flask_jwt_extended import jwt_required
from sqlalchemy import select

from control_plane.accounts.auth import current_user
from control_plane.files.api.common import bp, file_for, project_for, redis_client
from control_plane.files.api.files import find_version
from control_plane.files.models import FileComment
from control_plane.files.queries import comment_json, comments_of, visible_comment
from control_plane.files.schemas import CommentBody, CommentQuery
from control_plane.files.services import comments as comment_service
from control_plane.files.services.live import publish_change
from control_plane.files.services.refusals import not_found
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.validation import parse_body, parse_query

__all__: list[str] = []  # routes join ``common.bp`` when this module loads


@api_route(
    bp,
    "/files/<int:file_id>/comments",
    "GET",
    "A file's comments, oldest first (`version` narrows to one version; `cursor` is the last id seen)",
    query=CommentQuery,
)
@jwt_required()
def list_comments(file_id: int) -> Response:
    file = file_for(file_id, current_user())
    query = parse_query(CommentQuery)
    version_id = None if query.version is None else find_version(file, query.version).id
    stmt = comments_of(file.id, version_id)
    if query.cursor:
        stmt = stmt.where(FileComment.id > query.cursor)
    rows = db.session.scalars(stmt.limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return jsonify({"items": [comment_json(c) for c in rows], "next_cursor": str(rows[-1].id) if more else None})


@api_route(
    bp,
    "/files/<int:file_id>/comments",
    "POST",
    "Comment on a version: pinned to a moment or span of audio (at_ms, until_ms) or a point of a PDF page "
    "(page, x, y), or a reply (reply_to); @name mentions a member",
    body=CommentBody,
    responses={201: "Created", 404: "Not found", 422: "Invalid fields"},
)
@jwt_required()
def create_comment(file_id: int) -> tuple[Response, int]:
    user = current_user()
    file = file_for(file_id, user)
    project = project_for(file.project_id, user)
    body = parse_body(CommentBody)
    added = comment_service.add_comment(db.session, user, project, file, body)
    db.session.commit()
    publish_change(redis_client(), project.id, file.id, "comment", comment_id=added.comment.id)
    return jsonify(comment_json(added.comment)), 201


def _comment_change(comment_id: int, resolve: bool) -> Response:
    user = current_user()
    comment = visible_comment(db.session, comment_id, user.id)
    if comment is None:
        raise not_found("comment")
    locked = db.session.scalar(select(FileComment).where(FileComment.id == comment_id).with_for_update())
    if locked is None:
        raise not_found("comment")
    changed = comment_service.resolve(locked, user) if resolve else comment_service.reopen(locked)
    db.session.commit()
    project_id = changed.version.file.project_id
    publish_change(redis_client(), project_id, changed.file_id, "comment", comment_id=changed.id)
    return jsonify(comment_json(changed))


@api_route(
    bp,
    "/comments/<int:comment_id>/resolve",
    "POST",
    "Resolve a comment thread (a repeat changes nothing)",
    responses={200: "OK", 404: "Not found", 409: "A reply, not a thread"},
)
@jwt_required()
def resolve_comment(comment_id: int) -> Response:
    return _comment_change(comment_id, resolve=True)


@api_route(
    bp,
    "/comments/<int:comment_id>/reopen",
    "POST",
    "Reopen a resolved comment thread",
    responses={200: "OK", 404: "Not found", 409: "A reply, not a thread"},
)
@jwt_required()
def reopen_comment(comment_id: int) -> Response:
    return _comment_change(comment_id, resolve=False)
