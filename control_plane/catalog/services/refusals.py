"""How the catalog says no: one exception the routes turn into a problem+json."""

from __future__ import annotations

__all__ = ["CatalogRefused"]


class CatalogRefused(Exception):
    """A catalog rule refused the command: ``status`` and ``code`` as the API answers them,
    ``errors`` naming the fields at fault when a field is (a 422)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        title: str | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail
        self.title, self.errors = title, errors
