"""Password policy and hashing (argon2id).

The policy follows NIST SP 800-63B: a minimum length, no composition rules, and a refusal of
passwords that are known to be common or that repeat the account's own email. Pure functions:
the API turns the messages into a 422 ``errors`` entry.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

__all__ = [
    "HASHING_KEY",
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "PasswordHashing",
    "hash_password",
    "needs_rehash",
    "password_problems",
    "verify_password",
]

MIN_PASSWORD_LENGTH = 10
HASHING_KEY = "downbeat.password_hashing"
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


class PasswordHashing:
    """argon2id with one cost profile, plus a dummy hash of the same cost so that checking a
    login for an unknown email takes as long as checking a wrong password."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._dummy = self._hasher.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash used other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return False


_DEFAULT: PasswordHashing | None = None


def _hashing() -> PasswordHashing:
    """The app's profile (settings ``auth.argon2_*``); the library default outside an app."""
    global _DEFAULT
    if has_app_context():
        hashing = current_app.extensions.get(HASHING_KEY)
        if isinstance(hashing, PasswordHashing):
            return hashing
    if _DEFAULT is None:
        _DEFAULT = PasswordHashing()
    return _DEFAULT


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


def hash_password(password: str) -> str:
    return _hashing().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-effort check: an absent account still costs one argon2 verification."""
    return _hashing().verify(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hashing().needs_rehash(password_hash)
