"""Project files in real browsers: a musician (on a phone-sized screen) uploads a take and a
second version through the Files pages, the producer comments at 0:42 of the audio and on
page 2 of a PDF chart, the musician's open pages show both comments without reloading, the
musician resolves one and the producer sees it resolved; a stranger gets the 404 page."""

from __future__ import annotations

import io
import re
import wave
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.browser import Visitor
from tests.support.people import register_person
from tests.support.stack import Stack, http_json

pytestmark = pytest.mark.e2e

ALL_WEEK = [{"weekday": day, "start": "00:00", "end": "24:00"} for day in range(7)]
PHONE = {"width": 390, "height": 844}
TAKE_SECONDS = 48
WAIT_MS = 30_000  # what a live change may take to reach the other browser on a slow machine


def _api(stack: Stack, method: str, path: str, person: dict[str, Any], body: Any = None) -> Any:
    status, answer = http_json(method, f"{stack.base}{path}", body, token=person["access_token"])
    assert status < 300, (method, path, status, answer)
    return answer


def take_wav(seconds: int = TAKE_SECONDS, rate: int = 8000, every_s: float = 0.5, level: float = 0.5) -> bytes:
    """Clicks (short decaying 1 kHz bursts) every ``every_s``: mono, 16-bit, 8 kHz."""
    samples = np.zeros(seconds * rate, dtype=np.float64)
    burst = np.sin(2 * np.pi * 1000 * np.arange(400) / rate) * np.exp(-np.arange(400) / 60)
    for start in range(0, len(samples) - len(burst), int(every_s * rate)):
        samples[start : start + len(burst)] += burst
    pcm = (np.clip(samples * level, -1, 1) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return out.getvalue()


def chart_pdf(pages: int = 2) -> bytes:
    """A hand-written PDF: A4 pages of empty staves (lines only, no fonts), page n has n marks."""
    contents = []
    for number in range(1, pages + 1):
        ops = ["0 0 0 RG 0.8 w"]
        for staff in range(8):
            top = 760 - staff * 90
            ops += [f"50 {top - line * 8} m 545 {top - line * 8} l S" for line in range(5)]
        ops += [f"0 0 0 rg {50 + i * 20} 800 12 12 re f" for i in range(number)]
        contents.append("\n".join(ops).encode())
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    for i, content in enumerate(contents):
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {4 + 2 * i} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for index, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % index + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _watch(page: Page, visitor: Visitor) -> Page:
    """A second tab of a visitor: its page errors and CSP violations fail the test too."""
    page.on("pageerror", lambda exc: visitor.problems.append(f"page error: {exc}"))
    page.on("console", visitor._console)
    return page


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page scrolls sideways on a phone: {width}"


def _live(page: Page) -> None:
    expect(page.locator("#files-live")).to_have_attribute("data-status", "live", timeout=WAIT_MS)


def _comment(page: Page, text: str) -> Any:
    return page.locator("#comment-list > .comment", has_text=text)


@pytest.fixture
def crew(stack: Stack) -> dict[str, Any]:
    producer = register_person(stack.base, ["producer"], "Paula Producer")
    musician = register_person(stack.base, ["musician"], "Dana Drummer")
    stranger = register_person(stack.base, ["producer", "musician"], "Sam Stranger")
    _api(stack, "PUT", "/api/musicians/me", musician, {"instruments": ["Drums"]})
    _api(stack, "PUT", "/api/musicians/me/availability", musician, {"timezone": "UTC", "weekly": ALL_WEEK})
    project = _api(
        stack,
        "POST",
        "/api/projects",
        producer,
        {"title": "Night Drive EP", "starts_at": "2031-06-02T10:00:00+00:00", "ends_at": "2031-06-02T18:00:00+00:00"},
    )
    request = _api(
        stack,
        "POST",
        f"/api/projects/{project['id']}/requests",
        producer,
        {
            "musician_id": musician["user"]["id"],
            "instrument": "Drums",
            "starts_at": "2031-06-02T10:00:00+00:00",
            "ends_at": "2031-06-02T14:00:00+00:00",
            "offer": {"amount": 25000, "currency": "EUR"},
        },
    )
    _api(stack, "POST", f"/api/requests/{request['id']}/accept", musician)
    return {"producer": producer, "musician": musician, "stranger": stranger, "project": project, "request": request}


def test_takes_charts_and_comments_between_two_browsers(stack: Stack, chromium: Browser, crew: dict[str, Any]) -> None:
    project_id = crew["project"]["id"]
    musician = Visitor(chromium, stack.base, viewport=PHONE)
    producer = Visitor(chromium, stack.base)
    stranger = Visitor(chromium, stack.base)
    try:
        # --- the musician finds the project's files from the request inbox ------------------
        m_audio = musician.login(crew["musician"])
        card = m_audio.locator("#inbox .request-card", has_text="Night Drive EP")
        card.locator("a.request-files").click()
        m_audio.wait_for_url(f"**/projects/{project_id}/files")
        _live(m_audio)

        # The first chunk's connection drops: the page asks the offset (HEAD) and goes on.
        dropped: list[str] = []
        heads: list[str] = []

        def drop_first_chunk(route: Any) -> None:
            if route.request.method == "PATCH" and not dropped:
                dropped.append(route.request.url)
                route.abort("connectionreset")
                return
            if route.request.method == "HEAD":
                heads.append(route.request.url)
            route.continue_()

        m_audio.route("**/api/uploads/*", drop_first_chunk)
        m_audio.set_input_files(
            "#upload-input", files=[FilePayload(name="take.wav", mimeType="audio/wav", buffer=take_wav())]
        )
        m_audio.fill("#upload-note", "First take, click at 120")
        m_audio.click("#upload-submit")
        take_row = m_audio.locator("#file-list .file-row", has_text="take.wav")
        expect(take_row).to_have_count(1, timeout=WAIT_MS)
        expect(take_row).to_contain_text("v1")
        m_audio.unroute("**/api/uploads/*")
        assert dropped and heads, (dropped, heads)
        _no_sideways_scroll(m_audio)

        # --- v2 over v1, through the file's page ------------------------------------------
        take_row.locator("a.file-name").click()
        m_audio.wait_for_url(re.compile(r"/files/\d+$"))
        audio_id = int(m_audio.url.rsplit("/", 1)[1])
        _live(m_audio)
        m_audio.set_input_files(
            "#version-file", files=[FilePayload(name="take-v2.wav", mimeType="audio/wav", buffer=take_wav(level=0.8))]
        )
        m_audio.fill("#version-note", "Tighter fills in the bridge")
        m_audio.click("#version-form button[type=submit]")
        expect(m_audio.locator("#version-list .version-item")).to_have_count(2, timeout=WAIT_MS)
        expect(m_audio.locator("#viewer-version")).to_have_text("2")
        expect(m_audio.locator("#version-list")).to_contain_text("Tighter fills in the bridge")
        expect(m_audio.locator("#comment-list")).to_contain_text("No comments on v2 yet")
        _no_sideways_scroll(m_audio)

        # The musician also keeps the project's list open in a second tab.
        m_list = _watch(musician.context.new_page(), musician)
        m_list.goto(f"/projects/{project_id}/files")
        _live(m_list)
        expect(m_list.locator("#file-list .file-row")).to_have_count(1)

        # --- the producer uploads a chart from the project's Files tab ------------------------
        p_audio = producer.login(crew["producer"])
        p_audio.goto(f"/projects/{project_id}")
        p_audio.click("#files-tab")
        p_audio.wait_for_url(f"**/projects/{project_id}/files")
        _live(p_audio)
        p_audio.set_input_files(
            "#upload-input", files=[FilePayload(name="chart.pdf", mimeType="application/pdf", buffer=chart_pdf())]
        )
        p_audio.click("#upload-submit")
        expect(p_audio.locator("#file-list .file-row", has_text="chart.pdf")).to_have_count(1, timeout=WAIT_MS)

        # The musician's list shows it without reloading; the musician opens it.
        chart_row = m_list.locator("#file-list .file-row", has_text="chart.pdf")
        expect(chart_row).to_have_count(1, timeout=WAIT_MS)
        chart_row.locator("a.file-name").click()
        m_list.wait_for_url(re.compile(r"/files/\d+$"))
        m_chart = m_list
        chart_id = int(m_chart.url.rsplit("/", 1)[1])
        _live(m_chart)
        expect(m_chart.locator(".pdf-page")).to_have_count(2, timeout=WAIT_MS)

        # --- the producer comments at 0:42 of the take, mentioning the musician --------------
        p_audio.goto(f"/files/{audio_id}")
        _live(p_audio)
        expect(p_audio.locator("#viewer-version")).to_have_text("2")
        p_audio.fill("#pin-at", "0:42")
        body = p_audio.locator("#comment-body")
        body.fill("Tighten the fill here ")
        body.press_sequentially("@Da")
        expect(p_audio.locator("#mention-list [role=option]", has_text="Dana Drummer")).to_be_visible()
        body.press("Enter")
        expect(body).to_have_value("Tighten the fill here @Dana Drummer ")
        body.press_sequentially("please")
        p_audio.click("#comment-submit")
        p_comment = _comment(p_audio, "Tighten the fill here")
        expect(p_comment.locator(".pin-link")).to_have_text("0:42", timeout=WAIT_MS)
        expect(p_comment.locator(".mention")).to_have_text("@Dana Drummer")
        expect(p_audio.locator("#comment-body")).to_have_value("")

        # The musician's take page, open all along, shows it, with a marker on the waveform.
        m_comment = _comment(m_audio, "Tighten the fill here")
        expect(m_comment.locator(".pin-link")).to_have_text("0:42", timeout=WAIT_MS)
        marker = m_audio.locator("#wave-markers .wave-marker")
        expect(marker).to_have_count(1, timeout=WAIT_MS)
        left = float(marker.evaluate("el => parseFloat(el.style.left)"))
        assert abs(left - 100 * 42 / TAKE_SECONDS) < 1.0, left
        marker.click()  # seeks there
        expect(m_audio.locator("#time-now")).to_have_text("0:42")

        # --- the producer pins a comment on page 2 of the chart ------------------------------
        p_chart = _watch(producer.context.new_page(), producer)
        p_chart.goto(f"/files/{chart_id}")
        _live(p_chart)
        page_two = p_chart.locator('.pdf-page[data-page="2"]')
        page_two.scroll_into_view_if_needed()
        expect(page_two).to_have_attribute("data-rendered", "true", timeout=WAIT_MS)
        box = page_two.bounding_box()
        assert box is not None
        page_two.click(position={"x": box["width"] * 0.5, "y": box["height"] * 0.25})
        expect(p_chart.locator("#pin-point-label")).to_contain_text("page 2")
        p_chart.fill("#comment-body", "Bar 12: take the repeat")
        p_chart.click("#comment-submit")
        expect(_comment(p_chart, "Bar 12").locator(".pin-link")).to_have_text("p. 2", timeout=WAIT_MS)
        expect(page_two.locator(".pdf-pin")).to_have_count(1)

        # The musician's chart page shows it too, pinned on page 2, without reloading.
        expect(_comment(m_chart, "Bar 12").locator(".pin-link")).to_have_text("p. 2", timeout=WAIT_MS)
        expect(m_chart.locator('.pdf-page[data-page="2"] .pdf-pin')).to_have_count(1)
        expect(m_chart.locator('.pdf-page[data-page="1"] .pdf-pin')).to_have_count(0)
        _no_sideways_scroll(m_chart)

        # --- the musician resolves the take's comment; the producer sees it resolved ----------
        m_comment.locator("button[data-act=resolve]").click()
        expect(m_comment).to_have_attribute("data-resolved", "true", timeout=WAIT_MS)
        expect(p_comment).to_have_attribute("data-resolved", "true", timeout=WAIT_MS)
        expect(p_comment.locator(".comment-resolved")).to_have_text("resolved by Dana Drummer")
        expect(p_comment.locator("button[data-act=reopen]")).to_be_visible()

        # --- a stranger sees neither the project's files nor a file -------------------------
        stranger.login(crew["stranger"])
        for path in (f"/projects/{project_id}/files", f"/files/{audio_id}", f"/files/{chart_id}"):
            answer = stranger.page.goto(path)
            assert answer is not None and answer.status == 404, path
            expect(stranger.page.locator(".error-page[data-status='404']")).to_be_visible()
    finally:
        problems = [problem for visitor in (musician, producer, stranger) for problem in visitor.problems]
        for visitor in (musician, producer, stranger):
            visitor.context.close()
    assert not problems, problems

    comments = _api(stack, "GET", f"/api/files/{audio_id}/comments", crew["producer"])["items"]
    assert [(c["version"], c["at_ms"], c["resolved"]) for c in comments] == [(2, 42_000, True)]
    pinned = _api(stack, "GET", f"/api/files/{chart_id}/comments", crew["musician"])["items"]
    assert [(c["page"], round(c["x"], 1), c["resolved"]) for c in pinned] == [(2, 0.5, False)]
