"""Many accounts quickly: one password hash for all, tokens issued in-process."""

from __future__ import annotations

import uuid
from typing import Any

from argon2 import PasswordHasher
from flask import Flask

_HASH = PasswordHasher().hash("correct horse battery")


def many_people(app: Flask, count: int, roles: list[str] | None = None) -> list[dict[str, Any]]:
    from control_plane.accounts.auth import issue_tokens
    from control_plane.accounts.models import User
    from control_plane.kits.extensions import db

    people = []
    with app.app_context():
        users = [
            User(
                email=f"p{uuid.uuid4().hex[:12]}@example.com",
                name=f"Person {i}",
                roles=roles or ["user"],
                password_hash=_HASH,
            )
            for i in range(count)
        ]
        db.session.add_all(users)
        db.session.flush()
        for user in users:
            people.append({**issue_tokens(user), "user": {"id": user.id, "name": user.name}})
        db.session.commit()
        db.session.remove()
    return people
