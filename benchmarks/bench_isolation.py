"""What crash isolation costs the commands people run on one file: this version against an earlier one
(by default ca79c48, the last before the crash-isolation pool, which measured in-process), side by side.

    python benchmarks/bench_isolation.py [--baseline ca79c48] [--runs 7] [--seconds 60]

The earlier version is built in a scratch virtual environment (``baseline.py``; once, then reused).
Each command runs ``--runs`` times, the two versions taking turns (so a slow spell of the machine hits
both), as fresh processes with an empty result cache (``--no-cache``); the median wall time of each
and their ratio are printed:

- ``check`` of one headshot (sample_media/headshot.jpg) and of one 60 s 1920x1080 video with a face
  (``bench_check.py``'s clip);
- ``fix`` of one 10 s HEVC clip whose sound is too quiet (a re-encode and a two-pass loudness);
- ``submit --dry-run`` of the headshot (its check, Tavus's image check and the request it would send,
  against the tests' stand-in for the Tavus API on 127.0.0.1; no face made).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.baseline import preflight_of  # noqa: E402
from benchmarks.bench_check import OUT, make_clip  # noqa: E402

CURRENT = [sys.executable, "-m", "preflight"]


def quiet_hevc() -> Path:
    from tests.support.media_factory import VideoSpec, make_video

    path = OUT / "bench-hevc-quiet-10s.mp4"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        make_video(path, VideoSpec(width=1280, height=720, seconds=10, codec="libx265", tone=0.003))
    return path


def once(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode(errors='replace')[-500:]}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", default="ca79c48")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=int, default=60)
    args = ap.parse_args()
    earlier = [str(preflight_of(args.baseline))]
    headshot = HERE.parent / "sample_media" / "headshot.jpg"
    video = make_clip(args.seconds, "1920x1080", 30, face=True)
    clip = quiet_hevc()
    from tests.support.tavus_server import API_KEY, TavusStandIn

    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as tmp, TavusStandIn() as tavus:
        fixed = Path(tmp) / "fixed.mp4"
        env = {**os.environ, "PREFLIGHT_CACHE_DIR": str(Path(tmp) / "cache"), "PREFLIGHT_STATE_DIR": str(Path(tmp)),
               "TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url}
        cases = [
            ("check, one headshot", ["check", "--no-cache", "-q", str(headshot)]),
            (f"check, one {args.seconds} s video", ["check", "--no-cache", "-q", str(video)]),
            ("fix, one 10 s HEVC clip", ["fix", str(clip), "-o", str(fixed)]),
            ("submit --dry-run, one headshot", ["submit", "--dry-run", "--bucket", "b", "--voice-name", "anna",
                                                str(headshot)]),
        ]
        print(f"median of {args.runs} runs, taking turns; {os.cpu_count()} CPUs; {args.baseline} from its own venv")
        print(f"{'command':<34} {args.baseline:>9} {'now':>9} {'now / then':>11}")
        for label, command in cases:
            times: dict[str, list[float]] = {"then": [], "now": []}
            for _ in range(args.runs):
                for side, prefix in (("then", earlier), ("now", CURRENT)):
                    fixed.unlink(missing_ok=True)
                    times[side].append(once([*prefix, *command], env))
            then, now = statistics.median(times["then"]), statistics.median(times["now"])
            print(f"{label:<34} {then:>8.2f}s {now:>8.2f}s {now / then:>10.2f}x")


if __name__ == "__main__":
    main()
