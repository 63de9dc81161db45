"""What the rooms area accepts from clients: room codes (6 characters from an alphabet without
look-alikes: no 0/O, 1/I/L) and request bodies."""

from __future__ import annotations

import secrets

__all__ = ["ALPHABET", "CODE_LENGTH", "new_code", "normalise_code"]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str | None:
    """Upper-cases a typed code; returns None when it cannot be a room code."""
    code = raw.strip().upper()
    if len(code) != CODE_LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code
