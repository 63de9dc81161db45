"""Resumable uploads (docs/FILES.md): create, ask the offset (GET, HEAD), append (PATCH with
``Upload-Offset``), abandon (DELETE). The PATCH that delivers the last byte records the
file or version and answers 201 with it."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Response, jsonify, request
from flask_jwt_extended import jwt_required

from control_plane.accounts.auth import current_user
from control_plane.accounts.models import User
from control_plane.files.api.common import bp, data_path, file_for, limits, project_for, redis_client, storage
from control_plane.files.models import FileUpload, FileVersion, ProjectFile
from control_plane.files.queries import file_json, upload_json, visible_upload
from control_plane.files.schemas import UploadBody
from control_plane.files.services import files as file_service
from control_plane.files.services import uploads as service
from control_plane.files.services.live import publish_change
from control_plane.files.services.refusals import FilesRefused, not_found
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.validation import parse_body

__all__: list[str] = []  # routes join ``common.bp`` when this module loads

OFFSET_HEADER = "Upload-Offset"
OFFSET = re.compile(r"[0-9]{1,19}")
# Refusals that leave the upload as it was: someone else is recording it, or did.
NOT_ABANDONED = frozenset({"upload-finishing", "upload-finished"})


def _upload(upload_id: str, user: User) -> FileUpload:
    if len(upload_id) != 32 or not all(ch in "0123456789abcdef" for ch in upload_id):
        raise not_found("upload")
    found = visible_upload(db.session, upload_id, user.id)
    if found is None:
        raise not_found("upload")
    return found


def _answer(upload: FileUpload, status: int = 200) -> tuple[Response, int]:
    settings = current_settings().files
    body = upload_json(upload, service.upload_offset(data_path(), upload), settings.chunk_bytes)
    if upload.status == "done" and upload.result_file_id is not None:
        file = db.session.get(ProjectFile, upload.result_file_id)
        if file is not None and file.deleted_at is None:
            body["file"] = file_json(db.session, file)
            body["version"] = upload.result_version
    response = jsonify(body)
    response.headers[OFFSET_HEADER] = str(body["offset"])
    response.headers["Upload-Length"] = str(upload.size)
    response.headers["Cache-Control"] = "no-store"
    return response, status


@api_route(
    bp,
    "/projects/<int:project_id>/uploads",
    "POST",
    "Start a resumable upload of a new file, or of a new version (`file_id`)",
    body=UploadBody,
    responses={201: "Created", 404: "Not found", 413: "Over every kind's limit", 422: "Invalid fields"},
)
@jwt_required()
def create_upload(project_id: int) -> tuple[Response, int]:
    user = current_user()
    project = project_for(project_id, user)
    body = parse_body(UploadBody)
    file = None
    if body.file_id is not None:
        file = file_for(body.file_id, user)
        if file.project_id != project.id:
            raise FilesRefused.invalid_fields({"file_id": ["is not a file of this project"]})
    settings = current_settings().files
    upload = service.create_upload(
        db.session,
        data_path(),
        user,
        project,
        body,
        limits=limits(),
        expire_after=timedelta(hours=settings.upload_expire_hours),
        file=file,
        max_open_bytes=settings.max_open_upload_bytes,
    )
    db.session.commit()
    response, status = _answer(upload, 201)
    response.headers["Location"] = f"/api/uploads/{upload.id}"
    return response, status


@api_route(
    bp, "/uploads/<upload_id>", "GET", "A resumable upload and its offset", responses={200: "OK", 404: "Not found"}
)
@jwt_required()
def get_upload(upload_id: str) -> tuple[Response, int]:
    return _answer(_upload(upload_id, current_user()))


@api_route(
    bp,
    "/uploads/<upload_id>",
    "HEAD",
    "A resumable upload's offset, in the Upload-Offset and Upload-Length headers",
    responses={200: "OK", 404: "Not found"},
)
@jwt_required()
def head_upload(upload_id: str) -> tuple[Response, int]:
    return _answer(_upload(upload_id, current_user()))


@api_route(
    bp,
    "/uploads/<upload_id>",
    "PATCH",
    "Append bytes at `Upload-Offset`; the last byte records the file (201)",
    request_body={
        "required": False,  # a retry of a failed finish sends none
        "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    headers=(
        {
            "name": OFFSET_HEADER,
            "in": "header",
            "required": True,
            "description": "the byte this chunk starts at: the upload's current offset",
            "schema": {"type": "integer", "minimum": 0},
        },
    ),
    responses={
        200: "Appended",
        201: "Finished: the file or version is recorded",
        404: "Not found",
        400: "Upload-Offset is not a whole number",
        409: "Wrong offset, busy, being finished, or finished",
        422: "The first bytes show another kind than the file's",
        413: "Chunk too large, or the file's kind is over its limit",
        428: "Upload-Offset missing",
    },
)
@jwt_required()
def patch_upload(upload_id: str) -> tuple[Response, int]:
    user = current_user()
    upload = _upload(upload_id, user)
    raw = request.headers.get(OFFSET_HEADER, "")
    if not raw:
        raise FilesRefused(
            428,
            "upload-offset-required",
            f"Send the {OFFSET_HEADER} header: the byte this chunk starts at (GET or HEAD the upload for it)",
            errors={OFFSET_HEADER: ["missing"]},
        )
    if not OFFSET.fullmatch(raw):  # ASCII digits only: str.isdigit() also takes "²"
        raise FilesRefused(
            400,
            "upload-offset-invalid",
            f"{OFFSET_HEADER} must be a whole number of bytes, like 0 or 8388608",
            errors={OFFSET_HEADER: ["must be a whole number of bytes"]},
        )
    expected_kind = None
    if upload.file_id is not None:  # a new version: its bytes must be the file's kind
        target = db.session.get(ProjectFile, upload.file_id)
        expected_kind = None if target is None else target.kind
    settings = current_settings().files
    request.max_content_length = settings.max_chunk_bytes + 1
    kind_limits = limits()
    # Detached, the row keeps what it loaded: reading it below opens no transaction (on
    # SQLite: takes no write lock) while the chunk arrives.
    db.session.expunge(upload)
    db.session.commit()
    try:
        appended = service.append_chunk(
            data_path(),
            upload,
            int(raw),
            request.stream,
            length=request.content_length,
            max_chunk=settings.max_chunk_bytes,
            limits=kind_limits,
            expected_kind=expected_kind,
        )
    except FilesRefused as refused:
        if refused.code in ("file-too-large", "kind-mismatch"):  # the upload can never succeed
            service.discard_upload(db.session, data_path(), upload)
            db.session.commit()
        raise
    if not appended.complete:
        # Bytes arrived: the upload is alive. Without this it was removed
        # upload_expire_hours after it *started*, however busy it still was (docs/FILES.md:
        # "an upload untouched for upload_expire_hours is removed").
        service.touch_upload(db.session, upload, timedelta(hours=settings.upload_expire_hours))
        db.session.commit()
        return _answer(upload)
    return _finish(upload, user)


def _abandon(upload_id: str) -> None:
    """A refusal of the complete bytes (over the kind's limit, another kind than the file's,
    the file or project gone): nothing is left to resume, so the upload goes, bytes and row.
    (Left "open", it answered offset 0 and 404 to every PATCH, and its bytes stayed.)"""
    db.session.rollback()
    row = db.session.get(FileUpload, upload_id)
    if row is not None and row.status == "open":  # "done": another request finished it
        service.discard_upload(db.session, data_path(), row)
        db.session.commit()


def _finish(upload: FileUpload, user: User) -> tuple[Response, int]:
    """Record the complete upload. Any failure but a refusal (storage down, the database
    gone) keeps the bytes: a PATCH at the upload's size records it again."""
    upload_id = upload.id

    def mark_done(file: ProjectFile, version: FileVersion) -> None:
        row = db.session.get(FileUpload, upload_id, with_for_update=True)
        if row is None or row.status != "open":
            raise FilesRefused(409, "upload-finished", "This upload was finished by another request")
        row.status, row.result_file_id, row.result_version = "done", file.id, version.number

    try:
        with service.finishing(data_path(), upload, limits()) as staged:
            project = project_for(upload.project_id, user)
            if upload.file_id is None:
                name = file_service.clean_name(None, upload.name)
                stored = file_service.add_file(
                    db.session, storage(), user, project, staged, name=name, note=upload.note, also=mark_done
                )
                publish_change(redis_client(), stored.file.project_id, stored.file.id, "added")
            else:
                file = file_for(upload.file_id, user)
                stored = file_service.add_version(
                    db.session, storage(), user, file, staged, note=upload.note, also=mark_done
                )
                publish_change(redis_client(), file.project_id, file.id, "version", version=stored.version.number)
    except FilesRefused as refused:
        if refused.code not in NOT_ABANDONED:
            _abandon(upload_id)
        raise
    done = db.session.get(FileUpload, upload_id)
    if done is None:
        raise not_found("upload")
    return _answer(done, 201)


@api_route(
    bp,
    "/uploads/<upload_id>",
    "DELETE",
    "Abandon a resumable upload and its bytes",
    responses={204: "Gone", 404: "Not found"},
)
@jwt_required()
def delete_upload(upload_id: str) -> tuple[str, int]:
    upload = _upload(upload_id, current_user())
    if upload.status == "open":
        service.discard_upload(db.session, data_path(), upload)
    else:
        db.session.delete(upload)
    db.session.commit()
    return "", 204
