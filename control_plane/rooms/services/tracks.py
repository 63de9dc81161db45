"""Audio files: what a file is (by its bytes, never its name), its tags and length, where it
is stored, the Track rows a new file or link makes, and the Track shape every client sees
(../notes/room_protocol.md)."""

from __future__ import annotations

import logging
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filetype
import mutagen

from contracts.files import TrackContentType, TrackUploaded
from control_plane.kits.db.types import DB
from control_plane.kits.outbox.writer import add_event
from control_plane.rooms.models import Track
from control_plane.rooms.schemas import TrackUrl
from downbeat.settings import Settings

__all__ = [
    "EXTENSIONS",
    "SNIFF_BYTES",
    "URL_NOT_ANALYSED",
    "WAVEFORM_POINTS",
    "AudioInfo",
    "StoredAudio",
    "UnreadableAudio",
    "add_uploaded_track",
    "add_url_track",
    "probe_audio",
    "sniff_audio",
    "track_json",
    "tracks_dir",
]

log = logging.getLogger(__name__)

# filetype's names for the formats we accept, mapped to the canonical content types we serve.
_CANONICAL: dict[str, TrackContentType] = {
    "audio/mpeg": "audio/mpeg",
    "audio/ogg": "audio/ogg",
    "audio/x-wav": "audio/wav",
    "audio/wav": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/flac": "audio/flac",
}
EXTENSIONS = {"audio/mpeg": "mp3", "audio/ogg": "ogg", "audio/wav": "wav", "audio/flac": "flac"}
SNIFF_BYTES = 8192  # filetype needs 262; MP3 frame sync after a long ID3 tag needs a little more
WAVEFORM_POINTS = 400
URL_NOT_ANALYSED = "Direct URL tracks are not analysed: the server does not download them"


class UnreadableAudio(ValueError):
    """Looks like a supported format at the start, but no decoder can read it."""


@dataclass(frozen=True)
class AudioInfo:
    title: str
    artist: str
    duration_ms: float


@dataclass(frozen=True)
class StoredAudio:
    """An uploaded file, checked and moved to its place under :func:`tracks_dir`."""

    storage_key: str  # relative to the tracks folder
    content_type: TrackContentType  # canonical, from its bytes
    size_bytes: int
    sha256: str
    info: AudioInfo


def add_uploaded_track(session: DB, owner_id: int, stored: StoredAudio) -> Track:
    """The track of an uploaded file, waiting for its analysis. The ``TrackUploaded`` event is
    staged in the same transaction as the row, so the analysis is requested exactly when the
    track exists; the caller commits."""
    track = Track(
        owner_id=owner_id,
        source="upload",
        title=stored.info.title,
        artist=stored.info.artist,
        duration_ms=stored.info.duration_ms,
        content_type=stored.content_type,
        size_bytes=stored.size_bytes,
        sha256=stored.sha256,
        storage_key=stored.storage_key,
        analysis_status="pending",
    )
    session.add(track)
    session.flush()
    add_event(
        session,
        TrackUploaded(
            track_id=track.id,
            owner_id=owner_id,
            storage_key=stored.storage_key,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
        ),
    )
    return track


def add_url_track(session: DB, owner_id: int, link: TrackUrl) -> Track:
    """A track that is a direct link: never downloaded, so never analysed. The caller commits."""
    path = link.url.path or ""
    content_type = mimetypes.guess_type(path)[0] or "audio/mpeg"
    track = Track(
        owner_id=owner_id,
        source="url",
        title=link.title or (Path(path).stem or link.url.host or "Untitled")[:200],
        artist=link.artist,
        duration_ms=link.duration_ms,
        content_type=content_type[:64],
        url=str(link.url),
        analysis_status="failed",
        analysis_error=URL_NOT_ANALYSED,
    )
    session.add(track)
    return track


def tracks_dir(settings: Settings) -> Path:
    return settings.data_path / "tracks"


def sniff_audio(head: bytes) -> TrackContentType | None:
    """The canonical content type of an mp3, ogg, wav or flac file from its first bytes."""
    kind = filetype.guess(head[:SNIFF_BYTES])
    if kind is not None:
        return _CANONICAL.get(kind.mime)
    # An MP3 without an ID3 tag starts with a frame header (11 sync bits, MPEG version and layer).
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0:
        return "audio/mpeg"
    return None


def probe_audio(path: Path, fallback_title: str) -> AudioInfo:
    """Tags and length with mutagen; PyAV decodes the container when mutagen cannot."""
    title, artist, duration = fallback_title, "", None
    try:
        parsed = mutagen.File(str(path), easy=True)
        if parsed is not None:
            tags = parsed.tags or {}
            title = _first(tags, "title") or title
            artist = _first(tags, "artist") or ""
            length = getattr(parsed.info, "length", None)
            if length and length > 0:
                duration = float(length) * 1000.0
    except Exception:
        log.debug("mutagen could not read %s", path, exc_info=True)
    if duration is None:
        duration = _duration_with_pyav(path)
    if duration is None or duration <= 0 or not _first_frame_decodes(path):
        raise UnreadableAudio("no decoder could read this audio file")
    return AudioInfo(title=title[:200], artist=artist[:200], duration_ms=round(duration, 3))


def _first(tags: Any, name: str) -> str:
    try:
        value = tags.get(name)
    except Exception:
        return ""
    if isinstance(value, list) and value:
        return str(value[0]).strip()
    return str(value).strip() if value else ""


def _duration_with_pyav(path: Path) -> float | None:
    import av  # lazy: PyAV loads FFmpeg's libraries, which only a process taking uploads needs

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            if stream.duration is not None and stream.time_base is not None:
                return float(stream.duration * stream.time_base) * 1000.0
            if container.duration is not None:
                return container.duration / 1000.0  # microseconds
            # No header length (a raw stream): count decoded samples.
            samples = sum(frame.samples for frame in container.decode(stream))
            rate = stream.rate or stream.codec_context.sample_rate
            return samples / rate * 1000.0 if rate else None
    except (av.FFmpegError, OSError, ValueError):
        return None


def _first_frame_decodes(path: Path) -> bool:
    """Headers can lie; the analysis and every browser will have to decode the audio itself."""
    import av  # lazy, as above

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                return False
            for _frame in container.decode(container.streams.audio[0]):
                return True
    except (av.FFmpegError, OSError, ValueError):
        return False
    return False


def track_json(track: Track) -> dict[str, Any]:
    analysis = track.analysis or {}
    return {
        "id": track.id,
        "title": track.title,
        "artist": track.artist,
        "duration_ms": track.duration_ms,
        "url": track.url if track.source == "url" else f"/api/tracks/{track.id}/audio",
        "source": track.source,
        "content_type": track.content_type,
        "size_bytes": track.size_bytes,
        "owner_id": track.owner_id,
        "analysis": {
            "status": track.analysis_status,
            "progress": round(track.analysis_progress, 3),
            "bpm": analysis.get("bpm"),
            "key": analysis.get("key"),
            "meter": analysis.get("meter"),
            "loudness_lufs": analysis.get("loudness_lufs"),
            "beats": analysis.get("beats", []),
            "downbeats": analysis.get("downbeats", []),
            "waveform": analysis.get("waveform", []),
            "energy": analysis.get("energy", []),
            "energy_hz": analysis.get("energy_hz"),
            "error": track.analysis_error,
        },
    }
