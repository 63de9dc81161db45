"""Accounts made through the public API, as any client would."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.stack import http_json

__all__ = ["PASSWORD", "register_person"]

PASSWORD = "correct horse battery staple"


def register_person(base: str, roles: list[str], name: str) -> dict[str, Any]:
    email = f"{name.lower().replace(' ', '.')}.{uuid.uuid4().hex[:8]}@example.com"
    status, body = http_json(
        "POST", f"{base}/api/auth/register", {"email": email, "password": PASSWORD, "name": name, "roles": roles}
    )
    assert status == 201, body
    body["email"] = email
    return dict(body)
