"""Request and response shapes of /api/auth/* and /api/me (they also feed /api/openapi.json),
and what they check: the roles a person may declare, the password policy, one spelling per email."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
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

from control_plane.kits.http.validation import ONE_LINE, ZoneName

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "ROLES",
    "AuthAnswer",
    "ChangePassword",
    "InvalidEmail",
    "Login",
    "Register",
    "SocketToken",
    "TokenPair",
    "UpdateMe",
    "UserOut",
    "normalise_email",
    "password_problems",
]

# What a person may declare to be at registration (several at once); ``User.roles`` holds
# them, and role checks (``accounts.services.roles``) refuse a name not listed here.
ROLES = ("user", "creator", "facilitator", "musician", "producer", "band_manager")

# --- the password policy ---------------------------------------------------------------
# NIST SP 800-63B: a minimum length, no composition rules, and a refusal of passwords that
# are known to be common or that repeat the account's own email.

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
MAX_PASSWORD_LENGTH = 256

# Passwords of ten or more characters that top the public breach lists (shorter ones already
# fail the length rule). Compared case-insensitively.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "123456789a",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "qwertyuiop",
        "asdfghjkl;",
        "zxcvbnm123",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "password12",
        "password123",
        "password1234",
        "password!1",
        "passw0rd123",
        "p@ssw0rd123",
        "iloveyou12",
        "iloveyou123",
        "letmein123",
        "welcome123",
        "welcome1234",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "dragon1234",
        "monkey12345",
        "trustno1234",
        "superman123",
        "starwars123",
        "computer123",
        "michael123",
        "charlie123",
        "changeme123",
        "administrator",
        "admin12345",
        "adminadmin",
        "abcdefghij",
        "abc1234567",
        "aaaaaaaaaa",
        "1111111111",
        "0000000000",
        "1234qwerty",
        "qazwsxedc123",
        "correcthorsebatterystaple",
        "downbeat123",
        "musician123",
        "guitar1234",
    }
)


def password_problems(password: str, email: str = "") -> list[str]:
    """Every reason the password is refused (empty list: acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"must be at most {MAX_PASSWORD_LENGTH} characters long")
    folded = password.strip().casefold()
    if email and folded in {email.casefold(), email.split("@", 1)[0].casefold()}:
        problems.append("must not be your email address")
    if folded in COMMON_PASSWORDS or (folded and len(set(folded)) == 1):
        problems.append("is too common; choose a longer or less predictable passphrase")
    return problems


# --- one spelling per email address -----------------------------------------------------
# "Ana@Example.COM " and "ana@example.com" are one account.


class InvalidEmail(ValueError):
    pass


def normalise_email(raw: str) -> str:
    """Trimmed, Unicode-normalised (NFC), IDNA domain, and case-folded as a whole.

    RFC 5321 lets the local part be case-sensitive, but no mail provider in use treats it so,
    and two accounts differing only in case are a support and phishing hazard.
    """
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized.lower()


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
