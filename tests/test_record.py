"""``preflight record`` in a real browser: Debian's Chromium driven by Playwright, its camera and
microphone fed from test media (a real face, synthetic speech). A rehearsal take is recorded, and
``--out`` receives the recording, an H.264 MP4 with both parts, and a report with a verdict."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import av
import httpx
import pytest

from tests.support.fake_capture import fake_camera, fake_microphone
from tests.support.hooks import drop_once
from tests.support.media_factory import VideoSpec, make_video
from tests.support.serve_process import free_port
from tests.support.browser import ARGS, browser_path, screenshot_dir

# the element's own nodes, in its open shadow root (Playwright's CSS selectors pierce it; page scripts do not)
def shadow(expression: str) -> str:
    """A page function true when ``expression`` (over ROOT, the element's shadow root) is."""
    return ("() => { const ROOT = document.querySelector('preflight-capture')?.shadowRoot; "
            f"return !!ROOT && !!ROOT.getElementById('setup') && ({expression}); }}")
needs_chromium = pytest.mark.skipif(browser_path() is None,
                                    reason="no Chromium on this machine (.ci/run installs Debian's chromium)")


class Recorder(NamedTuple):
    url: str
    out: Path
    key: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, headers={"authorization": f"Bearer {self.key}"})


def start_recorder(tmp_path: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    port = free_port()
    out = tmp_path / "takes"
    log = open(tmp_path / "record.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "preflight", "record", "--no-browser", "--port", str(port),
                             "--out", str(out), *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "record.log").read_text()
        time.sleep(0.1)
    first = (tmp_path / "record.log").read_text().splitlines()[0]  # the page's address, with this launch's key
    assert first.startswith(f"{url}/?key=") and len(first.split("key=")[1]) >= 32, first
    try:
        yield Recorder(url, out, first.split("key=")[1])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


@pytest.fixture
def recorder(tmp_path: Path):  # type: ignore[no-untyped-def]
    yield from start_recorder(tmp_path)


@needs_chromium
def test_a_rehearsal_take_is_guided_recorded_fixed_and_checked(recorder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    url, out, key = recorder
    camera, microphone = fake_camera(tmp_path), fake_microphone(tmp_path)
    shots = screenshot_dir(tmp_path)
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path(), args=[*ARGS, "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}",
            f"--use-file-for-fake-audio-capture={microphone}"])  # no autoplay flag: the sound starts from a click
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            aborted: list[str] = []

            page.route("**/chunks?*", drop_once(aborted))
            page.goto(f"{url}/?key={key}&speak_s=4&listen_s=4")
            assert "127.0.0.1" in page.inner_text("header")  # where the take goes, said before anything is recorded
            # 1. set-up: the fake camera gives its file's 640x360, which is rightly too small
            page.wait_for_function(shadow("ROOT.getElementById('setup-checks').children.length === 2"), timeout=20_000)
            setup = page.inner_text("#setup")
            assert "640x360" in setup and "below the 1080p minimum" in setup and "video.fps: 30 fps meets" in setup
            # 2. live guidance from the server's own face rules
            page.wait_for_function(shadow("!ROOT.getElementById('hints').textContent.includes('Waiting')"),
                                   timeout=20_000)
            page.get_by_role("button", name="Measure the room (3 s of quiet)").click()
            page.wait_for_function(shadow("ROOT.getElementById('room-status').textContent.includes('audio.noise')"),
                                   timeout=10_000)
            assert page.locator("#hints li").count() >= 1
            page.screenshot(path=str(shots / "record-setup.png"), full_page=True)
            # 3. the take, started from the keyboard: a real, focusable button
            start = page.get_by_role("button", name="Start recording")
            start.focus()
            page.keyboard.press("Enter")
            page.wait_for_function(shadow("ROOT.getElementById('phase').textContent.includes('Speak')"), timeout=10_000)
            page.screenshot(path=str(shots / "record-speaking.png"))
            page.wait_for_function(shadow("ROOT.getElementById('phase').textContent.includes('Listen')"), timeout=15_000)
            page.screenshot(path=str(shots / "record-listening.png"))
            # 4. the report, after the fixer and the full check
            page.wait_for_selector("#result:not([hidden])", timeout=180_000)
            verdict = page.inner_text("#verdict")
            assert verdict.startswith(("PASS", "FAIL")), verdict
            assert page.locator("#findings li").count() >= 1
            assert page.get_by_role("button", name="Record again").is_visible()
            assert not page.get_by_role("button", name="Submit to Tavus").is_visible()  # no key, no bucket here
            page.screenshot(path=str(shots / "record-report.png"), full_page=True)
            first = {p.name for p in out.iterdir()}
            sent = int(page.get_attribute("preflight-capture", "data-sent-bytes") or 0)
            page.unroute("**/chunks?*")
            # a second take, its tab closed after 2.5 s: what arrived until then is kept
            page.get_by_role("button", name="Start recording").click()
            page.wait_for_function(shadow("ROOT.getElementById('phase').textContent.includes('Speak')"), timeout=10_000)
            time.sleep(2.5)
            page.close()
        finally:
            browser.close()
    dropped = [p for p in problems if "net::ERR_FAILED" in p]  # the console's word for each chunk the network dropped
    assert [p for p in problems if p not in dropped] == [] and len(dropped) == len(aborted)
    assert all(r.startswith((url, "data:", "blob:")) for r in requests), [r for r in requests if not r.startswith(url)]
    (recording,) = [p for p in out.iterdir() if p.name in first and p.suffix in (".webm", ".mp4", ".mkv")
                    and ".fixed" not in p.name]
    (cut_short,) = [p for p in out.iterdir() if p.name not in first]
    assert cut_short.stat().st_size > 20_000  # about two seconds of the closed tab's take
    (fixed,) = out.glob("*.fixed.mp4")
    (report_file,) = out.glob("*.report.json")
    assert recording.stat().st_size > 10_000
    assert len(aborted) == 2 and recording.stat().st_size == sent  # both dropped chunks were sent again, in order
    with av.open(str(fixed)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264" and container.streams.audio[0].codec_context.name == "aac"
        duration = float(container.duration or 0) / 1e6
    assert 7.0 <= duration <= 10.0, duration  # both parts: 4 s speaking + 4 s listening
    (result,) = json.loads(report_file.read_text())["results"]
    assert result["path"] == str(fixed) and result["verdict"] in ("pass", "fail")
    assert {f["rule"] for f in result["findings"] if f["outcome"] == "fail"} >= {"video.duration", "video.resolution"}


def test_a_take_sent_in_chunks_is_fixed_checked_and_submitted(tmp_path: Path, s3, tavus) -> None:  # type: ignore[no-untyped-def]
    """The page's protocol without a browser: chunks in order (a repeat ignored, a gap refused), the
    fixer and the check, then Submit through the submit pipeline to the Tavus stand-in."""
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
    from tests.support.tavus_server import API_KEY

    env = {"TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url, "PREFLIGHT_BUCKET": BUCKET,
           "PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    clip = make_video(tmp_path / "browser.webm", VideoSpec(seconds=3, codec="libvpx-vp9", audio="libopus"))
    data = clip.read_bytes()
    parts = [data[i:i + 20_000] for i in range(0, len(data), 20_000)]
    for recorder in start_recorder(tmp_path, env):
        out = recorder.out
        with recorder.client() as http:
            assert http.get("/v1/capture/config").json()["submit"] is True
            take = http.post("/v1/takes", json={"mime": "video/webm;codecs=vp9,opus"}).json()
            for seq, part in enumerate(parts):
                assert http.post(f"/v1/takes/{take['id']}/chunks", params={"seq": seq}, content=part).status_code == 200
            assert http.post(f"/v1/takes/{take['id']}/chunks", params={"seq": 0}, content=parts[0]).json()["duplicate"]
            gap = http.post(f"/v1/takes/{take['id']}/chunks", params={"seq": len(parts) + 1}, content=b"x")
            assert gap.status_code == 409
            done = http.post(f"/v1/takes/{take['id']}/finish", params={"wait": "true"}).json()
            assert (out / done["recording"]).read_bytes() == data  # kept as received
            (result,) = done["report"]["results"]
            assert result["path"] == done["fixed"] and result["facts"]["video_codec"] == "h264"
            assert str(out) not in json.dumps(done) and str(out) not in json.dumps(take)  # names, never paths
            assert http.get(f"/v1/takes/{take['id']}/report.html").status_code == 200
            submitted = http.post(f"/v1/takes/{take['id']}/submit").json()
        assert submitted["stopped"] == "check" and not tavus.state.faces  # the 3 s take fails: not forced
        assert sorted(p.suffix for p in out.iterdir()) == [".html", ".json", ".mp4", ".webm"]
