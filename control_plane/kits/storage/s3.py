"""The S3 adapter: objects in one bucket of any S3-compatible store, through boto3.

boto3 is imported only when an adapter is built (it costs most of a second), so importing
the storage kit stays cheap for processes and tests that use the folder adapter.

Keys and ranges follow the folder adapter's rules (``check_key``, ``check_range``): an
``end`` past the object is clipped to its last byte, a ``start`` past it is a ValueError.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from control_plane.kits.storage.folder import check_disposition, check_key, check_range
from control_plane.kits.storage.port import CHUNK_BYTES, MissingObject
from downbeat.settings import StorageSettings

__all__ = ["DEFAULT_MULTIPART_BYTES", "S3Storage", "content_disposition"]

# Parts of a multipart upload (and the size from which one is used). 16 MiB parts keep a 2 GiB
# take at 128 parts, far below S3's 10,000, with a few parts in memory at a time.
DEFAULT_MULTIPART_BYTES = 16 * 1024 * 1024
UPLOAD_THREADS = 4  # modest: uploads share the control plane's host with requests being served
MAX_SIGNED_SECONDS = 7 * 24 * 3600  # SigV4 presigned URLs cannot live longer

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_NO_BUCKET_CODES = frozenset({"NoSuchBucket", "404", "NotFound"})


def _error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def content_disposition(disposition: str, filename: str) -> str:
    """A Content-Disposition value naming ``filename`` safely (RFC 6266 and RFC 8187).

    ``filename`` is what a person typed, so path separators and control characters become
    ``_``; the quoted ``filename`` is a plain-ASCII fallback (no quotes, backslashes or ``%``,
    which some browsers would decode), and ``filename*`` carries the exact UTF-8 name when the
    fallback differs from it.
    """
    check_disposition(disposition)
    name = "".join(
        "_" if char in "/\\" or unicodedata.category(char).startswith("C") else char for char in filename
    ).strip()
    name = name or "download"
    fallback = "".join(char if " " <= char <= "~" and char not in '"\\%' else "_" for char in name)
    value = f'{disposition}; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return value


class S3Storage:
    """Objects in ``bucket`` through a boto3 S3 ``client`` (thread-safe: one per process).

    ``signed_url_seconds`` 0 means downloads go through the control plane: ``signed_url``
    answers None.
    """

    name = "s3"

    def __init__(
        self,
        client: Any,  # a boto3 S3 client (boto3 ships no type hints)
        bucket: str,
        *,
        signed_url_seconds: int,
        multipart_bytes: int = DEFAULT_MULTIPART_BYTES,
    ) -> None:
        from boto3.s3.transfer import TransferConfig

        self.client = client
        self.bucket = bucket
        self.signed_url_seconds = signed_url_seconds
        self._transfer = TransferConfig(
            multipart_threshold=multipart_bytes,
            multipart_chunksize=multipart_bytes,
            max_concurrency=UPLOAD_THREADS,
            use_threads=True,
            # The CRT client, picked on some hosts when awscrt is installed, ignores parts of
            # this config; the classic one behaves the same everywhere.
            preferred_transfer_client="classic",
        )

    @classmethod
    def from_settings(cls, storage: StorageSettings, *, multipart_bytes: int = DEFAULT_MULTIPART_BYTES) -> S3Storage:
        """An adapter for ``[storage]``; with ``s3_create_bucket`` it makes the bucket when missing
        (a request to the store, so only dev and tests set it)."""
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            # Path style (``endpoint/bucket/key``) works with every S3-compatible store and
            # with bucket names that are not valid host names.
            s3={"addressing_style": "path"},
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=32,  # upload threads plus requests streaming at once
            # boto3 >= 1.36 adds CRC checksums to every upload and checks them on downloads;
            # several S3-compatible stores refuse or mangle those. The control plane keeps
            # its own SHA-256 of every version, so checksums are sent only where S3 requires.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A session of its own: boto3's default session is not safe to share across threads.
        session = boto3.session.Session()
        client = session.client(
            "s3",
            endpoint_url=storage.s3_endpoint_url or None,
            region_name=storage.s3_region or None,
            # Empty keys: boto3's own chain (environment, shared config, instance role).
            aws_access_key_id=storage.s3_access_key_id or None,
            aws_secret_access_key=storage.s3_secret_access_key or None,
            config=config,
        )
        adapter = cls(
            client, storage.s3_bucket, signed_url_seconds=storage.signed_url_seconds, multipart_bytes=multipart_bytes
        )
        if storage.s3_create_bucket:
            adapter.ensure_bucket(storage.s3_region)
        return adapter

    def ensure_bucket(self, region: str = "us-east-1") -> None:
        """Create the bucket unless it exists; safe when several processes start at once."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as error:
            if _error_code(error) not in _NO_BUCKET_CODES:
                raise
        arguments: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 refuses an explicit location
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**arguments)
        except ClientError as error:
            code = _error_code(error)
            if code == "BucketAlreadyOwnedByYou":  # another process made it first
                return
            if code == "BucketAlreadyExists":
                # Some stores say this for one's own bucket too: it is ours if we can reach it.
                self.client.head_bucket(Bucket=self.bucket)
                return
            raise

    def put_file(self, key: str, source: Path, *, content_type: str) -> None:
        """Upload ``source`` (multipart past ``multipart_bytes``, read from disk part by part),
        then remove it. On failure no object is stored (S3 shows an object only once its
        upload completes), what was stored stays, and ``source`` is left for the caller."""
        check_key(key)
        self.client.upload_file(
            str(source),
            self.bucket,
            key,
            ExtraArgs={"ContentType": content_type},
            Config=self._transfer,
        )
        Path(source).unlink(missing_ok=True)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start``..``end`` inclusive in chunks of at most CHUNK_BYTES. The GET
        is sent by this call, so a missing object raises MissingObject here."""
        check_key(key)
        check_range(start, end)
        chunks = self._chunks(key, start, end)
        # Run the generator to its first ``yield`` (a b"" marker after the GET): errors surface
        # now, and because it has started, closing it (or dropping it) always closes the body.
        next(chunks)
        return chunks

    def _chunks(self, key: str, start: int, end: int | None) -> Generator[bytes, None, None]:
        from botocore.exceptions import ClientError

        arguments: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if start or end is not None:  # a whole read sends no Range, so empty objects read too
            arguments["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = self.client.get_object(**arguments)
        except ClientError as error:
            code = _error_code(error)
            if code in _MISSING_CODES:
                raise MissingObject(key) from error
            if code == "InvalidRange":
                raise ValueError(f"range start {start} is past the end of {key!r}") from error
            raise
        body = response["Body"]
        try:
            yield b""
            for chunk in body.iter_chunks(CHUNK_BYTES):
                if chunk:
                    yield chunk
        finally:
            body.close()

    def size(self, key: str) -> int:
        from botocore.exceptions import ClientError

        check_key(key)
        try:
            response = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _error_code(error) in _MISSING_CODES:
                raise MissingObject(key) from error
            raise
        return int(response["ContentLength"])

    def delete(self, key: str) -> None:
        # S3 answers 204 for a key that is not there, so retried deletes need nothing more.
        check_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_s: int, disposition: str = "attachment"
    ) -> str | None:
        """A presigned GET valid ``expires_s`` seconds, answering with ``content_type`` and a
        Content-Disposition naming ``filename`` (``disposition``: attachment or inline). Only
        the host header is signed, so a browser may add Range. None when signing is off."""
        check_key(key)
        header = content_disposition(disposition, filename)
        if self.signed_url_seconds <= 0:
            return None
        if not 0 < expires_s <= MAX_SIGNED_SECONDS:
            raise ValueError(f"expires_s must be within 1..{MAX_SIGNED_SECONDS}, not {expires_s}")
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentType": content_type,
                "ResponseContentDisposition": header,
            },
            ExpiresIn=expires_s,
        )
        return url
