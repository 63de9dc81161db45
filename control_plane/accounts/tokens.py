"""Issuing tokens and deciding whether a presented token is still good."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Response
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    get_jwt,
    get_jwt_identity,
    set_access_cookies,
    set_refresh_cookies,
)
from sqlalchemy import select

from control_plane.accounts.models import RevokedToken, TokenFamily, User
from control_plane.db_types import utcnow
from control_plane.extensions import db, jwt
from control_plane.problems import ApiProblem

__all__ = ["current_user", "issue_tokens", "register_jwt_callbacks", "revoke_family", "set_auth_cookies"]


def issue_tokens(user: User, family_id: str | None = None) -> dict[str, str]:
    """A fresh access/refresh pair; a new login starts a new family."""
    if family_id is None:
        family_id = str(uuid.uuid4())
        db.session.add(TokenFamily(id=family_id, user_id=user.id))
    claims = {"fam": family_id}
    return {
        "access_token": create_access_token(identity=str(user.id), additional_claims=claims),
        "refresh_token": create_refresh_token(identity=str(user.id), additional_claims=claims),
    }


def set_auth_cookies(response: Response, tokens: dict[str, str]) -> Response:
    set_access_cookies(response, tokens["access_token"])
    set_refresh_cookies(response, tokens["refresh_token"])
    return response


def revoke_family(family_id: str) -> None:
    family = db.session.get(TokenFamily, family_id)
    if family is not None and family.revoked_at is None:
        family.revoked_at = utcnow()


def consume_refresh_token() -> str:
    """Mark the presented refresh token used; a second use revokes its whole family."""
    claims = get_jwt()
    jti, family_id = claims["jti"], claims.get("fam", "")
    if db.session.get(RevokedToken, jti) is not None:
        revoke_family(family_id)
        db.session.commit()
        raise ApiProblem(401, "refresh-token-reused", "This refresh token was already used; please log in again")
    expires = datetime.fromtimestamp(claims["exp"], UTC)
    db.session.add(RevokedToken(jti=jti, family_id=family_id, expires_at=expires))
    return str(family_id)


def current_user() -> User:
    user = db.session.get(User, int(get_jwt_identity()))
    if user is None:
        raise ApiProblem(401, "unknown-user", "The account behind this token no longer exists")
    return user


def token_is_revoked(claims: dict[str, Any]) -> bool:
    family_id = claims.get("fam")
    if not family_id:
        return True
    # One query on every authenticated request: an unknown or revoked family both refuse.
    row = db.session.execute(select(TokenFamily.revoked_at).where(TokenFamily.id == family_id)).first()
    return row is None or row[0] is not None


def register_jwt_callbacks() -> None:
    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        return token_is_revoked(payload)

    def _unauthorized(detail: str, code: str = "unauthorized") -> Response:
        from control_plane.problems import problem_response

        return problem_response(ApiProblem(401, code, detail, title="Unauthorized"))

    @jwt.unauthorized_loader
    def _missing(reason: str) -> Response:
        return _unauthorized(f"Authentication required: {reason}")

    @jwt.invalid_token_loader
    def _invalid(reason: str) -> Response:
        return _unauthorized(f"Invalid token: {reason}", "invalid-token")

    @jwt.expired_token_loader
    def _expired(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The token has expired; refresh it or log in again", "token-expired")

    @jwt.revoked_token_loader
    def _revoked_answer(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("The token was revoked (logged out)", "token-revoked")

    @jwt.needs_fresh_token_loader
    def _fresh(_header: dict[str, Any], _payload: dict[str, Any]) -> Response:
        return _unauthorized("A fresh login is required")
