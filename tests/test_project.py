"""A media repository's settings (preflight.toml / [tool.preflight]): rule sets per path, excludes,
Git LFS pointers, fail level; found from the working directory; errors are one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.cli import main
from tests.conftest import IMAGE_FILES_ONLY
from tests.support.media_factory import VideoSpec, make_image, make_video

POINTER = ("version https://git-lfs.github.com/spec/v1\n"
           "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A media repository: videos in faces/ and faces/legacy/, a headshot, raw footage, an LFS pointer."""
    (tmp_path / ".git").mkdir()
    for folder in ("faces/legacy", "headshots", "raw"):
        (tmp_path / folder).mkdir(parents=True)
    clip = make_video(tmp_path / "faces" / "ana.mp4", VideoSpec(width=1280, height=720))
    (tmp_path / "faces" / "legacy" / "old.mp4").write_bytes(clip.read_bytes())
    (tmp_path / "raw" / "take1.mp4").write_bytes(clip.read_bytes())
    make_image(tmp_path / "headshots" / "ana.jpg")
    (tmp_path / "faces" / "big.mp4").write_text(POINTER)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "headshots.toml").write_text(Path(IMAGE_FILES_ONLY).read_text())
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, dict]]:
    code = main(["check", "--quick", "--format", "json", *args])
    doc = json.loads(capsys.readouterr().out)
    return code, {r["path"]: r for r in doc["results"]}


CONFIG = """
exclude = ["raw/"]
lfs-pointers = "skip"

[rulesets]
"faces/legacy/**" = "phoenix-3"
"faces/**/*.mp4" = "phoenix-4"
"headshots/**" = "rules/headshots.toml"
"""


def test_rule_sets_per_path_excludes_and_lfs_policy(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "preflight.toml").write_text(CONFIG)
    code, results = check(capsys, ".")
    assert set(results) == {"faces/ana.mp4", "faces/big.mp4", "faces/legacy/old.mp4", "headshots/ana.jpg"}
    assert results["faces/legacy/old.mp4"]["ruleset"] == "phoenix-3"  # the first matching pattern wins
    assert results["faces/ana.mp4"]["ruleset"] == "phoenix-4"
    assert results["headshots/ana.jpg"]["ruleset"] == "image-files-only"  # a rule file beside the config
    assert results["faces/big.mp4"]["verdict"] == "skip" and results["faces/big.mp4"]["not_fetched"]
    assert code == 1  # the 720p clips fail phoenix-4's resolution rule


def test_the_command_line_overrides_the_project(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "preflight.toml").write_text(CONFIG)
    _, results = check(capsys, "--rules", "phoenix-3", "--lfs-pointers", "fail", "faces")
    assert {r["ruleset"] for p, r in results.items() if p.endswith("ana.mp4") or p.endswith("old.mp4")} == {"phoenix-3"}
    assert results["faces/big.mp4"]["verdict"] == "fail"


def test_pyproject_table_and_explicitly_named_files_are_excluded_too(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "pyproject.toml").write_text('[project]\nname = "media"\n\n[tool.preflight]\nexclude = ["raw/", "*.jpg"]\n'
                                         'fail-level = "warning"\n')
    code = main(["check", "--quick", "--format", "json", "raw/take1.mp4", "headshots/ana.jpg"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["results"] == [] and doc["fail_level"] == "warning"


def test_found_from_a_subdirectory_but_not_above_the_repository(repo: Path, capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "preflight.toml").write_text(CONFIG)
    monkeypatch.chdir(repo / "faces")
    _, results = check(capsys, "legacy/old.mp4")
    assert results["legacy/old.mp4"]["ruleset"] == "phoenix-3"
    inner = repo / "faces" / "legacy"
    (inner / ".git").mkdir()  # a nested repository: its own root, without a config
    monkeypatch.chdir(inner)
    _, results = check(capsys, "old.mp4")
    assert results["old.mp4"]["ruleset"] == "phoenix-4"


@pytest.mark.parametrize(("text", "message"), [
    ("lfs_pointers = 'skip'\n", "preflight.toml: unknown key 'lfs_pointers'; expected one of: exclude, lfs-pointers"),
    ("lfs-pointers = 'maybe'\n", "preflight.toml → lfs-pointers: 'maybe' is not one of ['fail', 'skip']"),
    ("[rulesets]\n'faces/**' = 'phoenix-9'\n", "unknown rule set 'phoenix-9'"),
    ("exclude = 'raw/'\n", "preflight.toml → exclude: 'raw/' is not of type 'array'"),
    ("exclude = [\n", "preflight.toml: not valid TOML"),
])
def test_a_bad_config_is_one_line_exit_2(repo: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    (repo / "preflight.toml").write_text(text)
    assert main(["check", "--quick", "faces/ana.mp4"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_explicit_config_file(repo: Path, tmp_path_factory: pytest.TempPathFactory,
                              capsys: pytest.CaptureFixture[str]) -> None:
    elsewhere = tmp_path_factory.mktemp("settings") / "team.toml"
    elsewhere.write_text('[rulesets]\n"**" = "phoenix-3"\n')
    _, results = check(capsys, "--config", str(elsewhere), str(repo / "faces" / "ana.mp4"))
    assert next(iter(results.values()))["ruleset"] == "phoenix-4"  # patterns are relative to the config's folder
    (repo / "team.toml").write_text('[rulesets]\n"**" = "phoenix-3"\n')
    _, results = check(capsys, "--config", "team.toml", "faces/ana.mp4")
    assert results["faces/ana.mp4"]["ruleset"] == "phoenix-3"
    assert main(["check", "--config", "missing.toml", "faces/ana.mp4"]) == 2
    assert "--config missing.toml: no such file" in capsys.readouterr().err


def test_fix_judges_by_the_projects_rule_set(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fix", "--dry-run", "headshots/ana.jpg"]) == 1  # the default image rules want a face
    assert "face.count" in capsys.readouterr().out
    (repo / "preflight.toml").write_text(CONFIG)  # headshots/** -> rules without the face rules
    assert main(["fix", "--dry-run", "headshots/ana.jpg"]) == 0
    assert "nothing to fix, every rule passes" in capsys.readouterr().out
