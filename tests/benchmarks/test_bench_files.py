"""Project files: a 1 GB file up and down through the API, beside a plain file copy on the
same disk in the same run, with the control plane's peak memory meanwhile (issue 16; goal:
under 100 MB above idle).

Run on demand: ``.venv/bin/pytest tests/benchmarks/test_bench_files.py -m benchmark -s``
(``BENCH_FILE_MB`` changes the size). The control plane is the real process ``downbeat
control-plane`` (gunicorn, folder storage under its data dir); the client streams from and to
disk with ``http.client``, so neither side needs the file in memory. Memory is the resident
set of the control plane's whole process tree, sampled every 20 ms from /proc.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from tests.benchmarks.report import report
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.benchmark

MB = 1024 * 1024
SIZE_MB = int(os.environ.get("BENCH_FILE_MB", "1024"))
BLOCK = 4 * MB
CHUNK = 64 * MB  # the resumable protocol's largest chunk (files.max_chunk_bytes)


def _rss_tree_kb(root: int) -> int:
    """Resident memory of ``root`` and all its descendants (kB), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class PeakMemory:
    def __init__(self, pid: int) -> None:
        self.pid, self.peak_kb, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _rss_tree_kb(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _make_file(path: Path, size_mb: int) -> str:
    digest = hashlib.sha256()
    block = os.urandom(BLOCK)
    with path.open("wb") as out:
        for i in range(size_mb * MB // BLOCK):
            piece = block[:-8] + i.to_bytes(8, "big")  # every block differs, cheaply
            digest.update(piece)
            out.write(piece)
    return digest.hexdigest()


class _Slice:
    """``length`` bytes of an open file from ``offset``, read in blocks (http.client streams it)."""

    def __init__(self, handle: IO[bytes], offset: int, length: int) -> None:
        handle.seek(offset)
        self._handle, self._left = handle, length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        want = self._left if size < 0 else min(size, self._left)
        data = self._handle.read(min(want, BLOCK))
        self._left -= len(data)
        return data


class _Multipart:
    """A multipart/form-data body around a file on disk, streamed."""

    BOUNDARY = "downbeat-bench-boundary"

    def __init__(self, path: Path) -> None:
        self._parts: Iterator[bytes] = self._generate(path)
        self._buffer = b""
        head = self._head(path.name)
        self.length = len(head) + path.stat().st_size + len(self._tail())

    def _head(self, name: str) -> bytes:
        return (
            f'--{self.BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()

    def _tail(self) -> bytes:
        return f"\r\n--{self.BOUNDARY}--\r\n".encode()

    def _generate(self, path: Path) -> Iterator[bytes]:
        yield self._head(path.name)
        with path.open("rb") as source:
            while block := source.read(BLOCK):
                yield block
        yield self._tail()

    def read(self, size: int = -1) -> bytes:
        # One whole piece at a time (a 4 MiB block at most): slicing a big buffer per small
        # read would make the client, not the server, the bottleneck.
        if not self._buffer:
            self._buffer = next(self._parts, b"")
        if size < 0 or size >= len(self._buffer):
            data, self._buffer = self._buffer, b""
            return data
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def _connection(stack: Stack) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", stack.ports["control-plane"], timeout=600, blocksize=BLOCK)


def _upload_multipart(stack: Stack, token: str, project_id: int, path: Path) -> dict[str, Any]:
    body = _Multipart(path)
    conn = _connection(stack)
    conn.request(
        "POST",
        f"/api/projects/{project_id}/files",
        body=body,  # type: ignore[arg-type]
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={_Multipart.BOUNDARY}",
            "Content-Length": str(body.length),
        },
    )
    answer = conn.getresponse()
    raw = answer.read()
    conn.close()
    assert answer.status == 201, raw[:500]
    return dict(json.loads(raw))


def _upload_resumable(stack: Stack, token: str, project_id: int, path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    status, started = http_json(
        "POST", f"{stack.base}/api/projects/{project_id}/uploads", {"name": "take-r.bin", "size": size}, token
    )
    assert status == 201, started
    offset, conn, result = 0, _connection(stack), None
    with path.open("rb") as source:
        while offset < size:
            length = min(CHUNK, size - offset)
            conn.request(
                "PATCH",
                f"/api/uploads/{started['id']}",
                body=_Slice(source, offset, length),  # type: ignore[arg-type]
                headers={
                    "Authorization": f"Bearer {token}",
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(length),
                },
            )
            answer = conn.getresponse()
            result = json.loads(answer.read())
            assert answer.status in (200, 201), result
            offset = int(result["offset"])
    conn.close()
    assert result is not None
    return dict(result["file"])


def _download(stack: Stack, token: str, file: dict[str, Any], target: Path) -> str:
    conn = _connection(stack)
    conn.request("GET", file["versions"][-1]["content_url"], headers={"Authorization": f"Bearer {token}"})
    answer = conn.getresponse()
    assert answer.status == 200, answer.read()[:500]
    digest = hashlib.sha256()
    with target.open("wb") as out:
        while block := answer.read(BLOCK):
            digest.update(block)
            out.write(block)
    conn.close()
    return digest.hexdigest()


def _timed(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def test_one_gigabyte_up_and_down(broker: str, redis_url: str, tmp_path: Path) -> None:
    stack = Stack(data_dir=tmp_path / "stack", bootstrap=broker, redis_url=redis_url)
    stack.data_dir.mkdir()
    stack.run("migrate")
    stack.start("control-plane", {"DOWNBEAT_LOG_LEVEL": "WARNING"})
    try:
        stack.wait_ready("control-plane")
        status, owner = http_json(
            "POST",
            f"{stack.base}/api/auth/register",
            {"email": "bench@example.com", "password": "correct horse battery", "name": "Bench", "roles": ["producer"]},
        )
        assert status == 201, owner
        token = owner["access_token"]
        status, project = http_json(
            "POST",
            f"{stack.base}/api/projects",
            {"title": "Bench", "starts_at": "2031-05-05T09:00:00+00:00", "ends_at": "2031-05-06T23:00:00+00:00"},
            token,
        )
        assert status == 201, project
        source = tmp_path / "take.bin"
        sha = _make_file(source, SIZE_MB)
        size = source.stat().st_size
        root = stack.processes["control-plane"].pid
        time.sleep(1.0)
        idle_kb = _rss_tree_kb(root)

        copy_s, _ = _timed(lambda: shutil.copyfile(source, tmp_path / "copy.bin"))
        (tmp_path / "copy.bin").unlink()
        rows: list[list[Any]] = [["plain file copy (same disk)", size / MB / copy_s, 1.0, "-", "-"]]
        for label, action in (
            ("upload, multipart POST", lambda: _upload_multipart(stack, token, project["id"], source)),
            ("upload, resumable PATCH 64 MiB", lambda: _upload_resumable(stack, token, project["id"], source)),
        ):
            with PeakMemory(root) as peak:
                seconds, file = _timed(action)
            assert file["versions"][-1]["sha256"] == sha
            rows.append([label, size / MB / seconds, copy_s / seconds, (peak.peak_kb - idle_kb) / 1024, "ok"])
            with PeakMemory(root) as peak:
                seconds, got = _timed(lambda f=file: _download(stack, token, f, tmp_path / "down.bin"))
            (tmp_path / "down.bin").unlink()
            assert got == sha
            rows.append(
                ["  download of it", size / MB / seconds, copy_s / seconds, (peak.peak_kb - idle_kb) / 1024, "ok"]
            )
        load = os.getloadavg()
        report(
            "files_1gb",
            ["operation", "MB/s", "vs copy", "peak MB over idle", "sha256"],
            rows,
            notes=(
                f"{SIZE_MB} MiB file; control plane idle RSS {idle_kb / 1024:.0f} MB (process tree); "
                f"{os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}. "
                "Goal: peak under 100 MB above idle."
            ),
        )
        for row in rows[1:]:
            assert row[3] < 100, row  # the goal for memory (MB above idle), not a time
    finally:
        stack.stop_all()
