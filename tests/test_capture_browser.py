"""``<preflight-capture>`` embedded in a product's page on another origin, in Debian's Chromium driven by
Playwright with a fake camera and microphone, against a real ``preflight serve``: the product's test
backend mints a session, the page records a rehearsal take, and the backend gets a signed callback
and the take's MP4. Also: a phone (emulated, portrait camera) continuing from the desktop's QR code,
chunks dropped in flight and a server killed mid-take, refused tokens, German."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import cv2
import httpx
import numpy as np
import pytest

from tests.conftest import REPO
from tests.support.browser import ARGS, browser_path, screenshot_dir
from tests.support.fake_capture import fake_camera, fake_microphone
from tests.support.hooks import Hooks, drop_once
from tests.support.serve_process import Server, free_port

# The element in the browser, against a server on SQLite (the default); the database plays no part in
# what these tests look at, but for a server killed mid-take, which also runs on PostgreSQL. (The API
# tests of capture sessions, test_capture_sessions.py, run on both: tokens, takes and their chunks,
# expiry, a server killed between chunks or mid-check, a session's takes read as the desktop reads them.)
pytestmark = pytest.mark.skipif(browser_path() is None, reason="no Chromium (.ci/run installs Debian's chromium)")
TOKEN = "server-token-for-browser-capture-tests"
EVENTS_JS = b"""window.events = [];
for (const type of ["preflight-ready", "preflight-guidance", "preflight-take", "preflight-error"]) {
  document.addEventListener(type, (e) => window.events.push({ type, detail: e.detail }));
}
document.addEventListener("securitypolicyviolation", (e) => window.events.push({ type: "csp", detail:
  { blocked: e.blockedURI, source: e.sourceFile, directive: e.violatedDirective, sample: e.sample } }));
