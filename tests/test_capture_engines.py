"""``<preflight-capture>`` in another browser engine than Chromium, a real browser from Debian's packages, not
downloaded, against a real ``preflight serve``: Firefox ESR, driven over WebDriver BiDi (puppeteer-core from
npm), and WebKitGTK (Safari's engine family), MiniBrowser driven by WebKitWebDriver through Selenium on a
virtual screen; each with a test camera that shows a real face: a page-side ``getUserMedia`` stand-in
(``support/engines/fake_media.js``: the public-domain portrait on a canvas, a voice-like sound from
WebAudio), so guidance is tested on a face there too. And in Chromium (once, not per database), a
recorder that gives nothing, as WebKitGTK's did: the person is told in plain words. Chromium's other
tests are ``test_capture_browser.py``."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import MEDIA, REPO
from tests.support.browser import browser_path, screenshot_dir
from tests.support.engines import webkit
from tests.support.serve_process import Server
from tests.test_capture_browser import AXE, SESSION_OF, TOKEN, Product, mint

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
    assert out["axe"] == {"setup": [], "take": [], "result": [], "phone": []}, out["axe"]
    # the take ends with its verdict, its sound recorded (Firefox's own fake microphone: with a WebAudio
    # stand-in, its recorder gave nothing in about one run in five, waiting for samples that never came)
    assert out["end"].get("verdict") in ("pass", "fail"), (out["end"], out.get("recorder"), out["console"])
    outcomes = {f["rule"]: f["outcome"] for f in out["end"]["findings"]}
    assert outcomes["audio.present"] == outcomes["audio.loudness"] == "pass", outcomes
    assert out["errors"] == []
    with server.client() as http:
        take = http.get(f"/v1/takes/{out['end']['take_id']}").json()
    assert take["bytes"] > 10_000 and take["status"] == "done" and take["recording"].endswith(".webm")


STAND_IN = REPO / "tests" / "support" / "engines" / "fake_media.js"


def event(kind: str) -> str:
    """The last detail of the element's events of ``kind``, as a page expression."""
    return f"(window.events || []).filter((e) => e.type === '{kind}').map((e) => e.detail).slice(-1)[0]"


def webkit_until(driver: Any, expression: str, timeout_s: float) -> Any:
    """Poll ``expression`` in the page until it is truthy; on failure, say what the page showed."""
    deadline = time.monotonic() + timeout_s
    while not (value := driver.execute_script(f"return {expression}")):
        if time.monotonic() > deadline:
            seen = driver.execute_script("return [(window.events || []).map((e) => e.type), "
                                         "document.querySelector('preflight-capture')?.shadowRoot?.textContent]")
            raise AssertionError(f"not true within {timeout_s} s: {expression}; the page's events and text: {seen}")
        time.sleep(0.3)
    return value


def webkit_axe(driver: Any) -> list[dict[str, Any]]:
    if "axe" not in driver.execute_script("return Object.keys(window)"):
        driver.execute_script(AXE.read_text())  # evaluated by the driver: the page's CSP does not apply
    found: list[dict[str, Any]] = driver.execute_async_script("""const done = arguments[arguments.length - 1];
        axe.run(document.querySelector('preflight-capture'), {resultTypes: ['violations']}).then(
            (r) => done(r.violations.map((v) => ({id: v.id, impact: v.impact,
                                                  nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3)}))),
            (e) => done([{id: 'axe failed', impact: String(e)}]));""")
    return found


@pytest.mark.skipif(not webkit.available() or not AXE.exists(),
                    reason="no WebKitGTK (Debian's webkit2gtk-driver, xvfb), Selenium or npm tools: .ci/run installs them")
