"""Routes declare themselves here once; /api/openapi.json is built from the same declarations,
so the document cannot drift from the code (a test checks every /api rule is described)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint
from pydantic import BaseModel

from control_plane.kits.http.pages import page, page_blueprint

__all__ = ["OPERATIONS", "Operation", "api_route", "docs_blueprint", "openapi_document"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: dict[int, str] = field(default_factory=dict)
    auth: bool = True
    # The JSON body of the success answer; None leaves it undescribed (or there is none).
    response: type[BaseModel] | None = None
    # Werkzeug converter of each path parameter ("int" becomes an integer in the document).
    path_types: dict[str, str] = field(default_factory=dict)
    # A body that is not JSON (multipart, raw bytes): its OpenAPI requestBody, as is.
    request_body: dict[str, Any] | None = None
    # Request headers the operation reads (OpenAPI parameter objects, "in": "header").
    headers: tuple[dict[str, Any], ...] = ()
    # A JSON body that may be left out (its defaults apply).
    body_required: bool = True


OPERATIONS: list[Operation] = []
_CONVERTER = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


def api_route(
    bp: Blueprint,
    rule: str,
    method: str,
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: dict[int, str] | None = None,
    auth: bool = True,
    response: type[BaseModel] | None = None,
    request_body: dict[str, Any] | None = None,
    headers: tuple[dict[str, Any], ...] = (),
    body_required: bool = True,
) -> Callable[[F], F]:
    prefix = bp.url_prefix or ""
    path = _CONVERTER.sub(r"{\1}", prefix + rule)
    OPERATIONS.append(
        Operation(
            method.upper(),
            path,
            summary,
            bp.name,
            body,
            query,
            dict(responses or {200: "OK"}),
            auth,
            response,
            {name: kind for kind, name in _PATH_PARAM.findall(rule) if kind},
            request_body,
            headers,
            body_required,
        )
    )

    def decorate(view: F) -> F:
        bp.add_url_rule(rule, endpoint=f"{method.lower()}_{view.__name__}", view_func=view, methods=[method.upper()])
        return view

    return decorate


_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_PROBLEM_CONTENT = {"application/problem+json": {"schema": _PROBLEM}}
_PATH_PARAM = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")
_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` maps each invalid field to its messages.",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
}


def _component(model: type[BaseModel], schemas: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    """Register ``model`` (and the models it uses) under components; return a $ref to it."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}", mode=mode)  # type: ignore[arg-type]
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _path_parameters(op: Operation) -> list[dict[str, Any]]:
    params = []
    for name in re.findall(r"{([a-z_]+)}", op.path):
        kind = op.path_types.get(name, "string")
        schema: dict[str, Any] = {"type": "integer", "minimum": 0} if kind == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _query_parameters(op: Operation, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    schema = op.query.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schema.pop("$defs", {}))
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(op: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, description in sorted(op.responses.items()):
        entry: dict[str, Any] = {"description": description}
        if status >= 400:
            entry["content"] = _PROBLEM_CONTENT
        elif op.response is not None and status != 204:
            entry["content"] = {"application/json": {"schema": _component(op.response, schemas, "serialization")}}
        if status == 429:
            entry["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}}
            }
        responses[str(status)] = entry
    if op.auth:
        responses.setdefault("401", {"description": "Missing, invalid, expired or revoked token"})
        responses["401"].setdefault("content", _PROBLEM_CONTENT)
    # What every route of a kind can answer, declared so that clients see it per operation.
    if op.body is not None:
        responses.setdefault("400", {"description": "invalid-json: the body is not a JSON object"})
    if op.body is not None or op.query is not None:
        responses.setdefault("422", {"description": "validation-error: `errors` names each invalid field"})
    if "{" in op.path:
        responses.setdefault("404", {"description": "No such resource (or not yours to see)"})
    for code in ("400", "404", "422"):
        if code in responses:
            responses[code].setdefault("content", _PROBLEM_CONTENT)
    # Every other error (400 bad JSON, 404, 413, 415, 422, ...) is problem+json too.
    responses["default"] = {"description": "Any other error", "content": _PROBLEM_CONTENT}
    return responses


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {"Problem": _PROBLEM_SCHEMA}
    for op in OPERATIONS:
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(op)}
        params = _path_parameters(op) + _query_parameters(op, schemas) + list(op.headers)
        if params:
            entry["parameters"] = params
        if op.body is not None:
            entry["requestBody"] = {
                "required": op.body_required,
                "content": {"application/json": {"schema": _component(op.body, schemas)}},
            }
        elif op.request_body is not None:
            entry["requestBody"] = op.request_body
        entry["responses"] = _responses(op, schemas)
        entry["security"] = [{"bearer": []}, {"cookie": [], "csrf": []}] if op.auth else []
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Downbeat API",
            "version": "0.1.0",
            "description": "Errors are application/problem+json (RFC 9457). Lists page with ?limit=&cursor=.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "access_token_cookie",
                    "description": "Web UI: HttpOnly cookie set by login; unsafe methods need the csrf header too",
                },
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRF-TOKEN",
                    "description": "The value of the readable csrf_access_token cookie (double submit)",
                },
            },
        },
    }


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path.removeprefix("/api/")).replace("/", "_").replace("-", "_")
    return f"{op.method.lower()}_{words}"


def docs_blueprint() -> Blueprint:
    """/api/docs: the OpenAPI document rendered by a small same-origin script (no CDN)."""
    docs = page_blueprint("api_docs", __name__)

    @docs.get("/api/docs")
    def api_docs() -> str:
        return page("api_docs.html", title="API reference")

    return docs
