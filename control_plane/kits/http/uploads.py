"""Multipart file parts streamed straight to where a route wants them.

werkzeug writes each file part of a multipart body to a temporary file of its own (in
memory up to 500 KB, then on disk) and the route copies it from there: every byte is
written twice and read once more. A route that sets :data:`FILE_STREAM_FACTORY` in the
request's environ before touching ``request.files`` gets each part written into the object
its factory returns instead (it must be writable, seekable and readable), so an upload is
written once, where it is checked."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any

from flask import Request

__all__ = ["FILE_STREAM_FACTORY", "FileStreamFactory", "UploadingRequest"]

FILE_STREAM_FACTORY = "downbeat.file_stream_factory"
FileStreamFactory = Callable[[str | None], IO[bytes]]


class UploadingRequest(Request):
    """Flask's request, with per-request file part streams (see the module's docstring)."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        factory: Any = self.environ.get(FILE_STREAM_FACTORY)
        if factory is not None:
            stream: IO[bytes] = factory(filename)
            return stream
        return super()._get_file_stream(total_content_length, content_type, filename, content_length)
