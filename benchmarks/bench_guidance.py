"""`POST /v1/guidance` round trip for one camera frame, landscape 640x360 and portrait 360x640 (the
page's frame for a phone held upright), over HTTP on 127.0.0.1.

    python benchmarks/bench_guidance.py [--frames 200]

A fresh `preflight serve`; a real face (tests/media) in a JPEG of each shape, as the recorder page
sends it (quality 0.75); frames sent one after another, as the page does (it waits for each answer).
Prints, per shape, the median, p95 and max round trip, and the frames per second the page can get
(1 / median), next to the in-process cost of the measure alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import cv2  # noqa: E402

from tests.conftest import face_frame  # noqa: E402
from tests.support.serve_process import Server  # noqa: E402


def frame(size: tuple[int, int]) -> bytes:
    rgb = face_frame("grace_hopper.jpg", size, face_px=min(size) // 3, centre=(0.5, 0.45))
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    return data.tobytes()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    from preflight.judge.ruleset import load
    from preflight.run.guidance import judge_frame

    rules = load("phoenix-4")
    shapes = {"landscape 640x360": frame((640, 360)), "portrait 360x640": frame((360, 640))}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server, server.client() as http:
        for shape, data in shapes.items():
            for _ in range(5):
                judge_frame(data, rules)
            inside = []
            for _ in range(50):
                started = time.perf_counter()
                judge_frame(data, rules)
                inside.append((time.perf_counter() - started) * 1000)
            for _ in range(10):  # warm: the route's rule set and the thread's detectors
                http.post("/v1/guidance", content=data, headers={"content-type": "image/jpeg"})
            trips = []
            for _ in range(args.frames):
                started = time.perf_counter()
                reply = http.post("/v1/guidance", params={"rules": "phoenix-4"}, content=data,
                                  headers={"content-type": "image/jpeg"})
                trips.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200
            trips.sort()
            median = statistics.median(trips)
            print(f"{shape}: {args.frames} frames ({len(data) // 1024} KiB JPEG), one at a time, 127.0.0.1")
            print(f"  round trip: median {median:.1f} ms, p95 {trips[int(0.95 * (len(trips) - 1))]:.1f} ms, "
                  f"max {trips[-1]:.1f} ms -> {1000 / median:.0f} frames/s sustainable")
            print(f"  the measure alone, in-process: median {statistics.median(inside):.1f} ms")


if __name__ == "__main__":
    main()
