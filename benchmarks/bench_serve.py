"""`preflight serve` under 24 concurrent clients against `preflight check` of the same files in one batch.

    python benchmarks/bench_serve.py [--videos 8] [--headshots 16] [--clients 24] [--seconds 60] [--size 1080x1920]

Files: N 60 s 1920x1080 (or --size, e.g. 1080x1920 for a phone held upright) H.264 + AAC clips (testsrc2 with a real face in the middle) and M headshots
(the project's sample headshot), each made unique by a trailing MP4 `free` box or JPEG comment so that
no result comes from the cache. Then, side by side on the same files:

- batch: one `preflight check --no-cache FILES…` process (worker processes, one per core);
- service: a fresh `preflight serve` (one worker per core, an empty cache), and `--clients` threads
  that each POST the next file with `?wait=true` until none is left.

It prints files per minute for both, their ratio, and the service's p50 / p95 latency (request sent
to verdict received) for a headshot and for a 60 s video, under that load and then one request at a
time (3 more videos, 5 more headshots).
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_check import OUT, make_clip  # noqa: E402
from tests.support.serve_process import Server  # noqa: E402


def unique_copies(videos: int, headshots: int, seconds: int, run: str, size: str) -> list[Path]:
    folder = OUT / f"serve-{run}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    clip = make_clip(seconds, size, 30, face=True)
    files = []
    for i in range(videos):
        path = folder / f"take{i}.mp4"
        with open(path, "wb") as out:  # a trailing `free` box: the same media, another content hash
            out.write(clip.read_bytes())
            out.write(struct.pack(">I4s", 8 + 16, b"free") + f"{run}-{i:04d}".encode().ljust(16, b"."))
        files.append(path)
    jpeg = (HERE.parent / "sample_media" / "headshot.jpg").read_bytes()
    for i in range(headshots):
        path = folder / f"head{i}.jpg"
        comment = f"{run}-{i}".encode()  # a COM segment right after SOI: the same picture, another hash
        path.write_bytes(jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + jpeg[2:])
        files.append(path)
    return files


def batch(files: list[Path], cache: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "preflight", "check", "--quiet", "--no-cache", *map(str, files)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ,
                                                                              "PREFLIGHT_CACHE_DIR": str(cache)})
    return time.perf_counter() - start


def service(files: list[Path], clients: int, root: Path,
            alone: list[Path]) -> tuple[float, dict[str, list[float]], list[str], dict[str, list[float]]]:
    todo: queue.Queue[Path] = queue.Queue()
    for f in files:
        todo.put(f)
    latency: dict[str, list[float]] = {"headshot": [], "video": []}
    verdicts: list[str] = []
    lock = threading.Lock()
    server = Server(root / "data", env={"PREFLIGHT_CACHE_DIR": str(root / "cache")}).start()

    def client() -> None:
        with server.client(timeout=900) as http:
            while True:
                try:
                    path = todo.get_nowait()
                except queue.Empty:
                    return
                sent = time.perf_counter()
                reply = http.post("/v1/checks", params={"name": path.name, "wait": "true"}, content=path.read_bytes())
                took = time.perf_counter() - sent
                verdict = reply.json()["report"]["results"][0]["verdict"] if reply.status_code == 200 else \
                    f"HTTP {reply.status_code}"
                with lock:
                    latency["video" if path.suffix == ".mp4" else "headshot"].append(took)
                    verdicts.append(verdict)

    try:
        threads = [threading.Thread(target=client) for _ in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        single: dict[str, list[float]] = {"headshot": [], "video": []}
        with server.client(timeout=900) as http:  # one request at a time: the latency of the check itself
            for path in alone:
                sent = time.perf_counter()
                http.post("/v1/checks", params={"name": path.name, "wait": "true"}, content=path.read_bytes())
                single["video" if path.suffix == ".mp4" else "headshot"].append(time.perf_counter() - sent)
    finally:
        server.stop()
    return wall, latency, verdicts, single


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=8)
    ap.add_argument("--headshots", type=int, default=16)
    ap.add_argument("--clients", type=int, default=24)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--size", default="1920x1080", help="the videos' WIDTHxHEIGHT")
    args = ap.parse_args()
    n = args.videos + args.headshots
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as tmp:
        root = Path(tmp)
        batch_s = batch(unique_copies(args.videos, args.headshots, args.seconds, "batch", args.size), root / "batch-cache")
        wall, latency, verdicts, single = service(
            unique_copies(args.videos, args.headshots, args.seconds, "serve", args.size), args.clients, root,
            unique_copies(3, 5, args.seconds, "alone", args.size))
    print(f"{args.videos} videos ({args.seconds} s {args.size}, a face on testsrc2) + {args.headshots} headshots, "
          f"{os.cpu_count()} CPUs, {args.clients} concurrent clients")
    print(f"{'run':<34} {'seconds':>8} {'files/min':>10}")
    print(f"{'preflight check (one batch)':<34} {batch_s:>8.1f} {n / batch_s * 60:>10.1f}")
    print(f"{'preflight serve (' + str(args.clients) + ' clients)':<34} {wall:>8.1f} {n / wall * 60:>10.1f}")
    print(f"service / batch throughput: {batch_s / wall:.2f}")
    for kind, values in latency.items():
        if values:
            print(f"latency, {args.clients} clients, {kind:<9} p50 {pct(values, 50):6.1f} s   p95 {pct(values, 95):6.1f} s   "
                  f"(n={len(values)}, mean {statistics.mean(values):.1f} s)")
    for kind, values in single.items():
        print(f"latency, one client,  {kind:<9} p50 {pct(values, 50):6.2f} s   max {max(values):6.2f} s   (n={len(values)})")
    answered = sum(v in ("pass", "fail", "error") for v in verdicts)
    print(f"verdicts received: {answered} of {n}")


if __name__ == "__main__":
    main()