def test_webkit_is_guided_on_a_face_switches_language_and_says_when_its_recorder_gives_nothing(engine_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Safari's engine family: set-up, guidance on the face, the language switch and a take. WebKitGTK's
    MediaRecorder here gives MP4 (as Safari's) but no data; the person is then told so in plain words, with
    preflight-error reason "recorder", and nothing is sent to be checked. Where it does record, the take
    ends with its verdict."""
    server, product = engine_stack
    face = base64.b64encode(FACE.read_bytes()).decode()
    product = Product(server, stand_in=f"window.__FACE_URL = 'data:image/jpeg;base64,{face}';\n".encode()
                      + STAND_IN.read_bytes())
    session = mint(server, product.origin, speak_s=2, listen_s=2)
    shots = screenshot_dir(tmp_path)
    shadow = "document.querySelector('preflight-capture').shadowRoot"
    try:
        with webkit.webkit() as driver:
            driver.set_window_size(1280, 900)
            driver.get(f"{product.origin}/?token={session['token']}")
            webkit_until(driver, event("preflight-ready"), 60)
            guidance = webkit_until(driver, f"({event('preflight-guidance')})?.faces.length && {event('preflight-guidance')}", 60)
            assert len(guidance["faces"]) == 1, guidance  # the face on the test camera, boxed
            assert webkit_axe(driver) == []
            driver.save_screenshot(str(shots / "capture-webkit.png"))
            driver.set_window_size(390, 844)  # a phone's width
            phone = driver.execute_script("return innerWidth")
            assert webkit_axe(driver) == []
            driver.set_window_size(1280, 900)
            driver.execute_script("document.querySelector('preflight-capture').setAttribute('lang', 'de')")
            webkit_until(driver, f"{shadow}.getElementById('start').textContent === 'Aufnahme starten'", 20)
            driver.execute_script("document.querySelector('preflight-capture').setAttribute('lang', 'en')")
            webkit_until(driver, f"{shadow}.getElementById('start').textContent === 'Start recording'", 20)
            kind = driver.execute_script("return ['video/webm', 'video/mp4'].map((t) => MediaRecorder.isTypeSupported(t))")
            driver.find_element("css selector", "preflight-capture").shadow_root.find_element("css selector", "#start").click()
            webkit_until(driver, f"{shadow}.getElementById('prompter').hidden === false", 30)
            assert webkit_axe(driver) == []
            end = webkit_until(driver, f"({event('preflight-take')}) || ({event('preflight-error')}) && {{error: {event('preflight-error')}}}", 120)
            assert webkit_axe(driver) == []
            alert = driver.execute_script(f"const a = {shadow}.getElementById('alert'); a.scrollIntoView(); return a.hidden ? '' : a.textContent")
            driver.save_screenshot(str(shots / "capture-webkit-result.png"))
            csp = driver.execute_script("return (window.events || []).filter((e) => e.type === 'csp').map((e) => e.detail)")
            session_id = driver.execute_script(f"return {SESSION_OF}")
    finally:
        product.httpd.shutdown()
    assert kind == [False, True]  # as Safari: MP4, no WebM
    assert phone < 500, phone
    # what the page itself asked for and the CSP refused: only the browser's own favicon request
    assert [c for c in csp if not c["blocked"].endswith("/favicon.ico")] == [], csp
    with server.client() as http:
        takes = http.get(f"/v1/capture-sessions/{session_id}").json()["takes"]
    if "error" in end:  # this WebKitGTK's recorder gives no data
        assert end["error"]["reason"] == "recorder" and "recorded nothing" in alert and "chunks" not in alert, (end, alert)
        assert [(t["bytes"], t["status"]) for t in takes] == [(0, "recording")]  # nothing was sent to be checked
    else:
        assert end.get("verdict") in ("pass", "fail"), end
        assert takes[-1]["recording"].endswith(".mp4") and takes[-1]["status"] == "done"


def test_a_recorder_that_gives_nothing_is_said_in_plain_words_and_nothing_is_sent(engine_stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Chromium with MediaRecorder as WebKitGTK's behaved (it starts and stops and gives no data): the
    element says so, dispatches preflight-error with reason "recorder", and finishes no empty take. The
    take is started and stopped with the keyboard (Enter, Tab, Space)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.test_capture_browser import (
        SESSION_OF,
        SILENT_RECORDER,
        accessibility,
        from_axe,
        launch,
        until,
        wait_event,
        with_axe,
    )

    if browser_path() is None:
        pytest.skip("no Chromium (.ci/run installs Debian's chromium)")
    server, product = engine_stack
    session = mint(server, product.origin, speak_s=5, listen_s=5)  # stopped by a key long before it ends
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = with_axe(browser.new_page())
            page.add_init_script(SILENT_RECORDER)
            page.goto(f"{product.origin}/?token={session['token']}")
            wait_event(page, "preflight-ready", 60)
            # with the keyboard alone: Enter on the start button, then Tab to Stop and Space
            focused = "document.querySelector('preflight-capture').shadowRoot.activeElement?.id || ''"
            page.get_by_role("button", name="Start recording").focus()
            page.keyboard.press("Enter")
            until(page, "document.querySelector('preflight-capture').shadowRoot.getElementById('prompter').hidden === false", 30)
            for _ in range(30):
                if page.evaluate(focused) == "stop":
                    break
                page.keyboard.press("Tab")
            assert page.evaluate(focused) == "stop"
            page.keyboard.press("Space")
            # stopped by the key, 10 s before the take's own end
            assert page.evaluate("document.querySelector('preflight-capture').shadowRoot.getElementById('stop').disabled")
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
