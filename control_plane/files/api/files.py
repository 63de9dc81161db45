"""/api/projects/{id}/files, /api/files/{id} and its versions: list, upload (multipart),
rename, delete. Downloads are in ``content``, resumable uploads in ``uploads``."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_jwt_extended import jwt_required
from pydantic import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge

from control_plane.accounts.auth import current_user
from control_plane.files.api.common import bp, data_path, file_for, limits, project_for, redis_client, storage
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.files.queries import file_json, files_of, members_json, version_json
from control_plane.files.schemas import MAX_NOTE_CHARS, FileQuery, RenameBody, UploadForm
from control_plane.files.services import deliverables as deliverable_service
from control_plane.files.services import files as file_service
from control_plane.files.services import uploads as upload_service
from control_plane.files.services.live import publish_change
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.files.services.staging import Staged, StagingWriter, too_large
from control_plane.kits.extensions import db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.pagination import after, encode
from control_plane.kits.http.uploads import FILE_STREAM_FACTORY
from control_plane.kits.http.validation import parse_body, parse_query

__all__ = ["find_version"]  # and the routes, which join ``common.bp`` when this module loads

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small form fields


def _multipart_body(with_name: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "file": {"type": "string", "format": "binary", "description": "the bytes; their kind decides the file's"},
        "note": {"type": "string", "maxLength": MAX_NOTE_CHARS, "description": "what this version is"},
    }
    if with_name:
        fields["name"] = {"type": "string", "maxLength": file_service.NAME_MAX, "description": "default: the file's"}
    return {
        "required": True,
        "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": fields}}},
    }


_UPLOAD_RESPONSES = {
    201: "Created",
    400: "No file part",
    404: "No such project or file, or not yours",
    413: "Over the size limit of the file's kind",
    415: "Not multipart/form-data",
    422: "Invalid fields, empty file, or another kind than the file's",
}


def _receive_part() -> tuple[Staged, str, UploadForm]:
    """Stream the one multipart ``file`` part straight into a staging file (counted, hashed,
    sniffed and held to its kind's limit as it arrives), and check the form's fields. Runs
    with no transaction open: reading a big body takes a while. On any refusal or error no
    staged byte is left behind."""
    if request.mimetype != "multipart/form-data":
        raise FilesRefused(
            415, "multipart-required", "Send the file as multipart/form-data with the field 'file'", title="Wrong type"
        )
    kind_limits = limits()
    largest = max(kind_limits.values())
    if request.content_length is not None and request.content_length > largest + MULTIPART_OVERHEAD:
        raise too_large("any", largest)
    request.max_content_length = largest + MULTIPART_OVERHEAD  # this route only
    writers: list[StagingWriter] = []

    def into_staging(_filename: str | None) -> StagingWriter:
        writer = StagingWriter(data_path(), kind_limits)
        writers.append(writer)
        return writer

    request.environ[FILE_STREAM_FACTORY] = into_staging
    db.session.commit()  # no transaction (on SQLite: no write lock) while the body arrives
    try:
        try:
            files = request.files
            fields = {key: request.form.get(key, "") for key in ("name", "note")}
        except RequestEntityTooLarge:
            raise too_large("any", largest) from None
        parts = files.getlist("file")
        if not parts:
            raise FilesRefused(
                400, "file-missing", "Send the file as multipart form field 'file'", errors={"file": ["missing"]}
            )
        if len(parts) > 1 or len(files) > 1:
            raise FilesRefused(
                400, "one-file-only", "Send exactly one file part, named 'file'", errors={"file": ["one file only"]}
            )
        try:
            form = UploadForm.model_validate({"name": fields["name"] or None, "note": fields["note"]})
        except ValidationError as exc:
            raise FilesRefused.invalid_fields({str(e["loc"][0]): [str(e["msg"])] for e in exc.errors()}) from None
        part = parts[0].stream
        assert isinstance(part, StagingWriter)  # our factory made it
        return part.finish(), parts[0].filename or "", form
    except BaseException:
        for made in writers:
            made.discard()
        raise


@api_route(
    bp, "/projects/<int:project_id>/files", "GET", "A project's files, most recently changed first", query=FileQuery
)
@jwt_required()
def list_files(project_id: int) -> Response:
    project_for(project_id, current_user())
    query = parse_query(FileQuery)
    stmt = after(
        files_of(project_id, query.kind), query.cursor, ProjectFile.updated_at, ProjectFile.id, newest_first=True
    )
    rows = db.session.scalars(stmt.limit(query.limit + 1)).all()
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    next_cursor = encode(rows[-1].updated_at, rows[-1].id) if more else None
    return jsonify({"items": [file_json(db.session, row) for row in rows], "next_cursor": next_cursor})


@api_route(
    bp,
    "/projects/<int:project_id>/files",
    "POST",
    "Upload a file (multipart `file`, optional `name` and `note`); its kind comes from its bytes",
    responses=_UPLOAD_RESPONSES,
    request_body=_multipart_body(with_name=True),
)
@jwt_required()
def create_file(project_id: int) -> tuple[Response, int]:
    user = current_user()
    project = project_for(project_id, user)
    staged, filename, form = _receive_part()
    name = file_service.clean_name(form.name, filename)
    try:
        stored = file_service.add_file(db.session, storage(), user, project, staged, name=name, note=form.note)
    finally:
        staged.path.unlink(missing_ok=True)  # storage took it over, or it failed: nothing stays
    publish_change(redis_client(), project_id, stored.file.id, "added")
    return jsonify(file_json(db.session, stored.file)), 201


@api_route(bp, "/projects/<int:project_id>/members", "GET", "Who can see the project's files (for @mentions)")
@jwt_required()
def list_members(project_id: int) -> Response:
    project = project_for(project_id, current_user())
    return jsonify({"items": members_json(db.session, project)})


@api_route(bp, "/files/<int:file_id>", "GET", "One file with all its versions", responses={200: "OK", 404: "Not found"})
@jwt_required()
def get_file(file_id: int) -> Response:
    return jsonify(file_json(db.session, file_for(file_id, current_user())))


@api_route(
    bp,
    "/files/<int:file_id>",
    "PATCH",
    "Rename a file (the project's owner or the file's creator)",
    body=RenameBody,
    responses={200: "OK", 403: "Not the owner or creator", 404: "Not found", 422: "Invalid name"},
)
@jwt_required()
def rename_file(file_id: int) -> Response:
    user = current_user()
    file = file_for(file_id, user, for_update=True)
    project = project_for(file.project_id, user)
    file_service.ensure_may_manage(file, user, project)
    body = parse_body(RenameBody)
    file_service.rename_file(db.session, file, body.name)
    db.session.commit()
    publish_change(redis_client(), file.project_id, file.id, "renamed")
    return jsonify(file_json(db.session, file))


@api_route(
    bp,
    "/files/<int:file_id>",
    "DELETE",
    "Delete a file and every version's bytes (the project's owner or the file's creator)",
    responses={204: "Deleted", 403: "Not the owner or creator", 404: "Not found"},
)
@jwt_required()
def delete_file(file_id: int) -> tuple[str, int]:
    user = current_user()
    file = file_for(file_id, user, for_update=True)
    project = project_for(file.project_id, user)
    file_service.ensure_may_manage(file, user, project)
    deliverable_service.ensure_not_delivered(db.session, file)
    file_service.delete_file(db.session, file)
    # Its unfinished resumable uploads go with it: the purge job's database cascade removes
    # their rows with the file's, which left their staged bytes in files-staging for good.
    upload_service.discard_uploads_of(db.session, data_path(), file.id)
    db.session.commit()
    publish_change(redis_client(), project.id, file_id, "deleted")
    return "", 204


@api_route(
    bp,
    "/files/<int:file_id>/versions",
    "POST",
    "Upload a new version (multipart `file`, optional `note`); it becomes current",
    responses=_UPLOAD_RESPONSES,
    request_body=_multipart_body(with_name=False),
)
@jwt_required()
def create_version(file_id: int) -> tuple[Response, int]:
    user = current_user()
    file = file_for(file_id, user)
    staged, _, form = _receive_part()
    try:
        stored = file_service.add_version(db.session, storage(), user, file, staged, note=form.note)
    finally:
        staged.path.unlink(missing_ok=True)
    publish_change(redis_client(), stored.file.project_id, stored.file.id, "version", version=stored.version.number)
    return jsonify(version_json(stored.file, stored.version)), 201


def find_version(file: ProjectFile, number: int) -> FileVersion:
    for version in file.versions:
        if version.number == number:
            return version
    raise not_found("version")


@api_route(
    bp, "/files/<int:file_id>/versions/<int:number>", "GET", "One version", responses={200: "OK", 404: "Not found"}
)
@jwt_required()
def get_version(file_id: int, number: int) -> Response:
    file = file_for(file_id, current_user())
    return jsonify(version_json(file, find_version(file, number)))
