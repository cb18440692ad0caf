"""``preflight serve`` on many machines: three real nodes on 127.0.0.1 sharing one PostgreSQL (Debian's,
started by the tests) and one S3 bucket (SeaweedFS), requests sent round robin as a load balancer
without sticky sessions would: any node answers any request, and a node's death loses nothing."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import cv2
import httpx
import pytest

from tests.conftest import REPO, face_frame
from tests.support.hooks import Hooks
from tests.support.media_factory import VideoSpec, make_video, service_media
from tests.support.nodes import Nodes, slow, slow_env
from tests.support.serve_process import Server

ORIGIN = "http://127.0.0.2:8123"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = service_media(tmp_path_factory.mktemp("nodes-media"))
    make_video(folder / "long.mp4", VideoSpec(width=1280, height=720, seconds=12))  # a few seconds to check
    make_video(folder / "take.webm", VideoSpec(seconds=4, codec="libvpx-vp9", audio="libopus"))
    (folder / "notes.jpg").write_text("not a picture")
    return folder


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory, postgres, s3):  # type: ignore[no-untyped-def]
    """Three nodes, one worker each, a 3 s lease (a dead node's jobs move on quickly), started at once."""
    root = tmp_path_factory.mktemp("nodes")
    with Nodes(root, postgres, s3, 3, "--workers", "1", "--lease-s", "3", "--allow-private-urls", "--stop-grace-s", "1",
               env={**slow_env(root), "PREFLIGHT_SERVE_DRAIN_S": "1"}) as running:
        yield running


def cli_verdict(path: Path) -> tuple[str, list[tuple[str, str]]]:
    done = subprocess.run([sys.executable, "-m", "preflight", "check", "--format", "json", "--no-cache", str(path)],
                          capture_output=True, text=True)
    (result,) = json.loads(done.stdout)["results"]
    return result["verdict"], [(f["rule"], f["outcome"]) for f in result["findings"]]


def wait_job(node: Server, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    with node.client() as http:
        while True:
            job = http.get(f"/v1/checks/{job_id}")
            assert job.status_code == 200, job.text
            if job.json()["status"] == "done":
                return dict(job.json())
            assert time.monotonic() < deadline, job.json()
            time.sleep(0.1)


def test_three_nodes_migrate_once_and_any_node_answers_any_request(nodes: Nodes, media: Path) -> None:
    assert sorted(r[0] for r in nodes.rows("SELECT version FROM schema_migrations")) == [1, 2, 3]  # started at once
    for node in nodes.servers:
        assert httpx.get(f"{node.url}/readyz").status_code == 200
    hooks = Hooks()
    names = ["headshot.jpg", "cutout.png", "clip.mp4", "notes.jpg", "headshot.jpg", "clip.mp4"]
    sent = []
    for name in names:
        with nodes.next().client() as http:
            reply = http.post("/v1/checks", params={"name": name, "callback_url": hooks.url},
                              content=(media / name).read_bytes())
        assert reply.status_code == 202, reply.text
        sent.append((name, reply.json()["id"]))
    expected = {name: cli_verdict(media / name) for name in set(names)}
    for i, (name, job_id) in enumerate(sent):
        job = wait_job(nodes.servers[(i + 1) % 3], job_id)  # read from another node than the one it was sent to
        (result,) = job["report"]["results"]
        assert (result["verdict"], [(f["rule"], f["outcome"]) for f in result["findings"]]) == expected[name]
        pages = set()
        for node in nodes.servers:  # every node serves every report, from the bucket
            with node.client() as http:
                page = http.get(f"/v1/checks/{job_id}/report.html")
            assert page.status_code == 200 and "<html" in page.text.lower()
            pages.add(page.text)
        assert len(pages) == 1
    owners = {r[0] for r in nodes.rows("SELECT owner FROM jobs")}
    assert len(owners) >= 2, owners  # the work was shared
    deadline = time.monotonic() + 30
    while len(hooks.got) < len(sent):
        assert time.monotonic() < deadline, len(hooks.got)
        time.sleep(0.1)
    time.sleep(1.5)  # any second delivery would come by now
    delivered = sorted(json.loads(body)["id"] for _, body in hooks.got)
    assert delivered == sorted(job_id for _, job_id in sent)  # each callback once, by one node


def test_a_node_killed_with_jobs_running_loses_none_of_them(nodes: Nodes, media: Path) -> None:
    data = (media / "long.mp4").read_bytes()
    with nodes.servers[0].client() as http:
        ids = [http.post("/v1/checks", params={"name": f"long{i}.mp4"}, content=slow(data)).json()["id"]
               for i in range(3)]
    deadline = time.monotonic() + 30
    while not (running := nodes.rows("SELECT id, owner FROM jobs WHERE status = 'running' AND id = ANY(%s)", (ids,))):
        assert time.monotonic() < deadline, "no job ever ran"
        time.sleep(0.05)
    killed = running[0][1]
    victim = next(n for n in nodes.servers if killed.endswith(node_suffix(n)))
    lost = [r[0] for r in nodes.rows("SELECT id FROM jobs WHERE status = 'running' AND owner = %s", (killed,))]
    assert lost  # a job of the victim's is under way as it dies
    victim.kill()  # kill -9: the node and its workers, mid-job
    try:
        survivor = next(n for n in nodes.servers if n is not victim)
        for job_id in ids:
            job = wait_job(survivor, job_id)
            assert job["report"]["results"][0]["verdict"] in ("pass", "fail"), job  # a real verdict, not an error
        for job_id in lost:
            ((owner, attempts),) = nodes.rows("SELECT owner, attempts FROM jobs WHERE id = %s", (job_id,))
            assert owner != killed and attempts == 2  # another node ran it; the death counted
    finally:
        victim.start(60).wait_ready()


def node_suffix(node: Server) -> str:
    """The part of a node's name its data folder gives (``config.node_name``)."""
    import hashlib

    return "-" + hashlib.sha256(str(node.data.resolve()).encode()).hexdigest()[:8]


def test_a_takes_chunks_on_three_nodes_make_one_whole_checked_take(nodes: Nodes, media: Path) -> None:
    with nodes.next().client() as http:
        made = http.post("/v1/capture-sessions", json={"origin": ORIGIN, "max_takes": 2})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    data = (media / "take.webm").read_bytes()
    pieces = [data[i:i + 40_000] for i in range(0, len(data), 40_000)]

    def page(node: Server) -> httpx.Client:
        return httpx.Client(base_url=node.url, timeout=120, headers={"authorization": f"Bearer {token}", "origin": ORIGIN})

    with page(nodes.next()) as http:
        take = http.post("/v1/takes", json={"mime": "video/webm"}).json()
    for seq, piece in enumerate(pieces):
        with page(nodes.next()) as http:  # each chunk to the next node
            sent = http.post(f"/v1/takes/{take['id']}/chunks", params={"seq": seq}, content=piece)
        assert sent.status_code == 200 and not sent.json()["duplicate"], sent.text
    with page(nodes.servers[1]) as http:  # a chunk sent again to another node: a repeat, ignored
        again = http.post(f"/v1/takes/{take['id']}/chunks", params={"seq": len(pieces) - 1}, content=pieces[-1])
        assert again.status_code == 200 and again.json()["duplicate"]
    with page(nodes.servers[2]) as http:
        assert http.post(f"/v1/takes/{take['id']}/finish").status_code == 202
    with page(nodes.servers[0]) as http:
        deadline = time.monotonic() + 120
        while (shown := http.get(f"/v1/takes/{take['id']}").json())["status"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert shown["bytes"] == len(data) and shown["verdict"] in ("pass", "fail") and shown["fixed"]
    with nodes.servers[1].client() as http:
        media_reply = http.get(f"/v1/takes/{take['id']}/media")
    assert media_reply.status_code == 200 and media_reply.headers["content-type"] == "video/mp4"
    fixed = media.parent / "fixed-from-the-bucket.mp4"
    fixed.write_bytes(media_reply.content)
    with av.open(str(fixed)) as container:  # whole: every frame decodes, as long as the recording
        frames = sum(1 for _ in container.decode(video=0))
        duration = float(container.duration or 0) / av.time_base
    assert frames > 80 and abs(duration - 4.0) < 0.5


def test_six_take_starts_on_three_nodes_with_two_allowed_start_two(nodes: Nodes) -> None:
    with nodes.next().client() as http:
        token = http.post("/v1/capture-sessions", json={"origin": ORIGIN, "max_takes": 2}).json()["token"]
    targets = [nodes.servers[i % 3] for i in range(6)]
    start = threading.Barrier(6)

    def begin(node: Server) -> int:
        with httpx.Client(base_url=node.url, headers={"authorization": f"Bearer {token}", "origin": ORIGIN}) as http:
            start.wait()
            return http.post("/v1/takes", json={}).status_code

    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(begin, targets))
    assert codes == [201, 201, 403, 403, 403, 403]


def test_one_idempotency_key_sent_to_two_nodes_at_once_makes_one_job(nodes: Nodes, media: Path) -> None:
    body = (media / "headshot.jpg").read_bytes()
    for attempt in range(5):
        key = f"upload-{attempt}-{time.time()}"
        start = threading.Barrier(2)

        def send(node: Server) -> tuple[int, str]:
            with node.client() as http:
                start.wait()
                reply = http.post("/v1/checks", params={"name": "h.jpg"}, content=body, headers={"idempotency-key": key})
            return reply.status_code, reply.json()["id"]

        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(send, nodes.servers[:2]))
        assert {code for code, _ in answers} == {202} and len({job for _, job in answers}) == 1, answers
    assert nodes.rows("SELECT COUNT(*) FROM idempotency WHERE key LIKE 'check:upload-%%'")[0][0] == 5


def frames(count: int) -> list[bytes]:
    """A face drifting across the frame, as a camera sends it."""
    out = []
    for i in range(count):
        rgb = face_frame("grace_hopper.jpg", (640, 360), face_px=120, centre=(0.42 + 0.004 * i, 0.45))
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 75])
        out.append(data.tobytes())
    return out


