"""preflight as a library: ``preflight.check``, ``fix``, ``load_rules`` and ``submit`` give what the
command line gives; bad input comes back as a result, never as an exception; every JSON document
preflight writes follows the schema that ships in the package."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from PIL import Image

import preflight
from preflight.cli import main
from tests.conftest import IMAGE_FILES_ONLY, real_portrait
from tests.support.hostile import special_files
from tests.support.media_factory import VideoSpec, make_image, make_video

SCHEMA = json.loads((Path(preflight.__file__).parent / "schemas" / "report-1.schema.json").read_text())


def valid(document: dict) -> dict:
    jsonschema.validate(document, SCHEMA)
    return document


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a passing headshot, an off-centre one, a clip, and bad input of several kinds."""
    folder = tmp_path_factory.mktemp("library")
    real_portrait(640).save(folder / "headshot.jpg", quality=92)
    off = Image.new("RGB", (1800, 1000), (92, 96, 104))
    off.paste(real_portrait(600), (60, 200))  # far left: face.centered fails
    off.save(folder / "off-centre.jpg", quality=92)
    make_video(folder / "clip.mp4", VideoSpec(seconds=1.5))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "pointer.mp4").write_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n")
    special_files(folder)
    return folder


def test_check_returns_a_report_like_the_command_line(media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = preflight.check(media, cache=False)
    assert isinstance(report, preflight.Report)
    verdicts = {Path(r.path).name: r.verdict for r in report.results}
    assert verdicts == {"clip.mp4": "fail", "empty.mp4": "error", "headshot.jpg": "pass", "off-centre.jpg": "fail",
                        "pipe.mp4": "error", "pointer.mp4": "fail", "zero.mp4": "error"}
    headshot = next(r for r in report.results if r.path.endswith("headshot.jpg"))
    assert all(isinstance(f, preflight.Finding) for f in headshot.findings) and headshot.findings
    library = valid(json.loads(report.to_json()))
    main(["check", "--no-cache", "--format", "json", str(media)])
    cli = valid(json.loads(capsys.readouterr().out))
    assert library == cli


def test_bad_input_raises_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty-folder").mkdir()
    report = preflight.check(tmp_path / "missing.mp4", tmp_path / "empty-folder", cache=False)
    assert [(Path(r.path).name, r.verdict) for r in report.results] == [("missing.mp4", "error"),
                                                                         ("empty-folder", "error")]
    assert "no such file" in (report.results[0].error or "")
    assert report.summary["errors"] == 2


def test_a_mistake_in_the_call_itself_raises(tmp_path: Path) -> None:
    with pytest.raises(preflight.PreflightError, match="phoenix-9"):
        preflight.check(tmp_path, rules="phoenix-9")
    with pytest.raises(preflight.PreflightError):
        preflight.load_rules("no-such-rules")
    rules = preflight.load_rules("phoenix-4")
    assert isinstance(rules, preflight.RuleSet) and rules.kind == "video"
    assert "video.fps" in [r.id for r in rules.rules]


def test_fix_writes_a_new_file_and_reports_bad_input_as_an_outcome(media: Path, tmp_path: Path) -> None:
    out = tmp_path / "reframed.jpg"
    outcome = preflight.fix(media / "off-centre.jpg", output=out)
    assert outcome.output == out and out.exists() and outcome.passed and "fix plan" in outcome.log
    nothing = preflight.fix(media / "headshot.jpg")
    assert nothing.output is None and nothing.passed
    broken = preflight.fix(media / "empty.mp4")
    assert broken.output is None and not broken.passed and "empty" in broken.log


def test_every_json_document_follows_the_schema(media: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """The JSON format under every option that changes its content: cached results, --quick,
    warnings failing, skipped LFS pointers, and the image rules alone."""
    runs = [[], [], ["--quick", "--no-cache"], ["--fail-level", "warning"], ["--lfs-pointers", "skip"],
            ["--rules", IMAGE_FILES_ONLY]]
    for args in runs:
        main(["check", "--format", "json", *args, str(media)])
        doc = valid(json.loads(capsys.readouterr().out))
        assert doc["summary"]["files"] == 7
    assert any(r["cached"] for r in doc["results"])
    report = tmp_path / "report.json"
    main(["check", "--format", "json", "-o", str(report), "--quiet", str(media / "clip.mp4")])
    valid(json.loads(report.read_text()))


def test_importing_the_package_stays_cheap() -> None:
    """A web backend importing preflight, or the command line starting, loads no decoder or model."""
    code = "import sys, preflight; preflight.__all__; print(sorted(m for m in ('av', 'cv2', 'numpy', 'dlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_api_is_typed_and_documented() -> None:
    assert (Path(preflight.__file__).parent / "py.typed").is_file()
    for name in ("check", "fix", "load_rules", "submit"):
        doc = getattr(preflight, name).__doc__ or ""
        assert ">>> " in doc and len(doc.splitlines()) > 3, name
    assert set(preflight.__all__) >= {"check", "fix", "load_rules", "submit", "Report"}


def test_a_small_image_fails_with_its_rule(tmp_path: Path) -> None:
    small = make_image(tmp_path / "small.png", size=(300, 300))
    (result,) = preflight.check(small, rules=IMAGE_FILES_ONLY, cache=False).results
    assert result.verdict == "fail"
    assert [f.rule for f in result.findings if f.fails_at("error")] == ["image.resolution"]
