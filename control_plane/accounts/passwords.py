"""Password policy and hashing (argon2id).

The policy follows NIST SP 800-63B: a minimum length, no composition rules, and a refusal of
passwords that are known to be common or that repeat the account's own email. Pure functions:
the API turns the messages into a 422 ``errors`` entry.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "hash_password",
    "needs_rehash",
    "password_problems",
    "verify_password",
]

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

_hasher = PasswordHasher()  # argon2id with the library's current recommended cost
# Verifying against a dummy hash keeps "unknown email" as slow as "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password")


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
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-effort check: an absent account still costs one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash used weaker parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return False
