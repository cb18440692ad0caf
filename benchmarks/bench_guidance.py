"""`POST /v1/guidance` round trip for one 640x360 camera frame, over HTTP on 127.0.0.1.

    python benchmarks/bench_guidance.py [--frames 200]

A fresh `preflight serve`; a real face (tests/media) in a 640x360 JPEG, as the recorder page sends it
(quality 0.75); frames sent one after another, as the page does (it waits for each answer). Prints the
median, p95 and max round trip, and the frames per second the page can get (1 / median), next to the
in-process cost of the measure alone.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    args = ap.parse_args()
    rgb = face_frame("grace_hopper.jpg", (640, 360), face_px=120, centre=(0.5, 0.45))
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
    frame = data.tobytes()
    from preflight.ruleset import load
    from preflight.run.guidance import judge_frame

    rules = load("phoenix-4")
    for _ in range(5):
        judge_frame(frame, rules)
    inside = []
    for _ in range(50):
        started = time.perf_counter()
        judge_frame(frame, rules)
        inside.append((time.perf_counter() - started) * 1000)
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server, server.client() as http:
        for _ in range(10):  # warm: the route's rule set and the thread's detectors
            http.post("/v1/guidance", content=frame, headers={"content-type": "image/jpeg"})
        trips = []
        for _ in range(args.frames):
            started = time.perf_counter()
            reply = http.post("/v1/guidance", params={"rules": "phoenix-4"}, content=frame,
                              headers={"content-type": "image/jpeg"})
            trips.append((time.perf_counter() - started) * 1000)
            assert reply.status_code == 200
    trips.sort()
    median = statistics.median(trips)
    print(f"{args.frames} frames of 640x360 ({len(frame) // 1024} KiB JPEG), one at a time, 127.0.0.1")
    print(f"round trip: median {median:.1f} ms, p95 {trips[int(0.95 * (len(trips) - 1))]:.1f} ms, "
          f"max {trips[-1]:.1f} ms -> {1000 / median:.0f} frames/s sustainable")
    print(f"the measure alone, in-process: median {statistics.median(inside):.1f} ms")


if __name__ == "__main__":
    main()