def guide(targets: list[Server], pictures: list[bytes], stream: str) -> list[dict]:
    """One stream's frames, one after another, each to the next target, the follow state carried along
    (as the capture element does)."""
    answers, follow = [], None
    for i, picture in enumerate(pictures):
        node = targets[i % len(targets)]
        headers = {"content-type": "image/jpeg", **({"x-preflight-follow": follow} if follow else {})}
        with node.client() as http:
            reply = http.post("/v1/guidance", params={"rules": "phoenix-4", "stream": stream}, content=picture,
                              headers=headers)
        assert reply.status_code == 200, reply.text
        answers.append(reply.json())
        follow = reply.json()["follow"]
    return answers


def test_one_guidance_stream_over_three_nodes_answers_as_one_node_at_its_cost(nodes: Nodes) -> None:
    pictures = frames(30)
    guide(nodes.servers, pictures[:3], "warm")  # every node's guidance pool started
    one = guide(nodes.servers[:1], pictures, "alone")
    spread = guide(nodes.servers, pictures, "spread")

    def verdicts(answers: list[dict]) -> list[list[tuple[str, str]]]:
        return [[(f["rule"], f["outcome"]) for f in a["findings"]] for a in answers]

    assert verdicts(spread) == verdicts(one)  # the same answer for every frame
    for a, b in zip(spread, one):
        assert len(a["faces"]) == len(b["faces"]) == 1
        assert all(abs(a["faces"][0][k] - b["faces"][0][k]) < 0.03 for k in "xywh"), (a["faces"], b["faces"])
    # followed from the frame before, whichever node had it: as many frames followed as on one node (which
    # frames get the once-a-second whole-frame search depends on when they arrive)
    followed = [sum(a["scan"] == "tracked" for a in answers) for answers in (one, spread)]
    assert followed[0] >= 20 and followed[1] >= followed[0] - 2, followed
    alone_ms = statistics.median(a["took_ms"] for a in one[1:])
    spread_ms = statistics.median(a["took_ms"] for a in spread[1:])
    assert spread_ms <= alone_ms * 1.3 + 2.0, (alone_ms, spread_ms)


