"""One spelling per email address, so that "Ana@Example.COM " and "ana@example.com" are one account."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

__all__ = ["InvalidEmail", "normalise_email"]


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
