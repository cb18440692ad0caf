"""Time `preflight check` on a file served over HTTP on 127.0.0.1 against the same file on disk,
side by side (fresh processes, taking turns, median; --no-cache), in full and with --quick. Also
counts the requests and the bytes the server sent (over loopback, what it pushes into the socket before
the reader closes counts too).

    python benchmarks/bench_remote.py [--runs 3] [FILE]

Without FILE it uses the 60 s 1080p clip bench_check.py generates (benchmarks/out/). The server is
tests/support/http_media.py (Python's http.server with byte ranges), so this measures preflight's way of
reading a link, not a network.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_check import make_clip  # noqa: E402
from tests.support.http_media import serving  # noqa: E402


def once(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    clip = (args.file or make_clip(60, "1920x1080", 30)).resolve()
    check = [sys.executable, "-m", "preflight", "check", "--quiet", "--no-cache"]
    with serving(clip.parent) as (base, requests):
        url = f"{base}/f/{clip.name}"
        rows = {"local full": [*check, str(clip)], "remote full": [*check, url],
                "local --quick": [*check, "--quick", str(clip)], "remote --quick": [*check, "--quick", url]}
        times: dict[str, list[float]] = {k: [] for k in rows}
        fetched: dict[str, tuple[int, int]] = {}
        for _ in range(args.runs):
            for name, cmd in rows.items():
                requests.clear()
                times[name].append(once(cmd))
                fetched[name] = (len(requests), requests.bytes_sent)
    size = clip.stat().st_size
    print(f"file: {clip.name} ({size / 1e6:.1f} MB), median of {args.runs} runs, served by {base}")
    print(f"{'command':<16} {'seconds':>8} {'× local':>8} {'requests':>9} {'MB sent':>8}")
    for name, values in times.items():
        local = statistics.median(times[name.replace("remote", "local")])
        asked, sent = fetched[name] if "remote" in name else ("", "")
        print(f"{name:<16} {statistics.median(values):>8.2f} {statistics.median(values) / local:>7.2f}× "
              f"{asked:>9} {sent if sent == '' else f'{sent / 1e6:.1f}':>8}")


if __name__ == "__main__":
    main()