def test_a_rolling_restart_ends_every_job_with_its_verdict(nodes: Nodes, media: Path) -> None:
    data = (media / "long.mp4").read_bytes()
    sent = []
    for i in range(9):  # about 40 s of work for the three workers: each stop comes while one is under way
        with nodes.next().client() as http:
            sent.append(http.post("/v1/checks", params={"name": f"long{i}.mp4"}, content=slow(data)).json()["id"])
    stopped_mid_job = 0
    for node in nodes.servers:  # one at a time, as a deploy does
        assert node.proc is not None
        name = "%" + node_suffix(node)
        deadline = time.monotonic() + 30
        while not nodes.rows("SELECT 1 FROM jobs WHERE status = 'running' AND owner LIKE %s", (name,)):
            if time.monotonic() > deadline or not nodes.rows("SELECT 1 FROM jobs WHERE status <> 'done'"):
                break
            time.sleep(0.05)
        stopped_mid_job += bool(nodes.rows("SELECT 1 FROM jobs WHERE status = 'running' AND owner LIKE %s", (name,)))
        seen: list[int | str] = []
        os.killpg(node.proc.pid, signal.SIGTERM)
        while node.proc.poll() is None:  # draining (1 s), then stopping: never ready again
            try:
                seen.append(httpx.get(f"{node.url}/readyz", timeout=1).status_code)
            except httpx.HTTPError:
                seen.append("closed")
            time.sleep(0.05)
        assert 200 not in seen and seen.count(503) >= 5, seen  # 503 while it drained, still answering
        node.start(60).wait_ready()  # ready again once its workers are warm
    assert stopped_mid_job == 3  # each stop really cut a job short
    for job_id in sent:
        job = wait_job(nodes.servers[0], job_id, 180)
        assert job["report"]["results"][0]["verdict"] in ("pass", "fail"), job  # never "stopped twice"


