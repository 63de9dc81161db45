"""The files API on the S3 adapter, against moto's S3 server: uploads land in the bucket,
downloads answer with a short-lived signed URL (which honours Range) or stream through the
control plane when signing is off, and deleting a file removes its objects."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import boto3
import pytest
import requests
from flask import Flask

from control_plane.files.jobs import JOBS
from control_plane.kits.extensions import db
from tests.conftest import make_settings
from tests.integration.api_helpers import bearer
from tests.integration.files.files_helpers import crew, upload, wav_bytes


def _s3_app(tmp_path: Path, database_url: str, endpoint: str, signed_seconds: int) -> Iterator[tuple[Flask, str]]:
    from control_plane.app import create_app
    from control_plane.kits.db.migrations import upgrade

    upgrade(database_url)
    bucket = f"files-{uuid.uuid4().hex[:12]}"
    settings = make_settings(tmp_path, database_url)
    settings = replace(
        settings,
        storage=replace(
            settings.storage,
            backend="s3",
            s3_endpoint_url=endpoint,
            s3_bucket=bucket,
            s3_access_key_id="test",
            s3_secret_access_key="test",
            s3_create_bucket=True,
            signed_url_seconds=signed_seconds,
        ),
    )
    flask_app = create_app(settings, TESTING=True)
    yield flask_app, bucket
    with flask_app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(params=[300, 0], ids=["signed-urls", "streamed"])
def s3_app(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, s3_endpoint: str
) -> Iterator[tuple[Flask, str]]:
    yield from _s3_app(tmp_path, database_url, s3_endpoint, int(request.param))


def _objects(endpoint: str, bucket: str) -> list[str]:
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    listed = client.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


def test_files_round_trip_through_s3(s3_app: tuple[Flask, str], s3_endpoint: str) -> None:
    app, bucket = s3_app
    client = app.test_client()
    c = crew(client)
    data = wav_bytes(2.0)
    answer = upload(client, c.member, c.project_id, data, "take.wav")
    assert answer.status_code == 201, answer.get_json()
    file = answer.get_json()
    assert file["versions"][0]["sha256"] == hashlib.sha256(data).hexdigest()
    assert len(_objects(s3_endpoint, bucket)) == 1
    assert not list((Path(app.extensions["downbeat.settings"].data_path) / "files-staging").glob("*"))

    content = client.get(file["versions"][0]["content_url"], headers={**bearer(c.owner), "Range": "bytes=4-11"})
    signing = app.extensions["downbeat.settings"].storage.signed_url_seconds > 0
    if signing:
        assert content.status_code == 302
        url = content.headers["Location"]
        assert url.startswith(s3_endpoint) and "X-Amz-Signature" in url
        fetched = requests.get(url, headers={"Range": "bytes=4-11"}, timeout=10)
        assert fetched.status_code == 206
        assert fetched.content == data[4:12]
        whole = requests.get(url, timeout=10)
        assert hashlib.sha256(whole.content).hexdigest() == file["versions"][0]["sha256"]
        assert whole.headers["Content-Type"] == "audio/wav"
    else:
        assert content.status_code == 206
        assert content.get_data() == data[4:12]
        assert content.headers["Content-Range"] == f"bytes 4-11/{len(data)}"

    assert client.delete(f"/api/files/{file['id']}", headers=bearer(c.member)).status_code == 204
    with app.app_context():
        settings = app.extensions["downbeat.settings"]
        assert JOBS["files.purge_deleted"](db.session, None, settings) == 1  # type: ignore[arg-type]
    assert _objects(s3_endpoint, bucket) == []
