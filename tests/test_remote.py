"""Remote inputs end to end: a real web server on 127.0.0.1 (tests/support/http_media.py) and SeaweedFS for
s3://. The same clip gets the same media verdicts as the local file, each way a link goes wrong is a
named url.* finding with a fix hint, and no signature is ever printed."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import preflight
from preflight.cli import main
from preflight.remote import link
from preflight.model.report import FileResult
from tests.conftest import MEDIA
from tests.support.http_media import serving
from tests.support.media_factory import VideoSpec, make_video


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[tuple[str, str | None]], Path]]:
    root = tmp_path_factory.mktemp("site")
    make_video(root / "clip.mp4", VideoSpec(width=640, height=360, seconds=4))
    import subprocess

    import imageio_ffmpeg

    # 30 s of a moving pattern at 720p, a key frame a second: big enough (MBs) that reading by range shows.
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i",
                    "testsrc2=size=1280x720:rate=25", "-t", "30", "-c:v", "libx264", "-preset", "ultrafast",
                    "-g", "25", "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(root / "long.mp4")], check=True)
    shutil.copy(MEDIA / "grace_hopper.jpg", root / "face.jpg")
    with serving(root) as (base, requests):
        yield base, requests, root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    code = main(["check", "--no-cache", "--format", "json", *args])
    out = capsys.readouterr()
    return code, json.loads(out.out)["results"], out.out + out.err


def outcomes(result: dict, prefix: str = "") -> dict[str, str]:
    return {f["rule"]: f["outcome"] for f in result["findings"] if f["rule"].startswith(prefix)}


def media_outcomes(result: dict) -> dict[str, tuple[str, str]]:
    return {f["rule"]: (f["outcome"], f["message"]) for f in result["findings"] if not f["rule"].startswith("url.")}


def test_a_clip_and_an_image_over_http_get_the_local_verdicts(site, capsys) -> None:
    base, _, root = site
    code, remote, _ = run(capsys, f"{base}/f/clip.mp4", f"{base}/f/face.jpg")
    _, local, _ = run(capsys, str(root / "clip.mp4"), str(root / "face.jpg"))
    for far, near in zip(remote, local):
        assert far["verdict"] == near["verdict"]
        assert media_outcomes(far) == media_outcomes(near)
        assert set(outcomes(far, "url.").values()) == {"pass"}, outcomes(far, "url.")
        assert not any(f["rule"].startswith("url.") for f in near["findings"])  # local files: no url rules
    assert remote[0]["facts"]["link"]["ranges"] is True and remote[0]["facts"]["link"]["length"] > 0


@pytest.mark.parametrize(("path", "rule", "words"), [
    ("/private/clip.mp4", "url.reachable", "HTTP 403: the link needs a login"),
    ("/gone/clip.mp4", "url.reachable", "HTTP 404"),
    ("/loop", "url.reachable", "more than 5 redirects"),
    ("/share/clip.mp4", "url.direct_file", "Google Drive share page, not the file"),
    ("/type/text_plain/clip.mp4", "url.content_type", "Content-Type text/plain does not match"),
    ("/norange/clip.mp4", "url.ranges", "ignores byte-range requests"),
])
def test_each_link_problem_is_a_named_finding_with_a_fix(site, capsys, path: str, rule: str, words: str) -> None:
    base, _, _ = site
    code, (result,), _ = run(capsys, base + path)
    finding = next(f for f in result["findings"] if f["rule"] == rule)
    assert finding["outcome"] == "fail" and words in finding["message"], finding
    assert finding["fix"]
    if finding["severity"] == "error":
        assert code == 1 and result["verdict"] == "fail"


def test_an_unreachable_link_skips_the_media_rules_with_the_reason(site, capsys) -> None:
    base, _, _ = site
    _, (result,), _ = run(capsys, f"{base}/private/clip.mp4")
    media = next(f for f in result["findings"] if f["rule"] == "media.not_run")
    assert media["outcome"] == "skip" and "could not be fetched" in media["message"]
    import jsonschema  # the finding keeps the report's documented form (its rule id was "media", which it refused)

    schema = json.loads((Path(preflight.__file__).parent / "schemas" / "report-1.schema.json").read_text())
    jsonschema.validate({"schema": "preflight.report/1", "tool": {"name": "preflight", "version": "x"},
                         "fail_level": "error", "results": [result],
                         "summary": {"files": 1, "passed": 0, "failed": 1, "errors": 0, "skipped": 0}}, schema)
    assert result["verdict"] == "fail" and not any(f["rule"].startswith("face.") for f in result["findings"])


def test_redirects_are_followed_and_counted(site, capsys) -> None:
    base, _, _ = site
    _, (result,), _ = run(capsys, f"{base}/hop/3/face.jpg")
    reach = next(f for f in result["findings"] if f["rule"] == "url.reachable")
    assert reach["outcome"] == "pass" and "after 3 redirects" in reach["message"]
    assert result["verdict"] == "pass"


def test_a_stalled_answer_times_out() -> None:
    with serving(MEDIA) as (base, _):
        facts, head = link.inspect(f"{base}/stall/x.mp4", timeout=1.0)
    assert facts.error is not None and "timed out" in facts.error and head == b""


NOW = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(("query", "scheme", "hours"), [
    ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261125T110000Z&X-Amz-Expires=7200&X-Amz-Signature=s3cr3t",
     "aws-sigv4", 1.0),
    ("AWSAccessKeyId=AKIA&Expires=1795651200&Signature=s3cr3t", "aws-sigv2", 12.0),
    ("X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Date=20261124T120000Z&X-Goog-Expires=86400&X-Goog-Signature=s3cr3t",
     "gcs", 0.0),
    ("sv=2022-11-02&se=2026-11-28T12%3A00%3A00Z&sr=b&sp=r&sig=s3cr3t", "azure-sas", 72.0),
])
def test_signed_url_expiry_is_read_for_every_scheme(query: str, scheme: str, hours: float) -> None:
    with serving(MEDIA) as (base, _):
        facts, _ = link.inspect(f"{base}/f/astronaut.jpg?{query}", now=NOW)
    assert facts.signature == scheme and facts.valid_for_s is not None
    assert abs(facts.valid_for_s / 3600 - hours) < 0.01, facts
    assert "s3cr3t" not in json.dumps(facts.__dict__)


def test_an_expiring_signature_fails_with_its_time_and_never_prints_it(site, capsys) -> None:
    base, _, _ = site
    soon = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=30)).strftime("%Y%m%dT%H%M%SZ")
    url = (f"{base}/f/face.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261125"
           f"&X-Amz-Date={soon}&X-Amz-Expires=7200&X-Amz-Signature=f00dfacef00dface")
    code = main(["check", "--no-cache", url])
    out = capsys.readouterr()
    assert code == 1 and "url.expiry" in out.out and "expires at" in out.out and "in 1.5 h" in out.out
    code, (result,), text = run(capsys, url)
    assert "f00dfacef00dface" not in text and "AKIAEXAMPLE" not in text
    assert "REDACTED" in result["path"]


def test_quick_reads_ranges_not_the_whole_file(site, capsys) -> None:
    base, requests, root = site
    size = (root / "long.mp4").stat().st_size
    requests.clear()
    _, (full,), _ = run(capsys, f"{base}/f/long.mp4")
    streamed, asked = requests.bytes_sent, len(requests)
    requests.clear()
    _, (quick,), _ = run(capsys, "--quick", f"{base}/f/long.mp4")
    assert quick["facts"]["scan"] is None and full["facts"]["scan"] is not None
    # The full check: the link check's first range, the probe's opening (which the server fills into the
    # socket's buffers until it is closed), and one stream of the whole file: no second download.
    assert streamed >= size and asked == 3, (streamed, size, requests)
    assert requests.bytes_sent < 0.5 * size, (requests.bytes_sent, size)  # --quick: ranges only
    assert all(r is not None for p, r in requests if p == "/f/long.mp4")


def test_s3_objects_and_prefixes(s3, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY

    client = s3.client()
    clip = make_video(tmp_path / "clip.mp4", VideoSpec(width=640, height=360, seconds=3))
    client.upload_file(str(clip), BUCKET, "remote/take1.mp4", ExtraArgs={"ContentType": "video/mp4"})
    client.upload_file(str(MEDIA / "grace_hopper.jpg"), BUCKET, "remote/face.jpg", ExtraArgs={"ContentType": "image/jpeg"})
    client.put_object(Bucket=BUCKET, Key="remote/notes.txt", Body=b"not media")
    for name, value in (("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("PREFLIGHT_S3_ENDPOINT", s3.endpoint)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    code, results, text = run(capsys, f"s3://{BUCKET}/remote/", str(clip))
    assert [r["path"] for r in results] == [f"s3://{BUCKET}/remote/face.jpg", f"s3://{BUCKET}/remote/take1.mp4",
                                            str(clip)]
    assert media_outcomes(results[1]) == media_outcomes(results[2])  # the object and the local file agree
    expiry = next(f for f in results[1]["findings"] if f["rule"] == "url.expiry")
    assert expiry["outcome"] == "pass" and "signs it itself" in expiry["message"]
    assert "X-Amz-Signature" not in text and SECRET_KEY not in text
    assert main(["check", f"s3://{BUCKET}/nothing-here/"]) == 2


def test_a_cached_remote_result_is_reused_but_its_link_judged_again(site, capsys, private_cache: Path) -> None:
    base, requests, _ = site
    main(["check", "--format", "json", f"{base}/f/clip.mp4"])
    first = json.loads(capsys.readouterr().out)["results"][0]
    requests.clear()
    main(["check", "--format", "json", f"{base}/f/clip.mp4"])
    second = json.loads(capsys.readouterr().out)["results"][0]
    assert media_outcomes(first) == media_outcomes(second)
    assert len(requests) == 1  # the link check only: nothing decoded again


def test_a_result_carries_the_link_facts(site) -> None:
    import preflight

    base, _, _ = site
    report = preflight.check(f"{base}/f/face.jpg", cache=False)
    (res,) = report.results
    assert isinstance(res, FileResult) and res.verdict == "pass" and res.facts["link"]["status"] == 206


def test_a_file_over_the_size_limit_fails_url_size(site, capsys) -> None:
    base, _, root = site
    big = root / "huge.jpg"
    with open(big, "wb") as fh:  # a JPEG's first bytes, then 30 MB of nothing (sparse: instant)
        fh.write((MEDIA / "astronaut.jpg").read_bytes()[:4096])
        fh.truncate(30_000_000)
    _, (result,), _ = run(capsys, "--quick", f"{base}/f/huge.jpg")
    size = next(f for f in result["findings"] if f["rule"] == "url.size")
    assert size["outcome"] == "fail" and "30.0 MB at the link; the limit is 29 MB" in size["message"]
