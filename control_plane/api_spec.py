"""Routes declare themselves here once; /api/openapi.json is built from the same declarations,
so the document cannot drift from the code (a test checks every /api rule is described)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint
from pydantic import BaseModel

__all__ = ["OPERATIONS", "Operation", "api_route", "openapi_document"]

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
) -> Callable[[F], F]:
    prefix = bp.url_prefix or ""
    path = _CONVERTER.sub(r"{\1}", prefix + rule)
    OPERATIONS.append(
        Operation(method.upper(), path, summary, bp.name, body, query, dict(responses or {200: "OK"}), auth)
    )

    def decorate(view: F) -> F:
        bp.add_url_rule(rule, endpoint=f"{method.lower()}_{view.__name__}", view_func=view, methods=[method.upper()])
        return view

    return decorate


_PROBLEM = {"$ref": "#/components/schemas/Problem"}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {
        "Problem": {
            "type": "object",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "code": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
        }
    }
    for op in OPERATIONS:
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "responses": {}}
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{([a-z_]+)}", op.path)
        ]
        if op.query is not None:
            for name, prop in op.query.model_json_schema().get("properties", {}).items():
                params.append({"name": name, "in": "query", "required": False, "schema": prop})
        if params:
            entry["parameters"] = params
        if op.body is not None:
            schema = op.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[op.body.__name__] = schema
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{op.body.__name__}"}}},
            }
        for status, description in op.responses.items():
            if status >= 400:
                entry["responses"][str(status)] = {
                    "description": description,
                    "content": {"application/problem+json": {"schema": _PROBLEM}},
                }
            else:
                entry["responses"][str(status)] = {"description": description}
        if op.auth:
            entry["security"] = [{"bearer": []}]
            entry["responses"].setdefault("401", {"description": "Missing or invalid token"})
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Downbeat API", "version": "0.1.0"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }
