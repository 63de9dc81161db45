"""/api/tracks: upload audio (recognised by its bytes) or add a direct URL; serve it with
HTTP Range; and the signed internal callback through which the stream worker reports the
offline analysis (progress, then the result), which is pushed to every room queueing it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from flask import Blueprint, Response, current_app, jsonify, request
from flask_jwt_extended import jwt_required
from sqlalchemy import select
from werkzeug.exceptions import RequestedRangeNotSatisfiable, RequestEntityTooLarge
from werkzeug.wsgi import wrap_file

from contracts.files import ANALYSIS_PATH, ANALYSIS_PURPOSE, AnalysisAnswer, AnalysisReport
from control_plane.accounts.auth import current_user
from control_plane.kits.extensions import REDIS_KEY, current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, problem_response, refused_problem
from control_plane.kits.http.validation import parse_body, parse_query
from control_plane.rooms.models import Track
from control_plane.rooms.queries import visible_track
from control_plane.rooms.schemas import TrackList, TrackUrl
from control_plane.rooms.services.analysis import record_analysis_report
from control_plane.rooms.services.messages import publish
from control_plane.rooms.services.refusals import RoomsRefused
from control_plane.rooms.services.tracks import (
    EXTENSIONS,
    SNIFF_BYTES,
    StoredAudio,
    UnreadableAudio,
    add_uploaded_track,
    add_url_track,
    probe_audio,
    sniff_audio,
    track_json,
    tracks_dir,
)
from downbeat.settings import Settings
from downbeat.signing import HEADER, SignatureInvalid, verify

__all__ = ["bp", "internal_bp"]

log = logging.getLogger(__name__)
bp = Blueprint("tracks", __name__, url_prefix="/api")
internal_bp = Blueprint("tracks_internal", __name__)
MULTIPART_OVERHEAD = 64 * 1024  # boundaries and part headers around the file


def _settings() -> Settings:
    settings = current_settings()
    return settings


@api_route(
    bp,
    "/tracks",
    "POST",
    "Upload a track (multipart field `file`: mp3, ogg, wav or flac, recognised by content) or add a direct URL",
    body=TrackUrl,
    responses={201: "Created", 400: "No file", 413: "Too large", 415: "Not a supported audio format", 422: "Invalid"},
)
@jwt_required()
def create_track() -> tuple[Response, int]:
    if request.mimetype == "multipart/form-data":
        return jsonify(track_json(_upload())), 201
    data = parse_body(TrackUrl)
    track = add_url_track(db.session, current_user().id, data)
    db.session.commit()
    return jsonify(track_json(track)), 201


def _upload() -> Track:
    """Stream the part to disk within the size limit, recognise and probe it, move it to its
    place; then the service makes the track and requests its analysis."""
    limit = _settings().rooms.max_track_bytes
    if request.content_length is not None and request.content_length > limit + MULTIPART_OVERHEAD:
        raise _too_large(limit)
    request.max_content_length = limit + MULTIPART_OVERHEAD  # this route only (Flask 3.1)
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise _too_large(limit) from None
    if upload is None or (not upload.filename and upload.content_length == 0):
        raise ApiProblem(
            400, "file-missing", "Send the audio as multipart form field 'file'", errors={"file": ["missing"]}
        )
    folder = tracks_dir(_settings())
    incoming = folder / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    temp = incoming / f"{uuid.uuid4().hex}.part"
    try:
        size, digest, head = _copy_limited(upload.stream, temp, limit)
        content_type = sniff_audio(head)
        if content_type is None:
            raise ApiProblem(
                415,
                "unsupported-audio",
                "The file is not mp3, ogg, wav or flac audio (recognised by its content, not its name)",
                errors={"file": ["unsupported format"]},
            )
        fallback_title = Path(upload.filename or "Untitled").stem[:200] or "Untitled"
        try:
            info = probe_audio(temp, fallback_title)
        except UnreadableAudio:
            raise ApiProblem(
                422,
                "unreadable-audio",
                "The file looks like audio but cannot be decoded",
                errors={"file": ["unreadable"]},
            ) from None
        key = f"{digest[:2]}/{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"
        final = folder / key
        final.parent.mkdir(parents=True, exist_ok=True)
        temp.replace(final)
    finally:
        temp.unlink(missing_ok=True)
        upload.close()  # a large part is spooled to a temporary file; free it now
    stored = StoredAudio(key, content_type, size, digest, info)
    try:
        track = add_uploaded_track(db.session, current_user().id, stored)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        final.unlink(missing_ok=True)
        raise
    return track


def _copy_limited(source: IO[bytes], target: Path, limit: int) -> tuple[int, str, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with target.open("wb") as out:
        while chunk := source.read(256 * 1024):
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise ApiProblem(422, "empty-file", "The uploaded file is empty", errors={"file": ["empty"]})
    return size, digest.hexdigest(), head


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(413, "track-too-large", f"Tracks are limited to {limit} bytes", limit_bytes=limit)


def _track(track_id: int) -> Track:
    """The caller's own track, or one queued in a room they are in; one 404 otherwise."""
    track = visible_track(db.session, track_id, current_user().id)
    if track is None:
        raise ApiProblem(404, "track-not-found", f"No track has the id {track_id}, or not one you can hear")
    return track


