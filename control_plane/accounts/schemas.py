"""Request and response shapes of /api/auth/* and /api/me (they also feed /api/openapi.json)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from control_plane.accounts.emails import normalise_email
from control_plane.accounts.models import ROLES
from control_plane.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, password_problems
from control_plane.validation import ONE_LINE, ZoneName

__all__ = [
    "AuthAnswer",
    "ChangePassword",
    "Login",
    "Register",
    "SocketToken",
    "TokenPair",
    "UpdateMe",
    "UserOut",
]

MAX_URL_LENGTH = 2048


def _http_url(url: str) -> str:
    """Absolute http(s) URL with a host, no credentials, no whitespace or control characters."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        has_credentials = parts.username is not None or parts.password is not None
    except ValueError:
        raise PydanticCustomError("http_url", "must be an absolute http or https URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise PydanticCustomError("http_url", "must be an absolute http or https URL")
    if has_credentials or any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise PydanticCustomError("http_url", "must not contain credentials, spaces or control characters")
    return url


def _roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise PydanticCustomError(
            "roles", "unknown roles {unknown}; choose from {known}", {"unknown": unknown, "known": list(ROLES)}
        )
    return sorted(set(roles), key=ROLES.index)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120, pattern=ONE_LINE)]
TimeZone = Annotated[ZoneName, StringConstraints(max_length=64)]
AvatarUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_URL_LENGTH),
    AfterValidator(_http_url),
    Field(json_schema_extra={"format": "uri", "pattern": "^https?://"}),
]
Roles = Annotated[
    list[Annotated[str, Field(json_schema_extra={"enum": list(ROLES)})]],
    Field(min_length=1, max_length=len(ROLES) * 2),
    AfterValidator(_roles),
]
Password = Annotated[str, Field(max_length=MAX_PASSWORD_LENGTH, json_schema_extra={"minLength": MIN_PASSWORD_LENGTH})]


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr
    password: Password
    name: Name
    roles: Roles = Field(default_factory=lambda: ["user"])
    timezone: TimeZone = "UTC"
    avatar_url: AvatarUrl | None = None

    @field_validator("email")
    @classmethod
    def _normalise(cls, email: str) -> str:
        return normalise_email(email)

    @field_validator("password")
    @classmethod
    def _policy(cls, password: str, info: ValidationInfo) -> str:
        problems = password_problems(password, str(info.data.get("email") or ""))
        if problems:
            raise PydanticCustomError("password_policy", "; ".join(problems))
        return password


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)


class UpdateMe(BaseModel):
    """Only the fields sent change; ``avatar_url: null`` removes the picture."""

    model_config = ConfigDict(extra="forbid")
    name: Name | None = None
    timezone: TimeZone | None = None
    avatar_url: AvatarUrl | None = None
    roles: Roles | None = None

    @field_validator("name", "timezone", "roles", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("not_null", "may not be null")
        return value


class ChangePassword(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)
    new_password: Password


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    roles: list[str]
    avatar_url: str | None
    timezone: str
    created_at: str


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str


class AuthAnswer(TokenPair):
    user: UserOut


class SocketToken(BaseModel):
    token: str
    user: UserOut
