"""The pre-commit hook for real: pre-commit installs this repository's hook (at its HEAD commit) into a
scratch media repository; a commit with a bad headshot is blocked, with the rule and its fix on screen,
and goes through once the file is fixed with `preflight fix`. A Git LFS pointer is reported as not
fetched, and with the repository's ``lfs-pointers = "skip"`` does not block the commit.

Needs git, pre-commit, this checkout's git history (the hook is installed from a commit, as users
install it from a tag) and a real face from tests/media. Building the hook's environment takes pip
about 10-20 s with the wheels already in pip's cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import REPO

CONFIG = """\
lfs-pointers = "skip"      # CI checkouts without LFS must not fail; the pointer is still listed

[rulesets]
"headshots/**" = "image"
"""
POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "cd" * 32 + "\nsize 734003200\n"


def git(cwd: Path, *args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=check, timeout=600)


@pytest.fixture(scope="module")
def head() -> str:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("pre_commit", reason="pre-commit is not installed (pip install -e '.[test]')")
    found = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if found.returncode != 0 or not (REPO / ".pre-commit-hooks.yaml").is_file():
        pytest.skip("this checkout has no git history to install the hook from")
    return found.stdout.strip()


def test_commit_blocked_by_a_bad_file_and_allowed_once_fixed(head: str, tmp_path: Path) -> None:
    from tests.conftest import real_portrait

    media = tmp_path / "media"
    media.mkdir()
    (tmp_path / "gitconfig").write_text("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    git(media, "init", "-q", env=env)
    (media / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {REPO}\n    rev: {head}\n    hooks:\n      - id: preflight\n")
    (media / "preflight.toml").write_text(CONFIG)
    subprocess.run([sys.executable, "-m", "pre_commit", "install"], cwd=media, env=env, check=True,
                   capture_output=True, timeout=60)

    (media / "headshots").mkdir()
    (media / "faces").mkdir()
    portrait = real_portrait(600)
    canvas = Image.new("RGB", (1800, 1000), (92, 96, 104))
    canvas.paste(portrait, (60, 200))  # far left: face.centered fails
    canvas.save(media / "headshots" / "ana.jpg", quality=92)
    (media / "faces" / "ana-training.mp4").write_text(POINTER)
    (media / "notes.txt").write_text("not media: the hook ignores it\n")
    git(media, "add", "-A", env=env)

    blocked = git(media, "commit", "-m", "add Ana", env=env, check=False)
    shown = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, shown
    assert "headshots/ana.jpg: error face.centered: off-centre" in shown and "— fix: " in shown
    assert "faces/ana-training.mp4: skipped: not fetched" in shown
    assert "notes.txt" not in shown
    assert git(media, "rev-list", "--all", env=env).stdout == ""  # nothing was committed

    fixed = subprocess.run([sys.executable, "-m", "preflight", "fix", "headshots/ana.jpg"], cwd=media, env=env,
                           capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    (media / "headshots" / "ana.fixed.jpg").replace(media / "headshots" / "ana.jpg")
    git(media, "add", "-A", env=env)
    allowed = git(media, "commit", "-m", "add Ana (reframed)", env=env, check=False)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "Passed" in allowed.stdout + allowed.stderr
    assert git(media, "log", "--format=%s", env=env).stdout.strip() == "add Ana (reframed)"