@api_route(bp, "/tracks", "GET", "Your tracks, newest first", query=TrackList)
@jwt_required()
def list_tracks() -> Response:
    query = parse_query(TrackList)
    stmt = select(Track).where(Track.owner_id == current_user().id).order_by(Track.id.desc()).limit(query.limit + 1)
    if query.cursor:
        stmt = stmt.where(Track.id < query.cursor)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return jsonify({"items": [track_json(t) for t in rows], "next_cursor": str(rows[-1].id) if more else None})


@api_route(bp, "/tracks/<int:track_id>", "GET", "A track and its analysis", responses={200: "OK", 404: "No such track"})
@jwt_required()
def get_track(track_id: int) -> Response:
    return jsonify(track_json(_track(track_id)))


@api_route(
    bp,
    "/tracks/<int:track_id>/audio",
    "GET",
    "The audio file; supports Range (206, 416) and conditional requests (ETag, If-None-Match)",
    responses={200: "Audio", 206: "Partial audio", 304: "Not modified", 404: "No such track", 416: "Bad range"},
)
@jwt_required()
def track_audio(track_id: int) -> Response:
    track = _track(track_id)
    if track.source != "upload" or not track.storage_key:
        raise ApiProblem(404, "track-not-stored", "This track is a direct URL; fetch it from its url")
    path = tracks_dir(_settings()) / track.storage_key
    if not path.is_file():
        raise ApiProblem(404, "track-file-missing", "The audio file of this track is missing")
    db.session.commit()  # the file may stream for a while; hold no database connection meanwhile
    # werkzeug's make_conditional answers Range (one range: 206 with Content-Range), sets
    # Accept-Ranges and Content-Length, and evaluates If-None-Match / If-Range on the ETag.
    stat = path.stat()
    wanted = request.range
    if wanted is not None and "If-Range" not in request.headers and wanted.range_for_length(stat.st_size) is None:
        return _range_not_satisfiable(stat.st_size)
    handle = path.open("rb")
    response = Response(wrap_file(request.environ, handle), mimetype=track.content_type, direct_passthrough=True)
    response.call_on_close(handle.close)  # whatever the answer (a 304 drops the body unread)
    response.content_length = stat.st_size
    response.last_modified = datetime.fromtimestamp(stat.st_mtime, UTC)
    response.set_etag(track.sha256 or f"{stat.st_size}-{int(stat.st_mtime)}")
    response.cache_control.private = True
    response.cache_control.max_age = 3600
    try:
        response.make_conditional(request.environ, accept_ranges=True, complete_length=stat.st_size)  # in place
        return response
    except RequestedRangeNotSatisfiable:
        response.close()
        return _range_not_satisfiable(stat.st_size)


def _range_not_satisfiable(size: int) -> Response:
    """RFC 9110 15.5.17: a 416 names the current length, so the client can ask again.
    (werkzeug serves one range per request; several ranges also end here.)"""
    refused = problem_response(ApiProblem(416, "range-not-satisfiable", "The requested range lies outside the file"))
    refused.headers["Content-Range"] = f"bytes */{size}"
    refused.headers["Accept-Ranges"] = "bytes"
    return refused


# contracts.files.ANALYSIS_PATH as a Flask rule: {track_id} -> <int:track_id>
@internal_bp.post(ANALYSIS_PATH.format(track_id="<int:track_id>"))
def analysis_report(track_id: int) -> tuple[Response, int]:
    """The stream worker's progress and result. Signed; idempotent; a finished track stays
    finished (the answer tells a redelivered analysis not to run again)."""
    body = request.get_data(cache=True)
    try:
        verify(_settings().secret_key, ANALYSIS_PURPOSE, body, request.headers.get(HEADER))
    except SignatureInvalid as exc:
        raise ApiProblem(401, "bad-signature", str(exc)) from None
    report = parse_body(AnalysisReport)
    try:
        recorded = record_analysis_report(db.session, track_id, report)
    except RoomsRefused as refused:
        raise refused_problem(refused) from None
    db.session.commit()
    if recorded.message is not None:
        client = current_app.extensions.get(REDIS_KEY)
        for code in recorded.rooms:
            publish(client, code, [recorded.message])
    return jsonify(AnalysisAnswer(proceed=recorded.proceed, status=recorded.status).model_dump()), 200
