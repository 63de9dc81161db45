"""Kits: what every area needs and that knows no area (import-linter checks it)."""

__all__: list[str] = []
