"""Contract tests for the HTTP calls between processes: the stream worker's analysis report to
the control plane, and the control plane's WebRTC offer to the media process. Both sides use
the one definition in contracts, and it is strict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.files import ANALYSIS_PURPOSE, AnalysisAnswer, AnalysisReport, AnalysisResult
from contracts.live import MAX_SDP_BYTES, MediaAnswer, MediaOffer
from downbeat.signing import HEADER, verify
from tests.conftest import make_settings

RESULT = AnalysisResult(
    bpm=120.0,
    key="A minor",
    meter=4,
    loudness_lufs=-14.2,
    beats=[0.5, 1.0, 1.5],
    downbeats=[0.5],
    waveform=[0.1, 1.0],
    energy=[0.2, 0.3],
    energy_hz=10.0,
    duration_s=12.0,
)
REPORTS = [
    AnalysisReport(status="running", progress=0.05, event_id="e1"),
    AnalysisReport(status="done", progress=1.0, event_id="e1", result=RESULT),
    AnalysisReport(status="failed", event_id="e1", error="ValueError: no audio in the file"),
]


@pytest.mark.parametrize("report", REPORTS, ids=lambda r: r.status)
def test_analysis_reports_round_trip_through_their_signed_bytes(report: AnalysisReport) -> None:
    assert AnalysisReport.model_validate_json(report.to_bytes()) == report


@pytest.mark.parametrize(
    "bad",
    [
        {"status": "finished"},
        {"status": "running", "progress": 1.5},
        {"status": "running", "progress": "0.5"},  # no coercion
        {"status": "running", "extra": 1},
        {"status": "done", "result": {"bpm": 120.0, "tempo": 120.0}},  # unknown result field
        {"status": "done", "result": {"beats": [0.5, "1.0"]}},
        {"status": "done", "result": {"beats": [True]}},
        {"status": "done", "result": {"meter": 0}},
    ],
)
def test_analysis_reports_are_strict(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        AnalysisReport.model_validate_json(json.dumps(bad))


def test_a_partial_result_reads_with_empty_defaults() -> None:
    report = AnalysisReport.model_validate_json(json.dumps({"status": "done", "result": {"bpm": 90.0}}))
    assert report.result is not None and report.result.beats == [] and report.result.key is None


def test_the_worker_and_the_control_plane_share_the_purpose_and_the_report() -> None:
    import control_plane.rooms.api.tracks as control_plane_side
    import stream_workers.tracks as worker_side

    for side in (control_plane_side, worker_side):
        assert side.ANALYSIS_PURPOSE is ANALYSIS_PURPOSE  # type: ignore[attr-defined]
        assert side.AnalysisReport is AnalysisReport  # type: ignore[attr-defined]
        assert side.AnalysisAnswer is AnalysisAnswer  # type: ignore[attr-defined]
    assert not hasattr(control_plane_side, "_clean_result")


def test_the_worker_sends_a_signed_report_the_control_plane_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stream_workers import tracks

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    sent: list[tuple[str, bytes, dict[str, str]]] = []

    class Answer:
        status_code = 200
        content = AnalysisAnswer(proceed=True, status="done").model_dump_json().encode()

        def raise_for_status(self) -> None:
            pass

    def post(url: str, data: bytes, headers: dict[str, str], timeout: float) -> Answer:
        sent.append((url, data, headers))
        return Answer()

    monkeypatch.setattr(tracks.requests, "post", post)
    assert tracks.AnalysisReporter(settings).report(7, REPORTS[1]) is True
    url, raw, headers = sent[0]
    assert url.endswith("/internal/tracks/7/analysis")
    verify(settings.secret_key, ANALYSIS_PURPOSE, raw, headers[HEADER])  # raises when it does not match
    assert AnalysisReport.model_validate(json.loads(raw)) == REPORTS[1]  # as the control plane parses it


def test_media_offers_and_answers_are_strict_and_round_trip() -> None:
    offer = MediaOffer(sdp="v=0\r\nm=audio 9 x\r\n", type="offer", room_code="ABCDEF", stream_id="0123abcd", user_id=1)
    assert MediaOffer.model_validate_json(offer.model_dump_json()) == offer
    answer = MediaAnswer(sdp="v=0\r\n", type="answer", stream_id="0123abcd")
    assert MediaAnswer.model_validate_json(answer.model_dump_json()) == answer
    good = offer.model_dump()
    for bad in (
        {**good, "type": "answer"},
        {**good, "room_code": "abcdef"},
        {**good, "stream_id": "NOT-HEX!"},
        {**good, "user_id": "1"},
        {**good, "sdp": "x" * (MAX_SDP_BYTES + 1)},
        {**good, "extra": True},
    ):
        with pytest.raises(ValidationError):
            MediaOffer.model_validate_json(json.dumps(bad))


def test_the_media_process_names_the_field_an_offer_got_wrong() -> None:
    from media.server import _offer_problem

    def code(body: object) -> tuple[int, str]:
        raw = body if isinstance(body, str) else json.dumps(body)
        try:
            MediaOffer.model_validate_json(raw)
        except ValidationError as exc:
            response = _offer_problem(exc)
            return response.status, json.loads(response.text or "{}")["code"]
        raise AssertionError("accepted")

    good = {"sdp": "v=0\r\nm=audio 9 x\r\n", "type": "offer", "room_code": "ABCDEF", "stream_id": "0123abcd"}
    assert code("not json") == (400, "invalid-json")
    assert code([1]) == (400, "invalid-json")
    assert code({**good, "type": "answer"}) == (422, "invalid-offer")
    assert code({**good, "room_code": "nope"}) == (422, "invalid-room")
    assert code({**good, "stream_id": "zz"}) == (422, "invalid-stream")
    assert code({**good, "user_id": "me"}) == (422, "invalid-user")
