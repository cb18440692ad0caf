"""The GitHub Action's script (action.yml runs .github-action/check-changed.sh), run here as GitHub
would run it on a pull request: in a repository with a base and a head commit, with GITHUB_OUTPUT set.
The SARIF upload and the setup steps are GitHub's own actions and are not run here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml  # PyYAML, declared in the test extra

from tests.conftest import REPO, real_portrait
from tests.support.media_factory import make_image

SCRIPT = REPO / ".github-action" / "check-changed.sh"


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def run_action(repo: Path, tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    outputs = tmp_path / "github_output"
    outputs.write_text("")
    env = {**os.environ, "GITHUB_OUTPUT": str(outputs), "RUNNER_TEMP": str(tmp_path), "NO_COLOR": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", **inputs}
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return proc, dict(line.split("=", 1) for line in outputs.read_text().splitlines())


def test_the_action_checks_only_the_media_a_pull_request_changes(tmp_path: Path) -> None:
    repo = tmp_path / "media-repo"
    (repo / "headshots").mkdir(parents=True)
    git(repo, "init", "-q")
    real_portrait(640).save(repo / "headshots" / "old.jpg", quality=92)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    make_image(repo / "headshots" / "new photo.png", size=(300, 300))  # too small, no face: fails
    (repo / "notes.txt").write_text("not media\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "head")
    proc, outputs = run_action(repo, tmp_path, BASE_SHA=base, HEAD_SHA=git(repo, "rev-parse", "HEAD"))
    assert proc.returncode == 0, proc.stderr  # the script never fails; action.yml fails on exit-code
    assert outputs["exit-code"] == "1"
    assert "::error file=headshots/new photo.png" in proc.stdout and "old.jpg" not in proc.stdout
    sarif = json.loads(Path(outputs["sarif"]).read_text())
    rules = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"image.resolution", "face.count"} <= rules
    assert all("new photo.png" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               for r in sarif["runs"][0]["results"])


def test_no_changed_media_is_a_pass(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a.txt").write_text("a\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    proc, outputs = run_action(repo, tmp_path, BASE_SHA=base, HEAD_SHA=base)
    assert proc.returncode == 0 and outputs == {"exit-code": "0", "sarif": ""}
    assert "nothing to check" in proc.stdout


def test_action_metadata_runs_the_script_and_uploads_sarif() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    steps = action["runs"]["steps"]
    assert action["runs"]["using"] == "composite"
    assert any("check-changed.sh" in s.get("run", "") for s in steps)
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in steps)
    assert set(action["inputs"]) >= {"rules", "fail-level", "paths", "upload-sarif"}
