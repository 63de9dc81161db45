"""The stream worker's signed calls for audio versions: read the bytes (a GET signed over
its path), report the analysis (a POST signed over its body). Outside /api: not part of the
public contract, and refused without a valid signature."""

from __future__ import annotations

from flask import Response, jsonify, request

from contracts.files import (
    FILE_ANALYSIS_PATH,
    FILE_ANALYSIS_PURPOSE,
    FILE_CONTENT_PATH,
    FILE_CONTENT_PURPOSE,
    AnalysisAnswer,
    AnalysisReport,
    analysis_signed_bytes,
    file_analysis_path,
    file_content_path,
)
from control_plane.files.api.common import internal_bp, redis_client
from control_plane.files.api.content import serve_version
from control_plane.files.models import FileVersion
from control_plane.files.services.analysis import record_report
from control_plane.files.services.live import publish_change
from control_plane.files.services.refusals import not_found
from control_plane.kits.extensions import current_settings, db
from control_plane.kits.http.problems import ApiProblem
from control_plane.kits.http.validation import parse_body
from downbeat.signing import HEADER, SignatureInvalid, verify

__all__: list[str] = []  # routes join ``common.internal_bp`` when this module loads


def _verify(purpose: str, body: bytes) -> None:
    try:
        verify(current_settings().secret_key, purpose, body, request.headers.get(HEADER))
    except SignatureInvalid as exc:
        raise ApiProblem(401, "bad-signature", str(exc)) from None


@internal_bp.get(FILE_CONTENT_PATH.format(version_id="<int:version_id>"))
def version_content_for_worker(version_id: int) -> Response:
    _verify(FILE_CONTENT_PURPOSE, file_content_path(version_id).encode())
    version = db.session.get(FileVersion, version_id)
    if version is None or version.file.deleted_at is not None:
        raise not_found("version")
    return serve_version(version.file, version, allow_redirect=True)


@internal_bp.post(FILE_ANALYSIS_PATH.format(version_id="<int:version_id>"))
def version_analysis_report(version_id: int) -> tuple[Response, int]:
    _verify(FILE_ANALYSIS_PURPOSE, analysis_signed_bytes(file_analysis_path(version_id), request.get_data(cache=True)))
    report = parse_body(AnalysisReport)
    recorded = record_report(db.session, version_id, report)
    db.session.commit()
    if recorded.changed:
        publish_change(redis_client(), recorded.project_id, recorded.file_id, "analysis", version_id=version_id)
    return jsonify(AnalysisAnswer(proceed=recorded.proceed, status=recorded.status).model_dump()), 200
