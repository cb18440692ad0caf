"""The visual HTML report, structurally and in a real browser (headless Chromium through Playwright):
it loads without console errors or network requests, shows each file's section, the contact sheet with
face boxes, the timelines with segments and failing spans, the image with its guides; a screenshot is
saved (``PREFLIGHT_SCREENSHOT_DIR``, else the test's temporary folder)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from preflight.cli import main
from tests.conftest import corpus_dir, real_portrait
from tests.support.browser import ARGS, browser_path, screenshot_dir
from tests.support.media_factory import VideoSpec, make_image, make_video

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 1\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A report over a synthetic clip, an image, an LFS pointer, a real headshot (tests/media), and (with
    the corpus) a real performer on video."""
    d = tmp_path_factory.mktemp("html")
    files = [str(make_video(d / "clip.mp4", VideoSpec(seconds=3.0))), str(make_image(d / "still.jpg"))]
    (d / "pointer.mp4").write_text(POINTER)
    files.append(str(d / "pointer.mp4"))
    real_portrait().save(d / "headshot.jpg", quality=92)
    files.append(str(d / "headshot.jpg"))
    corpus = corpus_dir()
    if corpus is not None:
        files.append(str(corpus / "facerec_short_hamilton_clip.mp4"))
    out = d / "report.html"
    assert main(["check", "--quiet", "--report", str(out), *files]) == 1
    return out, files


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_report_is_self_contained(report: tuple[Path, list[str]]) -> None:
    path, files = report
    text = path.read_text(encoding="utf-8")
    parser = _Tags()
    parser.feed(text)
    sections = [a for t, a in parser.tags if t == "section"]
    assert [a["data-verdict"] for a in sections][:3] == ["fail", "fail", "fail"] and len(sections) == len(files)
    for tag, attrs in parser.tags:  # nothing to fetch: images are inline, there are no scripts or links
        assert tag not in ("script", "link", "iframe")
        for key in ("src", "href"):
            assert not attrs.get(key) or str(attrs[key]).startswith("data:"), (tag, attrs)
    assert "not fetched: this is a Git LFS pointer file" in text
    assert "class=\"hint\">Record alone with your face in view" in text  # face.count's fix, under its finding


@pytest.mark.skipif(browser_path() is None, reason="no Chromium on this machine (.ci/run installs Debian's chromium)")
def test_report_in_a_real_browser(report: tuple[Path, list[str]], tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[test]')")
    path, files = report
    shots = screenshot_dir(tmp_path)
    problems: list[str] = []
    requests: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=browser_path(), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(path.as_uri(), wait_until="load")
            assert problems == []
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
            assert page.locator("section.file").count() == len(files)
            failing = 3 + (len(files) > 4)  # clip, still and pointer (+ the performer); the headshot passes
            assert f"{failing} failed" in page.locator("#summary").inner_text()
            clip = page.locator("section.file").first
            assert clip.locator("h3", has_text="Timelines").count() == 1
            assert clip.locator("svg.timeline text", has_text="faces").count() == 1
            assert clip.locator("figure img").count() >= 3  # the contact sheet
            images_ok = page.evaluate("() => [...document.images].every(i => i.complete && i.naturalWidth > 0)")
            assert images_ok, "an image did not decode"
            still = page.locator("section.file").nth(1)
            assert still.locator("svg.boxes line.guide").count() == 2  # the centre lines over the image
            portrait = page.locator("section.file").nth(3)  # the real headshot: one face box, a pass
            assert portrait.get_attribute("data-verdict") == "pass"
            assert portrait.locator("svg.boxes rect.face").count() == 1
            if len(files) > 4:  # the corpus: a real performer with face boxes, cuts and failing spans
                real = page.locator("section.file").nth(4)
                assert real.locator("svg.boxes rect.face").count() >= 3
                assert real.locator("li.sev-error .rule", has_text="face.count").count() == 1
                assert real.locator("svg.timeline rect[fill-opacity]").count() >= 1  # a failing span drawn
            shot = shots / "preflight-report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 20_000
