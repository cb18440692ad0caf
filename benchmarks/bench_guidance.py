"""`POST /v1/guidance` round trip for one camera frame, landscape 640x360 and portrait 360x640 (the
page's frame for a phone held upright), over HTTP on 127.0.0.1.

    python benchmarks/bench_guidance.py [--frames 200]
    python benchmarks/bench_guidance.py --recorders 16 [--seconds 30]

A fresh `preflight serve`; a real face (tests/media) in a JPEG of each shape, as the recorder page
sends it (quality 0.75); frames sent one after another, as the page does (it waits for each answer).
Prints, per shape, the median, p95 and max round trip of a sequence of frames (one ``stream``: the face
followed from frame to frame), and the frames per second the page can get (1 / median), next to the
in-process CPU time of the measure: a frame alone (the whole frame and the squares searched) and a
frame in a sequence.

With ``--recorders N``: N simulated capture elements at once, each as the element behaves (a frame
every 200 ms, the next only when the last answer came, with the last answer's follow state; on 429 it
waits twice as long, up to 1 s): the answers' p50/p95, the 429s, and each recorder's longest wait
between two answers. ``bench_serve.py --nodes N`` uses the same recorders over several nodes, each
frame sent to the node with the fewest requests in flight (a load balancer's least-connections).
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


class LeastBusy:
    """A load balancer's choice for each request: the node with the fewest requests in flight (HAProxy's
    ``balance leastconn``), ties taken in turn. Any node may take any frame: the stream's state travels
    with it."""

    def __init__(self, urls: list[str]) -> None:
        import itertools
        import threading

        self.urls = urls
        self.busy = [0] * len(urls)
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def acquire(self) -> int:
        with self._lock:
            start = next(self._turn)
            order = [(start + i) % len(self.urls) for i in range(len(self.urls))]
            chosen = min(order, key=lambda i: self.busy[i])
            self.busy[chosen] += 1
            return chosen

    def release(self, chosen: int) -> None:
        with self._lock:
            self.busy[chosen] -= 1


def recorder(balancer: LeastBusy, data: bytes, until: float, out: dict[str, list[float]]) -> None:
    """One capture element: a frame every 200 ms, the next only when the last answer came, its follow
    state sent back with the next frame; each frame to the node the balancer picks."""
    import httpx

    delay, last, stream, follow = 0.2, None, str(id(out)), None  # gaps from the first answer on (a deep search)
    clients = [httpx.Client(base_url=url, timeout=30) for url in balancer.urls]
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            headers = {"content-type": "image/jpeg", **({"x-preflight-follow": follow} if follow else {})}
            chosen = balancer.acquire()
            try:
                reply = clients[chosen].post("/v1/guidance", params={"rules": "phoenix-4", "stream": stream},
                                             content=data, headers=headers)
            finally:
                balancer.release(chosen)
            now = time.perf_counter()
            if reply.status_code == 200:
                out["ok"].append((now - started) * 1000)
                follow = reply.json().get("follow")
                if last is not None:
                    out["gaps"].append(now - last)
                last, delay = now, 0.2
            else:
                out["shed"].append(1.0)
                delay = min(1.0, delay * 2)
            time.sleep(max(0.05, delay - (time.perf_counter() - started)))
    finally:
        for client in clients:
            client.close()


def recorders(urls: list[str], count: int, seconds: float) -> list[dict[str, list[float]]]:
    """``count`` recorders at once for ``seconds``, their frames spread over ``urls`` by the least busy."""
    import threading

    data = frame((640, 360))
    balancer = LeastBusy(urls)
    results: list[dict[str, list[float]]] = [{"ok": [], "gaps": [], "shed": []} for _ in range(count)]
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=recorder, args=(balancer, data, until, r)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def report(results: list[dict[str, list[float]]], seconds: float) -> dict[str, float]:
    ok = sorted(x for r in results for x in r["ok"])
    gaps = [max(r["gaps"], default=seconds) for r in results]
    every = sorted(g for r in results for g in r["gaps"])
    figures = {"answered": len(ok), "per_s": len(ok) / seconds, "p50": ok[len(ok) // 2],
               "p95": ok[int(0.95 * (len(ok) - 1))], "max": ok[-1], "shed": sum(len(r["shed"]) for r in results),
               "worst_gap": max(gaps), "median_gap": statistics.median(gaps), "over_1s": sum(g > 1.0 for g in every),
               "gaps": len(every), "p99_gap": every[int(0.99 * (len(every) - 1))]}
    print(f"  answered: {figures['answered']} ({figures['per_s']:.1f}/s), shed with 429: {figures['shed']}")
    print(f"  answer time: p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, max {figures['max']:.0f} ms")
    print(f"  longest wait between two answers, worst recorder: {figures['worst_gap']:.2f} s (median recorder "
          f"{figures['median_gap']:.2f} s); waits over 1 s: {figures['over_1s']} of {figures['gaps']}, "
          f"p99 {figures['p99_gap']:.2f} s")
    return figures


def many(count: int, seconds: float) -> None:
    data = frame((640, 360))
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server, server.client() as http:
        for _ in range(10):
            http.post("/v1/guidance", content=data, headers={"content-type": "image/jpeg"})
        print(f"{count} recorders at 5 frames/s for {seconds:g} s, landscape 640x360, 127.0.0.1")
        report(recorders([server.url], count, seconds), seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--recorders", type=int, default=0, help="simulate this many capture elements at once")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--urls", nargs="+", help="with --recorders: these running nodes (no server of its own); "
                                              "the figures also as one JSON line")
    args = ap.parse_args()
    if args.recorders and args.urls:
        import json

        figures = report(recorders(args.urls, args.recorders, args.seconds), args.seconds)
        print(json.dumps(figures))
        return
    if args.recorders:
        many(args.recorders, args.seconds)
        return
    from preflight.judge.ruleset import load
    from preflight.run.guidance import judge_frame

    rules = load("phoenix-4")
    shapes = {"landscape 640x360": frame((640, 360)), "portrait 360x640": frame((360, 640))}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp) / "data") as server, server.client() as http:
        for shape, data in shapes.items():
            for _ in range(5):
                judge_frame(data, rules)
            inside, followed, follow, t = [], [], None, 0.0
            for _ in range(50):
                started = time.process_time()
                judge_frame(data, rules)
                inside.append((time.process_time() - started) * 1000)
            for _ in range(150):  # a sequence at 5 frames/s: followed, the whole frame once a second
                started = time.process_time()
                follow, t = judge_frame(data, rules, follow, t).follow, t + 0.2
                followed.append((time.process_time() - started) * 1000)
            for _ in range(10):  # warm: the route's rule set and the thread's detectors
                http.post("/v1/guidance", content=data, headers={"content-type": "image/jpeg"})
            trips, carried = [], None
            for _ in range(args.frames):  # one stream, its follow state sent back with each frame, as the page does
                started = time.perf_counter()
                headers = {"content-type": "image/jpeg", **({"x-preflight-follow": carried} if carried else {})}
                reply = http.post("/v1/guidance", params={"rules": "phoenix-4", "stream": shape}, content=data,
                                  headers=headers)
                trips.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200
                carried = reply.json()["follow"]
            trips.sort()
            median = statistics.median(trips)
            print(f"{shape}: {args.frames} frames ({len(data) // 1024} KiB JPEG), one at a time, 127.0.0.1")
            print(f"  round trip: median {median:.1f} ms, p95 {trips[int(0.95 * (len(trips) - 1))]:.1f} ms, "
                  f"max {trips[-1]:.1f} ms -> {1000 / median:.0f} frames/s sustainable")
            print(f"  the measure alone, in-process CPU: a frame alone median {statistics.median(inside):.1f} ms; in a "
                  f"sequence median {statistics.median(followed):.1f} ms, p95 {sorted(followed)[142]:.1f} ms")


if __name__ == "__main__":
    main()
