"""Write the README's quick-start output from a real run of `preflight check sample_media/`.

    python scripts/readme_example.py           # rewrite the block in README.md
    python scripts/readme_example.py --check   # exit 1 if README.md shows something else (tests run this)

The block sits between the markers ``<!-- quickstart-output:begin -->`` and ``<!-- quickstart-output:end -->``.
The run is the one a newcomer makes (no colour, no cache), from the repository root.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- quickstart-output:begin -->", "<!-- quickstart-output:end -->"


def run_quickstart() -> str:
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-c", "from preflight.cli import main; raise SystemExit(main())",
                           "check", "--no-cache", "sample_media/"], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"preflight check sample_media/ exited {proc.returncode}:\n{proc.stderr}")
    return f"```console\n$ preflight check sample_media/\n{proc.stdout.rstrip()}\n```"


def rendered(readme: str, block: str) -> str:
    head, sep, rest = readme.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"README.md has no {BEGIN} … {END} block")
    return f"{head}{BEGIN}\n{block}\n{END}{tail}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only compare; exit 1 when README.md differs")
    args = ap.parse_args()
    path = ROOT / "README.md"
    readme = path.read_text(encoding="utf-8")
    wanted = rendered(readme, run_quickstart())
    if args.check:
        if wanted != readme:
            print("README.md's quick-start output differs from a real run: python scripts/readme_example.py",
                  file=sys.stderr)
            return 1
        return 0
    path.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
