"""The HTTP side of Idempotency-Key (``control_plane.kits.idempotency`` holds the rules): the
header read and checked, the request's digest, and answers turned into responses."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, request

from control_plane.kits.extensions import db
from control_plane.kits.http.problems import ApiProblem, refused_problem
from control_plane.kits.idempotency import MAX_KEY_LENGTH, Answer, IdempotencyRefused, KeyedRequest, run_once

__all__ = ["answer_response", "idempotent", "keyed_request"]


def keyed_request() -> KeyedRequest | None:
    """The request's key (None without the header); a 400 for a key of the wrong size."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ApiProblem(400, "invalid-idempotency-key", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters")
    return KeyedRequest(key, request.path, _request_hash())


def _request_hash() -> str:
    body = request.get_json(silent=True, force=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def answer_response(answer: Answer) -> Response:
    response = Response(answer.body, status=answer.status, mimetype="application/json")
    if answer.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(user_id: int, create: Callable[[], tuple[dict[str, Any], int]]) -> Response:
    """Run ``create`` (which stages its writes without committing) under the request's key."""
    try:
        answer = run_once(db.session, user_id, keyed_request(), create)
    except IdempotencyRefused as refused:
        raise refused_problem(refused) from None
    return answer_response(answer)