"""


STRINGS_JS = b"""const params = new URLSearchParams(location.search);
if (params.get("start")) document.querySelector("preflight-capture").strings = { start: params.get("start") };
if (params.get("strings")) document.querySelector("preflight-capture").strings = JSON.parse(params.get("strings"));
"""


class Product:
    """The product's own site on 127.0.0.2 (another origin than the preflight server's 127.0.0.1): a page
    under a strict CSP that allows the preflight server and nothing else, with no inline script. With
    ``stand_in`` (a script), the page loads it first, as /stand-in.js: a test camera for an engine whose
    driver cannot run a script before the page's own (WebKitGTK's, over classic WebDriver)."""

    def __init__(self, server: Server, preflight: str | None = None, stand_in: bytes | None = None) -> None:
        preflight = preflight or server.url  # the preflight server as the page knows it (behind a proxy: its prefix)
        first = '<script src="/stand-in.js"></script>' if stand_in else ""

        class Site(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                if parts.path == "/events.js":
                    self.answer(EVENTS_JS, "text/javascript", {})
                    return
                if parts.path == "/strings.js":  # the product's own words for one button
                    self.answer(STRINGS_JS, "text/javascript", {})
                    return
                if parts.path == "/stand-in.js" and stand_in:
                    self.answer(stand_in, "text/javascript", {})
                    return
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                page = (f'<!doctype html><html lang="{q.get("lang", "en")}" dir="{q.get("dir", "ltr")}"><head>'
                        f'<meta charset="utf-8">'
                        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                        f'{first}<script src="/events.js"></script>'
                        f'<script type="module" src="{preflight}/v1/capture.js"></script></head><body>'
                        f'<h1>Acme: your avatar</h1><preflight-capture server="{preflight}" token="{q.get("token", "")}"'
                        f' lang="{q.get("lang", "en")}"></preflight-capture><script src="/strings.js"></script>'
                        f'</body></html>')
                here = f"{preflight}/"  # a CSP source with a path ending in / allows what is under it
                csp = (f"default-src 'none'; script-src 'self' {here}; style-src {here}; "
                       f"connect-src {here}; img-src blob: data:; media-src blob: mediastream:")
                self.answer(page.encode(), "text/html", {"Content-Security-Policy": csp})

            def answer(self, body: bytes, kind: str, headers: dict[str, str]) -> None:
                self.send_response(200)
                for k, v in {"content-type": kind, "content-length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.2", free_port()), Site)
        self.origin = f"http://127.0.0.2:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[Server, Product, Hooks]]:
    server = Server(tmp_path / "data", "--allow-private-urls", token=TOKEN,
                    env={"PREFLIGHT_SERVE_SECRET": "browser-capture-secret"}).start()
    product, hooks = Product(server), Hooks()
    try:
        yield server, product, hooks
    finally:
        server.stop()
        product.httpd.shutdown()
        hooks.httpd.shutdown()


def mint(server: Server, origin: str, **fields: Any) -> dict[str, Any]:
    """What the product's backend does, with the server's token."""
    with server.client() as http:
        made = http.post("/v1/capture-sessions", json={"origin": origin, "speak_s": 3, "listen_s": 3, **fields})
    assert made.status_code == 201, made.text
    return dict(made.json())


def launch(pw: Any, tmp_path: Path, size: tuple[int, int]) -> Any:
    camera, microphone = fake_camera(tmp_path, size=size, face_px=min(size) // 3), fake_microphone(tmp_path)
    return pw.chromium.launch(executable_path=browser_path(), args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}", f"--use-file-for-fake-audio-capture={microphone}"])


def events(page: Any, kind: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in page.evaluate("window.events || []") if e["type"] == kind]


def until(page: Any, expression: str, timeout_s: float) -> Any:
    """Poll ``expression`` in the page until it is truthy (Playwright's wait_for_function evaluates its
    predicate by eval, which the page's strict CSP rightly refuses)."""
    deadline = time.monotonic() + timeout_s
    while not (value := page.evaluate(expression)):
        assert time.monotonic() < deadline, f"not true within {timeout_s} s: {expression}"
        time.sleep(0.2)
    return value


def wait_event(page: Any, kind: str, timeout_s: float = 180) -> dict[str, Any]:
    until(page, f"(window.events || []).some((e) => e.type === '{kind}')", timeout_s)
    return events(page, kind)[-1]


AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"  # axe-core from package-lock.json (npm ci)


def with_axe(page: Any) -> Any:
    """The page with axe-core injected before its own scripts (an init script: the page's CSP does not
    apply to it), or as it is when npm ci has not run."""
    if AXE.exists():
        page.add_init_script(path=str(AXE))
    return page


def from_axe(violation: dict[str, Any]) -> bool:
    """A CSP report caused by axe-core itself: injected by the test (no source file), it adds <style>
    elements to measure; the element's own would name capture.js."""
    return violation.get("source") in ("", None) and violation.get("directive") == "style-src-elem"


def accessibility(page: Any, step: str) -> None:
    """axe-core over the element (its open shadow root included): no WCAG 2.0-2.2 A/AA violation, nor any
    of axe's best practices, at this step."""
    if not AXE.exists():
        return
    found = page.evaluate("""async () => {
        const r = await axe.run(document.querySelector('preflight-capture'), {resultTypes: ['violations']});
        return r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3)}));
    }""")
    assert found == [], f"{step}: {found}"


# MediaRecorder as WebKitGTK's behaved here: it starts and stops, and never gives any data
SILENT_RECORDER = """Object.defineProperty(MediaRecorder.prototype, 'ondataavailable',
  { configurable: true, set() {}, get() { return null; } });"""
SESSION_OF = "document.querySelector('preflight-capture').getAttribute('token').split('_')[1]"


def record(page: Any) -> None:
    """Wait for the set-up, then start a take from the element's real button."""
    wait_event(page, "preflight-ready", 60)  # a cold start (the browser, the camera file) can take a while
    page.get_by_role("button", name="Start recording").click()


def test_a_product_page_on_another_origin_records_a_rehearsal_take(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    server, product, hooks = stack
    made = mint(server, product.origin, callback_url=hooks.url)
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = with_axe(browser.new_page(viewport={"width": 1280, "height": 900}))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(f"{product.origin}/?token={made['token']}")
            wait_event(page, "preflight-ready", 60)
            hints = until(page, "(() => { const h = document.querySelector('preflight-capture').shadowRoot"
                                ".getElementById('hints'); return h.textContent && [h.getAttribute('aria-live'), "
                                "h.textContent]; })()", 30)
            assert hints[0] == "polite" and hints[1]  # the guidance, in a polite live region
            accessibility(page, "set-up and framing")
            # the whole take with the keyboard alone: Tab to the start button, Space; the take stops itself
            focused = "document.querySelector('preflight-capture').shadowRoot.activeElement?.id || ''"
            for _ in range(30):
                page.keyboard.press("Tab")
                if page.evaluate(focused) == "start":
                    break
            assert page.evaluate(focused) == "start"
            page.keyboard.press("Space")
            until(page, "document.querySelector('preflight-capture').shadowRoot.getElementById('prompter').hidden === false", 30)
            accessibility(page, "during the take")
            take = wait_event(page, "preflight-take")
            assert page.evaluate(focused) == "verdict"  # focus moves to the result
            accessibility(page, "the result")
            page.screenshot(path=str(screenshot_dir(tmp_path) / "capture-embedded.png"), full_page=True)
            assert take["verdict"] in ("pass", "fail") and not take["elsewhere"]
            assert all("rule" in f and "message" in f for f in take["findings"])  # rule ids kept for the product
            assert page.locator("#verdict").inner_text().startswith(("PASS", "FAIL"))
            assert [c for c in events(page, "csp") if not from_axe(c)] == [] and events(page, "preflight-error") == []
        finally:
            browser.close()
    own = [r for r in requests if r.startswith(product.origin)]
    assert {urlsplit(r).path for r in own} == {"/", "/events.js", "/strings.js"}  # the page itself; the rest: preflight
    assert all(r.startswith((server.url, "blob:", "data:")) for r in requests if r not in own)
    deadline = time.monotonic() + 20
    while not hooks.got and time.monotonic() < deadline:
        time.sleep(0.1)
    headers, body = hooks.got[0]
    assert "X-Preflight-Signature" in headers and json.loads(body)["take"] == take["take_id"]
    with server.client() as http:
        media = http.get(f"/v1/takes/{take['take_id']}/media")
    assert media.status_code == 200
    (tmp_path / "take.mp4").write_bytes(media.content)
    with av.open(str(tmp_path / "take.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        duration = float(container.duration or 0) / 1e6
    assert 5.0 <= duration <= 8.0, duration  # the whole rehearsal: 3 s speaking + 3 s listening


def read_qr(png: bytes) -> str:
    """The text of the QR code in a screenshot, as a phone's camera would read it (OpenCV's detectors)."""
    picture = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    framed = cv2.copyMakeBorder(picture, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    # OpenCV's ArUco-based detector first: the classic one missed 4 of 300 perfect renders of such URLs
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):
        decoded, _, _ = detector.detectAndDecode(framed)
        if decoded:
            return str(decoded)
    return ""


def test_a_phone_continues_from_the_desktops_qr_code(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The desktop element shows a QR code; decoded (OpenCV), its URL opened on an emulated phone
    (portrait, touch) with a portrait camera records the take; the desktop then shows its verdict."""
    sync_api = pytest.importorskip("playwright.sync_api")
    server, product, _ = stack
    made = mint(server, product.origin)
    shots = screenshot_dir(tmp_path)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (540, 960))
        try:
            desk = with_axe(browser.new_page(viewport={"width": 1280, "height": 900}))
            desk.goto(f"{product.origin}/?token={made['token']}")
            wait_event(desk, "preflight-ready", 30)
            desk.get_by_role("button", name="Continue on your phone").click()
            until(desk, "document.querySelector('preflight-capture').shadowRoot.getElementById('qr').dataset.url", 20)
            decoded = read_qr(desk.locator("#qr").screenshot())
            assert decoded == made["url"], decoded
            accessibility(desk, "the QR code")
            phone = with_axe(browser.new_context(**pw.devices["Pixel 7"]).new_page())
            phone.add_init_script(EVENTS_JS.decode())
            phone.goto(decoded)
            wait_event(phone, "preflight-ready", 60)
            accessibility(phone, "a phone's set-up")
            record(phone)
            phone.locator("#viewer").evaluate("(v) => v.scrollIntoView({block: 'start'})")  # the preview on screen
            box = phone.locator("#viewer").bounding_box()
            viewport = phone.viewport_size
            assert box["height"] > box["width"] and box["width"] <= viewport["width"]
            assert box["height"] <= viewport["height"]  # the whole preview on the screen at once
            assert "Turn the phone upright" not in phone.locator("#hints").inner_text()  # it is upright
            phone.screenshot(path=str(shots / "capture-phone.png"))
            for button in phone.get_by_role("button").all():
                if button.is_visible():
                    size = button.bounding_box()
                    assert size["height"] >= 44 and size["width"] >= 44, button.inner_text()
            assert wait_event(phone, "preflight-take")["verdict"] in ("pass", "fail")
            seen = wait_event(desk, "preflight-take", 60)
            assert seen["elsewhere"] and seen["verdict"] in ("pass", "fail")
            assert "another device" in desk.locator("#files").inner_text()
            assert "token" not in phone.url  # taken out of the address bar
        finally:
            browser.close()


@pytest.mark.usefixtures("service_database")
def test_dropped_chunks_and_a_server_killed_mid_take_lose_nothing(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    server, product, _ = stack
    made = mint(server, product.origin, speak_s=4, listen_s=3)
    aborted: list[str] = []

    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = browser.new_page()
            page.route("**/chunks?*", drop_once(aborted))
            page.goto(f"{product.origin}/?token={made['token']}")
            record(page)
            until(page, "Number(document.querySelector('preflight-capture').dataset.sentBytes || 0) > 0", 15)
            server.kill()  # kill -9, mid-take: the page keeps recording and retrying
            time.sleep(2.0)
            server.start()
            take = wait_event(page, "preflight-take")
            sent = int(page.get_attribute("preflight-capture", "data-sent-bytes") or 0)
        finally:
            browser.close()
    with server.client() as http:
        kept = http.get(f"/v1/takes/{take['take_id']}").json()
        media = http.get(f"/v1/takes/{take['take_id']}/media")
    assert len(aborted) == 2 and kept["bytes"] == sent > 0
    assert (tmp_path / "data" / "takes" / kept["recording"]).stat().st_size == sent
    (tmp_path / "take.mp4").write_bytes(media.content)
    with av.open(str(tmp_path / "take.mp4")) as container:
        duration = float(container.duration or 0) / 1e6
    assert 6.0 <= duration <= 9.0, duration  # the whole take, 4 s + 3 s, across the restart


def test_refused_tokens_end_in_preflight_error_and_lang_de_speaks_german(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    server, product, _ = stack
    elsewhere = mint(server, "http://127.0.0.3:9999")  # another product's session
    short = mint(server, product.origin, ttl_s=5)  # made first, and alone: its origin has no live session
    time.sleep(5.5)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            def opened(token: str, lang: str = "en") -> Any:
                page = with_axe(browser.new_page())
                page.goto(f"{product.origin}/?token={token}&lang={lang}")
                return page

            foreign = opened(elsewhere["token"])
            assert wait_event(foreign, "preflight-error", 20)["reason"] in ("unreachable", "refused")
            expired = opened(short["token"])  # its origin's only session so far, expired: a 401, not a network error
            error = wait_event(expired, "preflight-error", 20)
            assert error["reason"] == "token" and "expired" in error["message"]
            assert "expired" in expired.get_by_role("alert").inner_text()
            accessibility(expired, "an error")
            used = mint(server, product.origin, max_takes=1)
            with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {used['token']}",
                                                            "origin": product.origin}) as page_http:
                assert page_http.post("/v1/takes", json={}).status_code == 201  # its one take
            spent = opened(used["token"])
            record(spent)
            error = wait_event(spent, "preflight-error", 20)
            assert error["reason"] == "refused" and "allows 1 takes" in error["message"]
            de = opened(mint(server, product.origin)["token"], "de")
            wait_event(de, "preflight-ready", 30)
            assert de.get_by_role("button", name="Aufnahme starten").is_visible()
            assert "Vorbereitung" in de.locator("#setup").inner_text()
            de.screenshot(path=str(screenshot_dir(tmp_path) / "capture-de.png"), full_page=True)
            # a language by its primary subtag (pt-PT: the Portuguese catalog), an unknown one in English
            for lang, button in (("pt-PT", "Começar a gravar"), ("ja", "録画を開始"), ("xx", "Start recording")):
                other = opened(mint(server, product.origin)["token"], lang)
                wait_event(other, "preflight-ready", 30)
                assert other.get_by_role("button", name=button).is_visible(), lang
                other.close()
            # a phone held sideways (its camera gives a landscape picture): a hint, never an error
            sideways = browser.new_context(**pw.devices["Pixel 7 landscape"]).new_page()
            sideways.goto(f"{product.origin}/?token={mint(server, product.origin)['token']}")
            wait_event(sideways, "preflight-ready", 30)
            until(sideways, "document.querySelector('preflight-capture').shadowRoot.getElementById('hints')"
                            ".textContent.includes('Turn the phone upright')", 20)
            assert events(sideways, "preflight-error") == []
            assert sideways.get_by_role("button", name="Start recording").is_enabled()
        finally:
            browser.close()


def test_a_page_reloaded_mid_take_finds_its_take_again(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Within the session's lifetime, a reload picks the take up where the server has it: what arrived
    is checked, and the take is the one the first page started."""
    sync_api = pytest.importorskip("playwright.sync_api")
    server, product, _ = stack
    made = mint(server, product.origin, speak_s=8, listen_s=4)
    with sync_api.sync_playwright() as pw:
        browser = launch(pw, tmp_path, (640, 360))
        try:
            page = browser.new_page()
            page.goto(f"{product.origin}/?token={made['token']}")
            record(page)
            until(page, "Number(document.querySelector('preflight-capture').dataset.sentBytes || 0) > 40000", 20)
            page.reload()
            until(page, "document.querySelector('preflight-capture').shadowRoot.getElementById('take-status')"
                        ".textContent.includes('reached the server')", 20)  # says what it found
            page.get_by_role("button", name="Check what arrived").click()
            take = wait_event(page, "preflight-take")
        finally:
            browser.close()
    with server.client() as http:
        session = http.get(f"/v1/capture-sessions/{made['id']}").json()
    assert [t["id"] for t in session["takes"]] == [take["take_id"]]  # no second take: the same one, checked
    assert session["takes"][0]["bytes"] > 40_000 and take["verdict"] == "fail"  # a few seconds: too short


class Prefix:
    """A reverse proxy that mounts the preflight server under ``/preflight/`` (as a product's own
    gateway would), so the element is served and talks through a path prefix."""

    def __init__(self, server: Server) -> None:
        target = server.url

        class Forward(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def forward(self) -> None:
                if not self.path.startswith("/preflight/"):
                    self.send_error(404)
                    return
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                reply = httpx.request(self.command, target + self.path[len("/preflight"):], headers=headers,
                                      content=body, timeout=60)
                self.send_response(reply.status_code)
                for k, v in reply.headers.items():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = do_OPTIONS = forward  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Forward)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/preflight"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def test_the_element_works_under_a_path_prefix_with_the_products_own_words_and_an_unknown_frame_rate(stack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api")
    server, _, _ = stack
    proxy = Prefix(server)
    product = Product(server, proxy.url)
    made = mint(server, product.origin)
    requests: list[str] = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = launch(pw, tmp_path, (640, 360))
            try:
                page = browser.new_page()
                page.on("request", lambda r: requests.append(r.url))
                # a camera that does not report its frame rate (some phones): "unknown", never 0 fps
                page.add_init_script("const real = MediaStreamTrack.prototype.getSettings;"
                                     "MediaStreamTrack.prototype.getSettings = function () {"
                                     "  const s = real.call(this); delete s.frameRate; return s; };")
                page.goto(f"{product.origin}/?token={made['token']}&start=Los%20geht%27s")
                ready = wait_event(page, "preflight-ready", 30)
                assert ready["camera"]["fps"] is None and "unknown frame rate" in page.locator("#camera-status").inner_text()
                assert "did not report its frame rate" in page.locator("#setup-checks").inner_text()
                assert page.get_by_role("button", name="Los geht's").is_visible()  # the product's word
                assert page.get_by_role("button", name="Stop").is_visible()  # the catalog's for the rest
                until(page, "(window.events || []).length && document.querySelector('preflight-capture')"
                            ".shadowRoot.getElementById('overlay').width > 0", 20)
                assert events(page, "preflight-error") == [] and events(page, "csp") == []
            finally:
                browser.close()
    finally:
        proxy.httpd.shutdown()
        product.httpd.shutdown()
    theirs = [r for r in requests if not r.startswith(product.origin)]
    assert theirs and all(r.startswith(proxy.url + "/") for r in theirs), theirs  # every call under the prefix
    assert any("/preflight/v1/guidance" in r for r in theirs) and any("/preflight/v1/capture/i18n/" in r for r in theirs)
