"""Downloads of a version's bytes: Range (one range: 206, 416), ETag (the SHA-256) with
If-None-Match and If-Range, or a redirect to a short-lived signed URL when the storage
offers one (S3). The stream worker reads through the same code on a signed internal path.

Only audio, images and PDF are shown inline; everything else is an attachment, and every
answer says ``nosniff`` and sandboxes itself, so an uploaded page can never run as ours.
"""

from __future__ import annotations

from flask import Response, request
from flask_jwt_extended import jwt_required

from control_plane.accounts.auth import current_user
from control_plane.files.api.common import bp, file_for, storage
from control_plane.files.api.files import find_version
from control_plane.files.models import FileVersion, ProjectFile
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.openapi import api_route
from control_plane.kits.http.problems import ApiProblem, problem_response
from control_plane.kits.storage import MissingObject
from control_plane.kits.storage.s3 import content_disposition

__all__ = ["serve_version"]

INLINE_TYPES = ("audio/", "image/", "application/pdf")


def _inline(version: FileVersion) -> str:
    return "inline" if version.content_type.startswith(INLINE_TYPES) else "attachment"


UNSATISFIABLE = "unsatisfiable"


def _wanted_span(size: int, etag: str) -> tuple[int, int] | str | None:
    """The one byte span asked for (first, last, inclusive), UNSATISFIABLE, or None for the
    whole file. RFC 9110 14.2 lets a server ignore a Range it does not serve: an unknown
    unit, a malformed header or several ranges get the whole file (200), not a 416; an
    If-Range naming another version (or a date: we keep none) does too. Only one
    well-formed range that starts past the end is unsatisfiable; a suffix longer than the
    file is the whole file, and an end past it is cut to the last byte."""
    if "Range" not in request.headers:
        return None
    if "If-Range" in request.headers and request.if_range.etag != etag:
        return None
    wanted = request.range  # None when malformed or not in bytes
    if wanted is None or wanted.units != "bytes" or len(wanted.ranges) != 1:
        return None
    first, stop = wanted.ranges[0]
    if first < 0:  # a suffix: the last -first bytes
        return (max(0, size + first), size - 1)
    if first >= size:
        return UNSATISFIABLE
    return (first, size - 1 if stop is None else min(stop, size) - 1)


def serve_version(file: ProjectFile, version: FileVersion, *, allow_redirect: bool) -> Response:
    """The answer for one version's bytes; the caller checked who asks."""
    store = storage()
    key, size, sha256 = version.storage_key, version.size, version.sha256
    content_type, inline, name = version.content_type, _inline(version), file.name
    disposition = content_disposition(inline, name)
    db.session.commit()  # the bytes may stream for minutes: hold no connection meanwhile
    seconds = current_settings().storage.signed_url_seconds
    if allow_redirect and seconds > 0:
        url = store.signed_url(key, filename=name, content_type=content_type, expires_s=seconds, disposition=inline)
        if url is not None:
            return Response(status=302, headers={"Location": url, "Cache-Control": "private, no-store"})
    etag = sha256
    if request.if_none_match and request.if_none_match.contains(etag):
        return _headers(Response(status=304), etag, content_type, disposition)
    start, end, status = 0, size - 1, 200
    span = _wanted_span(size, etag)
    if span == UNSATISFIABLE:
        refused = problem_response(
            ApiProblem(416, "range-not-satisfiable", f"The requested range starts past the last of the {size} bytes")
        )
        refused.headers["Content-Range"] = f"bytes */{size}"
        refused.headers["Accept-Ranges"] = "bytes"
        return refused
    if isinstance(span, tuple):
        start, end, status = span[0], span[1], 206
    try:
        chunks = store.read(key, start, end)
    except MissingObject:
        raise ApiProblem(404, "content-missing", "The bytes of this version are missing from storage") from None
    response = Response(chunks, status=status, mimetype=None, direct_passthrough=True)
    response.headers["Content-Length"] = str(end - start + 1)
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return _headers(response, etag, content_type, disposition)


def _headers(response: Response, etag: str, content_type: str, disposition: str) -> Response:
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = disposition
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.set_etag(etag)
    return response


@api_route(
    bp,
    "/files/<int:file_id>/versions/<int:number>/content",
    "GET",
    "A version's bytes (Range: 206 and 416; ETag is the SHA-256), or 302 to a short-lived signed URL",
    responses={
        200: "The bytes",
        206: "Part of the bytes",
        302: "A signed URL to fetch them from",
        304: "Not modified",
        404: "Not found",
        416: "Range outside the file",
    },
)
@jwt_required()
def version_content(file_id: int, number: int) -> Response:
    file = file_for(file_id, current_user())
    return serve_version(file, find_version(file, number), allow_redirect=True)