def test_postgres_restarted_under_the_nodes_and_every_node_checks_again(nodes: Nodes, media: Path, postgres) -> None:  # type: ignore[no-untyped-def]
    postgres.restart()
    for node in nodes.servers:
        with node.client() as http:
            deadline = time.monotonic() + 30
            while (reply := http.post("/v1/checks", params={"name": "h.jpg", "wait": "true"},
                                      content=(media / "headshot.jpg").read_bytes())).status_code == 503:
                assert time.monotonic() < deadline, reply.text  # at most the requests in flight are lost
                time.sleep(0.2)
        assert reply.status_code == 200 and reply.json()["report"]["results"][0]["verdict"] == "pass", reply.text


def test_the_queue_limit_counts_the_whole_clusters_queue(tmp_path: Path, media: Path, postgres, s3) -> None:  # type: ignore[no-untyped-def]
    with Nodes(tmp_path, postgres, s3, 2, "--workers", "1", "--max-queue", "2", env=slow_env(tmp_path)) as pair:
        for node in pair.servers:  # both nodes' workers busy, so what comes next waits
            with node.client() as http:
                http.post("/v1/checks", params={"name": "long.mp4"}, content=slow((media / "long.mp4").read_bytes()))
        deadline = time.monotonic() + 30
        while pair.rows("SELECT COUNT(*) FROM jobs WHERE status = 'running'")[0][0] < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        codes = []
        for i in range(3):  # two queued in all, whichever node took them; the third is one too many
            with pair.servers[i % 2].client() as http:
                codes.append(http.post("/v1/checks", params={"name": "clip.mp4"},
                                       content=(media / "clip.mp4").read_bytes()).status_code)
        assert codes == [202, 202, 429]
