"""A safe Markdown subset for what people write to each other (messages).

markdown-it-py's ``zero`` preset with only emphasis, code (inline and fenced), links (written
``[text](url)``, ``<url>`` or bare), line breaks and backslash escapes. Raw HTML is never
passed through (``html=False`` escapes it), headings, lists, tables and images stay literal
text, and links only go to http(s) and mailto: markdown-it already refuses
``javascript:``/``data:``; we also refuse every other scheme, and every link opens in a new
tab without the page's referrer or a handle on ``window.opener``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

__all__ = ["render"]

_SCHEMES = ("http://", "https://", "mailto:")


def _safe_link(url: str) -> bool:
    return url.strip().lower().startswith(_SCHEMES)


def _build() -> MarkdownIt:
    md = MarkdownIt("zero", {"html": False, "linkify": True, "breaks": True, "typographer": False})
    md.enable(["emphasis", "backticks", "link", "fence", "newline", "escape", "autolink", "linkify"])
    md.validateLink = _safe_link  # type: ignore[method-assign]

    def link_open(renderer: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        token.attrSet("rel", "nofollow noopener noreferrer")
        token.attrSet("target", "_blank")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


_MD = _build()


def render(text: str) -> str:
    """HTML for ``text``: escaped, with the subset above applied. Empty for empty text."""
    if not text.strip():
        return ""
    return str(_MD.render(text)).strip()
