"""An earlier version of preflight, built in a scratch virtual environment beside this checkout, so that a
benchmark can run it side by side with the version here.

    python benchmarks/baseline.py COMMIT        # prints the path of its `preflight` command

The commit's tree is taken with ``git archive`` from this repository and installed with pip (its
dependencies from the package index) into ``benchmarks/out/venv-COMMIT/``, once; later calls reuse it.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"


def preflight_of(commit: str) -> Path:
    """The ``preflight`` command of ``commit``, installed in a virtual environment of its own."""
    short = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=7", commit], capture_output=True,
                           text=True, check=True).stdout.strip()
    venv = OUT / f"venv-{short}"
    command = venv / "bin" / "preflight"
    if command.exists():
        return command
    source = OUT / f"src-{short}"
    if not source.exists():
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", short], capture_output=True,
                                 check=True).stdout
        source.mkdir(parents=True)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(source, filter="data")
    print(f"building preflight {short} in {venv} …", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(source)], check=True)
    return command


if __name__ == "__main__":
    print(preflight_of(sys.argv[1]))
