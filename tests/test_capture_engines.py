"""``<preflight-capture>`` in another browser engine than Chromium, a real browser from Debian's packages, not
downloaded, against a real ``preflight serve``: Firefox ESR, driven over WebDriver BiDi (puppeteer-core from
npm), with a test camera that shows a real face: a page-side ``getUserMedia`` stand-in
(``support/engines/fake_media.js``: the public-domain portrait on a canvas, a voice-like sound from
WebAudio), so guidance is tested on a face there too. And in Chromium (once, not per database), a
recorder that gives nothing, as WebKitGTK's did: the person is told in plain words. Chromium's other
tests are ``test_capture_browser.py``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MEDIA, REPO
from tests.support.browser import browser_path, screenshot_dir
from tests.support.serve_process import Server
from tests.test_capture_browser import AXE, TOKEN, Product, mint

FIREFOX = shutil.which("firefox-esr")
PUPPETEER = REPO / "node_modules" / "puppeteer-core"
FACE = MEDIA / "grace_hopper.jpg"


@pytest.fixture
def engine_stack(tmp_path: Path) -> Iterator[tuple[Server, Product]]:
    server = Server(tmp_path / "data", token=TOKEN, env={"PREFLIGHT_SERVE_SECRET": "engine-capture-secret"}).start()
    product = Product(server)
    try:
        yield server, product
    finally:
        server.stop()
        product.httpd.shutdown()


@pytest.mark.skipif(FIREFOX is None or not PUPPETEER.exists() or not AXE.exists() or shutil.which("node") is None,
                    reason="no firefox-esr (Debian's package) or no npm tools (npm ci): .ci/run installs both")
def test_firefox_is_guided_on_a_face_switches_language_and_records_a_checked_take(engine_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server, product = engine_stack
    session = mint(server, product.origin)
    shots = screenshot_dir(tmp_path)
    done = subprocess.run(["node", str(REPO / "tests" / "support" / "engines" / "firefox.mjs"),
                           f"{product.origin}/?token={session['token']}", str(FACE), str(AXE), str(shots)],
                          capture_output=True, text=True, timeout=420, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FIREFOX": FIREFOX or ""})
    assert done.returncode == 0 and done.stdout.strip(), done.stderr[-3000:]
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert "failure" not in out, out.get("failure")
    assert len(out["guidance"]["faces"]) == 1, out["guidance"]  # the face on the test camera, boxed
    assert out["german"] == "Aufnahme starten"  # the lang attribute switched the strings
    assert out["axe"] == {"setup": [], "take": [], "result": []}, out["axe"]
    # the take ends with its verdict; or, when Firefox's recorder gave nothing (it did in about one run in
    # five here, headless, its sound a WebAudio stand-in: the recorder waited for samples that never came),
    # the person is told so in plain words and nothing is sent to be checked
    if "error" in out["end"]:
        assert out["end"]["error"]["reason"] == "recorder" and "recorded nothing" in out["alert"], out
        return
    assert out["end"].get("verdict") in ("pass", "fail"), (out["end"], out.get("recorder"), out["console"])
    assert out["errors"] == []
    with server.client() as http:
        take = http.get(f"/v1/takes/{out['end']['take_id']}").json()
    assert take["bytes"] > 10_000 and take["status"] == "done" and take["recording"].endswith(".webm")



def test_a_recorder_that_gives_nothing_is_said_in_plain_words_and_nothing_is_sent(engine_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Chromium with MediaRecorder as WebKitGTK's behaved (it starts and stops and gives no data): the
    element says so, dispatches preflight-error with reason "recorder", and finishes no empty take."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_capture_browser import (
        SESSION_OF,
        SILENT_RECORDER,
        accessibility,
        from_axe,
        launch,
        record,
        wait_event,
        with_axe,
    )

    if browser_path() is None:
        pytest.skip("no Chromium (.ci/run installs Debian's chromium)")
    server, product = engine_stack
    session = mint(server, product.origin, speak_s=1, listen_s=1)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = with_axe(browser.new_page())
            page.add_init_script(SILENT_RECORDER)
            page.goto(f"{product.origin}/?token={session['token']}")
            record(page)
            error = wait_event(page, "preflight-error", 40)
            alert = page.get_by_role("alert").inner_text()
            assert error["reason"] == "recorder" and "recorded nothing" in alert and "chunks" not in alert
            accessibility(page, "a recorder that gave nothing")
            assert [e for e in page.evaluate("window.events") if e["type"] == "csp" and not from_axe(e["detail"])] == []
            session_id = page.evaluate(SESSION_OF)
        finally:
            browser.close()
    with server.client() as http:
        takes = http.get(f"/v1/capture-sessions/{session_id}").json()["takes"]
    assert [(t["bytes"], t["status"]) for t in takes] == [(0, "recording")]  # nothing was sent to be checked


ARABIC = {"title": "سجّل فيديو التدريب", "setup_title": "١. التحضير", "stage_title": "٢. التأطير",
          "take_title": "٣. التسجيل", "start": "ابدأ التسجيل", "stop": "إيقاف", "guidance_title": "إرشادات",
          "hint_good": "تأطير جيد: حافظ عليه"}


def test_a_right_to_left_page_lays_the_element_out_mirrored(engine_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A product page with dir="rtl" and its own Arabic strings: the element follows the page's direction
    (the preview on the right, the guidance on the left, list marks on the right of their lines)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from urllib.parse import urlencode

    from tests.test_capture_browser import accessibility, launch, until, wait_event, with_axe

    if browser_path() is None:
        pytest.skip("no Chromium (.ci/run installs Debian's chromium)")
    server, product = engine_stack
    session = mint(server, product.origin)
    query = urlencode({"token": session["token"], "lang": "ar", "dir": "rtl", "strings": json.dumps(ARABIC)})
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = with_axe(browser.new_page(viewport={"width": 1280, "height": 900}))
            page.goto(f"{product.origin}/?{query}")
            wait_event(page, "preflight-ready", 60)
            page.get_by_role("button", name=ARABIC["start"]).wait_for()
            until(page, "!!document.querySelector('preflight-capture').shadowRoot.querySelector('#hints li')", 30)
            layout = page.evaluate("""() => {
                const root = document.querySelector('preflight-capture').shadowRoot;
                const box = (id) => root.getElementById(id).getBoundingClientRect();
                const item = root.querySelector('#hints li');
                return {direction: getComputedStyle(root.getElementById('stage')).direction,
                        viewer: box('viewer').left, side: root.querySelector('.side').getBoundingClientRect().left,
                        start: getComputedStyle(item).paddingRight, end: getComputedStyle(item).paddingLeft};
            }""")
            accessibility(page, "a right-to-left page")
            page.screenshot(path=str(screenshot_dir(tmp_path) / "capture-rtl.png"), full_page=True)
        finally:
            browser.close()
    assert layout["direction"] == "rtl"
    assert layout["viewer"] > layout["side"], layout  # the preview on the right, the guidance beside it on the left
    assert (layout["start"], layout["end"]) == ("22px", "0px"), layout  # a hint's mark on the right of its line
