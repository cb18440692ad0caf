"""`check --scheduler` on a Dask cluster on this machine against a local run of the same files.

    python benchmarks/bench_cluster.py [--clips 8] [--seconds 20] [--runs 1]

Generates N clips (1280x720 H.264 + AAC, testsrc2 with a real face in the middle, benchmarks/out/),
then times, each as a fresh `preflight check --no-cache` process: the local batch (worker processes,
one per core), a cluster with 1 worker process, and with 2 (started with `dask scheduler` /
`dask worker --nthreads 1`, on 127.0.0.1). The scheduler's cost per file is measured on N tiny images,
where the check itself is nearly free: (cluster time - local time) / N.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench_check import OUT, make_clip  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def cluster(workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard", "--no-show"])]
    procs += [start([dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"])
              for _ in range(workers)]
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(workers, timeout=60)
    return address, procs


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        p.wait(timeout=20)


def timed(args: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start_t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "preflight", "check", "--quiet", "--no-cache", *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - start_t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    folder = OUT / f"cluster-{args.clips}x{args.seconds}s"
    folder.mkdir(parents=True, exist_ok=True)
    source = make_clip(args.seconds, "1280x720", 30, face=True)
    for i in range(args.clips):
        if not (folder / f"clip{i}.mp4").exists():
            shutil.copy(source, folder / f"clip{i}.mp4")
    tiny = OUT / "cluster-tiny"
    tiny.mkdir(exist_ok=True)
    for i in range(40):
        if not (tiny / f"face{i}.jpg").exists():
            shutil.copy(HERE.parent / "sample_media" / "headshot.jpg", tiny / f"face{i}.jpg")
    rows = [("local, worker processes (one per core)", timed([str(folder)], args.runs), None)]
    tiny_local = timed([str(tiny)], args.runs)
    for workers in (1, 2):
        address, procs = cluster(workers)
        try:
            rows.append((f"Dask, {workers} worker process{'es' * (workers > 1)}",
                         timed(["--scheduler", address, str(folder)], args.runs),
                         timed(["--scheduler", address, str(tiny)], args.runs) if workers == 1 else None))
        finally:
            stop(procs)
    print(f"{args.clips} clips of {args.seconds} s 1280x720 (a face on testsrc2), {os.cpu_count()} CPUs, "
          f"median of {args.runs}")
    print(f"{'run':<40} {'seconds':>8} {'s / clip':>9}")
    for name, seconds, _ in rows:
        print(f"{name:<40} {seconds:>8.2f} {seconds / args.clips:>9.2f}")
    one = next(t for n, _, t in rows if t is not None)
    assert one is not None
    print(f"scheduler cost per file (40 tiny images: {one:.2f} s on 1 worker vs {tiny_local:.2f} s locally): "
          f"{(one - tiny_local) / 40 * 1000:.0f} ms")


if __name__ == "__main__":
    main()
