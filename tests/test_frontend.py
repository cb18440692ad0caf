"""The capture element's front-end checks itself: its ES modules (``preflight/serve/static``) are typed by
their JSDoc and checked by TypeScript (``tsc --checkJs``, strict, ``jsconfig.json``), linted by ESLint
(``eslint.config.js``), their logic unit-tested with Node's own test runner (``tests/js/``), and no module
is over 300 lines. The tools come from ``package-lock.json`` (``npm ci``, which ``.ci/run`` runs)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

STATIC = REPO / "preflight" / "serve" / "static"
BIN = REPO / "node_modules" / ".bin"
needs_npm = pytest.mark.skipif(not (BIN / "tsc").exists() or not (BIN / "eslint").exists() or shutil.which("node") is None,
                               reason="no front-end tools: npm ci (in .ci/run) installs them from package-lock.json")


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_no_module_of_the_element_is_over_300_lines() -> None:
    modules = [STATIC / "capture.js", *sorted((STATIC / "capture").glob("*.js"))]
    assert len(modules) >= 6
    long = {p.name: n for p in modules if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300}
    assert long == {}


@needs_npm
def test_the_modules_type_check_with_their_jsdoc() -> None:
    done = run(str(BIN / "tsc"), "-p", "jsconfig.json")
    assert done.returncode == 0, done.stdout + done.stderr


@needs_npm
def test_the_modules_and_their_tests_lint_clean() -> None:
    done = run(str(BIN / "eslint"), "--max-warnings", "0", "preflight/serve/static", "tests/js")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("node") is None, reason="no Node.js")
def test_the_elements_logic_passes_its_unit_tests() -> None:
    done = run("node", "--test", "tests/js/")
    assert done.returncode == 0 and "# fail 0" in done.stdout, done.stdout + done.stderr
    assert "# pass 12" in done.stdout or int(done.stdout.split("# pass ")[1].split()[0]) >= 12
