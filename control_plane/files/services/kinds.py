"""What a file is, from its first bytes (never its name): the kind the API reports, the
content type it is served with, and whether it may be shown inline in a browser.

``filetype`` knows the binary formats by their magic numbers; MusicXML (plain XML) and
compressed MusicXML (a zip whose first entry is its ``mimetype``) are recognised here, and
text that decodes as UTF-8 is a document. Anything else is ``other`` and is always served
as an attachment of type ``application/octet-stream``: a browser never renders what we did
not recognise (an HTML or SVG page uploaded as a "chart" would otherwise run in our origin).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype

from contracts.files import FileKind

__all__ = ["SNIFF_BYTES", "Sniffed", "sniff"]

SNIFF_BYTES = 8192  # an MP3 frame sync after a long ID3 tag, an XML prolog with comments

_AUDIO = {
    "audio/x-wav": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/mpeg": "audio/mpeg",
    "audio/ogg": "audio/ogg",
    "audio/mp4": "audio/mp4",
    "video/mp4": "audio/mp4",  # an .m4a often carries the generic MP4 brand
    "audio/x-aiff": "audio/aiff",
    "audio/aac": "audio/aac",
}
_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
_DOCUMENTS = {
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.oasis.opendocument.text",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.presentation",
    "application/rtf",
    "application/epub+zip",
}
_MUSICXML = re.compile(rb"<(score-partwise|score-timewise)[\s>]")
_MXL_MIMETYPE = b"mimetypeapplication/vnd.recordare.musicxml"


@dataclass(frozen=True)
class Sniffed:
    kind: FileKind
    content_type: str
    inline: bool  # a browser may show it in the page (audio, images, PDF)


def sniff(head: bytes) -> Sniffed:
    """The kind and content type of a file that starts with ``head`` (up to SNIFF_BYTES)."""
    if head.startswith(b"%PDF-"):
        return Sniffed("score", "application/pdf", inline=True)
    if head.startswith(b"PK\x03\x04") and _MXL_MIMETYPE in head[:200]:
        return Sniffed("score", "application/vnd.recordare.musicxml", inline=False)
    if _looks_like_xml(head) and _MUSICXML.search(head):
        return Sniffed("score", "application/vnd.recordare.musicxml+xml", inline=False)
    guess = filetype.guess_mime(head)
    if guess in _AUDIO:
        return Sniffed("audio", _AUDIO[guess], inline=True)
    if guess in _IMAGES:
        return Sniffed("image", guess, inline=True)
    if guess in _DOCUMENTS:
        return Sniffed("document", guess, inline=False)
    if guess is None and _is_text(head):
        return Sniffed("document", "text/plain; charset=utf-8", inline=False)
    return Sniffed("other", "application/octet-stream", inline=False)


def _looks_like_xml(head: bytes) -> bool:
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return start.startswith(b"<?xml") or start.startswith(b"<!DOCTYPE") or start.startswith(b"<score-")


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sniffed head may end inside a multi-byte character: only that may fail.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True
