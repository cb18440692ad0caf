"""`preflight serve` under 24 concurrent clients against `preflight check` of the same files in one batch;
with ``--nodes N``, N nodes on one PostgreSQL and one S3 bucket against one node.

    python benchmarks/bench_serve.py [--videos 8] [--headshots 16] [--clients 24] [--seconds 60] [--size 1080x1920]
    python benchmarks/bench_serve.py --nodes 3 [--recorders 16] [--guidance-seconds 20]

Files: N 60 s 1920x1080 (or --size, e.g. 1080x1920 for a phone held upright) H.264 + AAC clips (testsrc2 with a real face in the middle) and M headshots
(the project's sample headshot), each made unique by a trailing MP4 `free` box or JPEG comment so that
no result comes from the cache. Then, side by side on the same files:

- batch: one `preflight check --no-cache FILES…` process (worker processes, one per core);
- service: a fresh `preflight serve` (one worker per core, an empty cache), and `--clients` threads
  that each POST the next file with `?wait=true` until none is left.

It prints files per minute for both, their ratio, and the service's p50 / p95 latency (request sent
to verdict received) for a headshot and for a 60 s video, under that load and then one request at a
time (3 more videos, 5 more headshots).

With ``--nodes N`` (on one machine): a PostgreSQL (Debian's, in a temporary folder) and a SeaweedFS S3
server are started as the tests start them; then, one after the other on the same kind of files: one
node as `preflight serve` runs by default (SQLite and its data folder, one worker per core), one node
on the database and the bucket, and N nodes on them, with the same analysis processes in all: W =
max(cores, N) workers (and as many for guidance) on the one node, W / N on each of the N nodes, the clients' requests sent to the nodes in turn (a load balancer without sticky
sessions). Each then gets ``--recorders`` simulated capture elements (``bench_guidance.py``'s) for
``--guidance-seconds``, each frame to the node with the fewest requests in flight (least connections:
any node may take any frame). It prints files per minute, the guidance
answers' p95 and the database's transactions for each, and the ratios: N nodes against one node on
the same database and bucket, and against the default node.
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
from typing import Any

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


def _work(files: list[Path]) -> tuple[queue.Queue[Path], dict[str, list[float]], list[str], threading.Lock]:
    """The files to send (a queue the clients share), the latencies and verdicts they gather, their lock."""
    todo: queue.Queue[Path] = queue.Queue()
    for f in files:
        todo.put(f)
    return todo, {"headshot": [], "video": []}, [], threading.Lock()


def _together(client: Any, clients: int) -> float:
    """``clients`` threads running ``client`` at once: the wall seconds until the last one ends."""
    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _kept(reply: Any, path: Path, took: float, latency: dict[str, list[float]], verdicts: list[str],
          lock: threading.Lock) -> None:
    """One answer's verdict (or its HTTP status) and its latency, by the file's kind."""
    verdict = reply.json()["report"]["results"][0]["verdict"] if reply.status_code == 200 else f"HTTP {reply.status_code}"
    with lock:
        latency["video" if path.suffix == ".mp4" else "headshot"].append(took)
        verdicts.append(verdict)


def service(files: list[Path], clients: int, root: Path,
            alone: list[Path]) -> tuple[float, dict[str, list[float]], list[str], dict[str, list[float]]]:
    todo, latency, verdicts, lock = _work(files)
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
                _kept(reply, path, time.perf_counter() - sent, latency, verdicts, lock)

    try:
        wall = _together(client, clients)
        single: dict[str, list[float]] = {"headshot": [], "video": []}
        with server.client(timeout=900) as http:  # one request at a time: the latency of the check itself
            for path in alone:
                sent = time.perf_counter()
                http.post("/v1/checks", params={"name": path.name, "wait": "true"}, content=path.read_bytes())
                single["video" if path.suffix == ".mp4" else "headshot"].append(time.perf_counter() - sent)
    finally:
        server.stop()
    return wall, latency, verdicts, single


def post_all(urls: list[str], files: list[Path], clients: int,
             token: str | None = None) -> tuple[float, dict[str, list[float]], list[str]]:
    """``clients`` threads POST the files with ``?wait=true`` until none is left, each request to the next
    of ``urls``; (wall seconds, latency by kind, verdicts)."""
    import httpx

    todo, latency, verdicts, lock = _work(files)
    turn = iter(range(10**9))
    headers = {"authorization": f"Bearer {token}"} if token else {}

    def client() -> None:
        while True:
            try:
                path = todo.get_nowait()
            except queue.Empty:
                return
            with lock:
                url = urls[next(turn) % len(urls)]
            sent = time.perf_counter()
            reply = httpx.post(f"{url}/v1/checks", params={"name": path.name, "wait": "true"}, content=path.read_bytes(),
                               headers=headers, timeout=900)
            _kept(reply, path, time.perf_counter() - sent, latency, verdicts, lock)

    return _together(client, clients), latency, verdicts


def nodes_run(args: argparse.Namespace) -> None:
    """One node against ``args.nodes`` nodes on one PostgreSQL and one S3 bucket (and the default node,
    SQLite and its folder, beside them): files per minute, guidance p95, the database's load."""
    from tests.support.nodes import Nodes
    from tests.support.postgres import Postgres
    from tests.support.seaweed import SeaweedS3

    cores = os.cpu_count() or 1
    total = max(cores, args.nodes)  # W: analysis processes in all, the jobs' (and guidance's, as many)
    print(f"{cores} CPUs; one node on PostgreSQL and S3 with {total} workers (and {total} for guidance), "
          f"{args.nodes} nodes with {max(1, total // args.nodes)} each")
    figures: dict[str, tuple[float, float]] = {}
    runs = (("one node, SQLite and its folder", 0), ("one node, PostgreSQL and S3", 1),
            (f"{args.nodes} nodes, PostgreSQL and S3", args.nodes))
    for label, count in runs:  # each with a database and an S3 server of its own: no run's aftermath in another's
        with tempfile.TemporaryDirectory(prefix="bench-nodes-") as tmp, Postgres() as postgres, \
                SeaweedS3(Path(tmp) / "seaweed") as s3:
            root = Path(tmp)
            cache = {"PREFLIGHT_CACHE_DIR": str(root / "cache")}
            if count == 0:
                single = Server(root / "one" / "data", env=cache).start(60).wait_ready()
                nodes, stop, database = [single], single.stop, None
            else:  # the same worker processes in all, for the jobs and for guidance: W on one node, W/N on each of N
                each = str(max(1, total // count))
                cluster = Nodes(root / "cluster", postgres, s3, count, "--workers", each, "--guidance-workers", each,
                                env=cache, token=None).start()
                nodes, stop, database = cluster.servers, cluster.stop, cluster.database
            try:
                figures[label] = measure(label, [node.url for node in nodes], database, args)
            finally:
                stop()
    (_, (default_rate, default_p95)), (_, (one_rate, one_p95)), (_, (many_rate, many_p95)) = figures.items()
    print(f"{args.nodes} nodes / one node (both on PostgreSQL and S3): files per minute {many_rate / one_rate:.2f}, "
          f"guidance p95 {many_p95 / one_p95:.2f}; against the default node: {many_rate / default_rate:.2f} and "
          f"{many_p95 / default_p95:.2f} ({cores} CPUs)")


def measure(label: str, urls: list[str], database: str | None, args: argparse.Namespace) -> tuple[float, float]:
    """(files per minute, guidance answers' p95 ms) of the nodes at ``urls``: the recorders first (on
    fresh nodes, so that no file's aftermath, an S3 server compacting say, weighs on them), then the
    files, requests round robin."""
    import json

    from benchmarks.bench_guidance import frame

    data = frame((640, 360))
    for url in urls:  # every node's guidance pool started
        for _ in range(5):
            httpx_post(url, data)
    print(f"{label}:")
    print(f"  {args.recorders} recorders at 5 frames/s for {args.guidance_seconds:g} s, each frame to the least busy "
          "node")
    # the recorders in a process of their own, started afresh: this one's heap, grown by the runs before,
    # would otherwise slow the later runs' clients (measured: whichever run came last had the worst p95)
    done = subprocess.run([sys.executable, str(HERE / "bench_guidance.py"), "--recorders", str(args.recorders),
                           "--seconds", str(args.guidance_seconds), "--urls", *urls], capture_output=True, text=True,
                          check=True)
    lines = done.stdout.rstrip().splitlines()
    print("\n".join(lines[:-1]))
    guided = json.loads(lines[-1])
    n = args.videos + args.headshots
    files = unique_copies(args.videos, args.headshots, args.seconds, f"nodes-{abs(hash(label))}", args.size)
    before = commits(database) if database else 0
    wall, _, verdicts = post_all(urls, files, args.clients)
    answered = sum(v in ("pass", "fail", "error") for v in verdicts)
    print(f"  {n} files in {wall:.1f} s, {n / wall * 60:.1f} files/min ({answered} verdicts)")
    if database:
        used = commits(database) - before
        time.sleep(10)
        idle = (commits(database) - before - used) / 10
        print(f"  database: {used} transactions ({used / n:.0f} per file, {used / wall:.0f}/s); idle {idle:.1f}/s "
              f"({idle / len(urls):.1f} per node)")
    return n / wall * 60, guided["p95"]


def commits(database: str) -> int:
    """Transactions the database has committed so far (PostgreSQL's own count)."""
    import psycopg

    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").fetchone()
    return int(row[0]) if row else 0


def httpx_post(url: str, data: bytes) -> None:
    import httpx

    httpx.post(f"{url}/v1/guidance", content=data, headers={"content-type": "image/jpeg"}, timeout=30)


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
    ap.add_argument("--nodes", type=int, default=1, help="N nodes on PostgreSQL and S3 against one node")
    ap.add_argument("--recorders", type=int, default=16, help="with --nodes: simulated capture elements")
    ap.add_argument("--guidance-seconds", type=float, default=20.0)
    args = ap.parse_args()
    if args.nodes > 1:
        nodes_run(args)
        return
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
