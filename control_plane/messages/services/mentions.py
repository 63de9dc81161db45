"""``@name`` mentions: which members a message names."""

from __future__ import annotations

import re

__all__ = ["mentioned"]

# @ then a name as people write it: letters, digits, dots, dashes, apostrophes, and spaces
# between words ("@Ana Lima"); the longest member name that matches wins, and a first name
# alone names someone when no other member shares it.
_MENTION = re.compile(r"(?<![\w@])@([\w][\w.'\- ]{0,119})", re.UNICODE)


def _ends_word(text: str, length: int) -> bool:
    return len(text) == length or not text[length].isalnum()


def mentioned(body: str, members: dict[int, str], sender_id: int) -> list[int]:
    """The members (id → name) that ``body`` names, in order, never the sender."""
    names = {uid: name.casefold() for uid, name in members.items() if uid != sender_id and name.strip()}
    firsts: dict[str, list[int]] = {}
    for uid, name in names.items():
        firsts.setdefault(name.split()[0], []).append(uid)
    found: list[int] = []
    for match in _MENTION.finditer(body):
        text = match.group(1).casefold()
        best = max(
            ((len(name), uid) for uid, name in names.items() if text.startswith(name) and _ends_word(text, len(name))),
            default=None,
        )
        who: int | None = best[1] if best is not None else None
        if who is None:
            first = text.split()[0] if text.split() else ""
            first = re.split(r"[^\w'\-]", first)[0]
            owners = firsts.get(first, [])
            who = owners[0] if len(owners) == 1 else None
        if who is not None and who not in found:
            found.append(who)
    return found
