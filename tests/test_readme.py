"""The README shows what a newcomer will see: its quick-start output is a real run's, character for character."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_quick_start_output_in_the_readme_is_a_real_run() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_example.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_quick_start_shows_a_pass_and_a_face_rule_at_work() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- quickstart-output:begin -->")[1].split("<!-- quickstart-output:end -->")[0]
    assert "PASS  sample_media/headshot.jpg" in block
    assert "face.centered" in block and "sample_media/headshot-off-centre.jpg" in block
    assert block.count("```") == 2  # one fenced block: the command and its output together


def test_docs_cited_by_the_product_are_in_the_repository() -> None:
    for path in [*(ROOT / "rules").glob("*.toml"), *(ROOT / "preflight").rglob("*.py"), *(ROOT / "docs").rglob("*.md")]:
        assert "../shared" not in path.read_text(), path
    assert "../shared/docs" not in (ROOT / "README.md").read_text()
    assert (ROOT / "docs" / "tavus-requirements.md").is_file()
