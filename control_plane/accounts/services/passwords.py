"""Password hashing (argon2id) with one cost profile. The app binds its profile (settings
``auth.argon2_*``) under ``HASHING_KEY`` and its routes hand it to the use cases that hash or
verify (the seed takes it from the app too). The policy a new password must meet is input
checking and lives in ``accounts.schemas``."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["HASHING_KEY", "PasswordHashing"]

HASHING_KEY = "downbeat.password_hashing"


class PasswordHashing:
    """argon2id with one cost profile, plus a dummy hash of the same cost so that checking a
    login for an unknown email takes as long as checking a wrong password."""

    def __init__(self, time_cost: int = 3, memory_kib: int = 65536, parallelism: int = 4) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
        self._dummy = self._hasher.hash("not-a-real-password")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Constant effort: an absent account (``password_hash`` None) still costs one
        argon2 verification."""
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
