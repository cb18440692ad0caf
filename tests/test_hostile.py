"""``preflight serve`` and ``preflight record`` tried as an attacker or an impatient client would, each
against a real server process on 127.0.0.1: foreign Host and Origin, no token, loopback and private
URLs, s3:// of buckets not allowed, planted crashes, retries, SIGTERM, and bodies over every limit.
Every test here failed on the code before the hardening (see each docstring)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, face_frame
from tests.support.http_media import serving
from tests.support.media_factory import VideoSpec, make_video
from tests.support.raw_http import megabytes, peak_rss_mb, send_until_answered
from tests.support.serve_process import Server, state_rows, free_port

# Every test here runs on both databases: SQLite (the default) and PostgreSQL.
pytestmark = pytest.mark.usefixtures("service_database")


EVIL = "https://evil.example"


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile-media")
    shutil.copy(REPO / "sample_media" / "headshot.jpg", folder / "headshot.jpg")
    make_video(folder / "clip.mp4", VideoSpec(seconds=2))
    (folder / "broken.mp4").write_bytes((folder / "clip.mp4").read_bytes()[:3000])
    return folder


def jobs_in(data: Path) -> int:
    ((n,),) = state_rows(data, "SELECT COUNT(*) FROM jobs")
    return int(n)


def wait_done(http: httpx.Client, path: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(path).json()
        if job.get("status") == "done":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


# --- who may call ---------------------------------------------------------------------------------

def test_a_foreign_host_or_origin_is_refused_and_nothing_is_created(tmp_path: Path, media: Path) -> None:
    """DNS rebinding (a stranger's name pointed at 127.0.0.1) and a cross-site POST from another page:
    before, both were served, and a job was created from the foreign page."""
    body = (media / "headshot.jpg").read_bytes()
    with Server(tmp_path / "data") as server, server.client() as http:
        before = jobs_in(server.data)
        rebound = http.post("/v1/checks", params={"name": "h.jpg"}, content=body,
                            headers={"host": f"evil.example:{server.port}"})
        assert rebound.status_code == 403 and "Host" in rebound.json()["error"]
        assert http.get("/v1/checks/x", headers={"host": "evil.example"}).status_code == 403  # reads too
        assert http.get("/healthz", headers={"host": "evil.example"}).status_code == 403
        for origin in (EVIL, "null", f"http://127.0.0.1:{server.port + 1}"):
            foreign = http.post("/v1/checks", params={"name": "h.jpg"}, content=body, headers={"origin": origin})
            assert foreign.status_code == 403 and "another site" in foreign.json()["error"], origin
        frame = http.post("/v1/guidance", content=b"x", headers={"origin": EVIL, "content-type": "image/jpeg"})
        assert frame.status_code == 403
        assert jobs_in(server.data) == before == 0  # nothing was created
        own = http.post("/v1/checks", params={"name": "h.jpg"}, content=body,
                        headers={"origin": server.url, "host": f"127.0.0.1:{server.port}"})
        assert own.status_code == 202  # the server's own page may
        assert http.post("/v1/checks", params={"name": "h.jpg"}, content=body,
                         headers={"host": f"localhost:{server.port}"}).status_code == 202
    assert jobs_in(server.data) == 2


def test_allow_host_names_a_proxys_public_name(tmp_path: Path, media: Path) -> None:
    with Server(tmp_path / "data", "--allow-host", "checks.example.com") as server, server.client() as http:
        named = http.post("/v1/checks", params={"name": "h.jpg"}, content=(media / "headshot.jpg").read_bytes(),
                          headers={"host": "checks.example.com", "origin": "https://checks.example.com"})
        assert named.status_code == 202
        assert http.get("/healthz", headers={"host": "other.example.com"}).status_code == 403


def test_a_token_holder_from_a_foreign_origin_is_still_refused(tmp_path: Path, media: Path) -> None:
    with Server(tmp_path / "data", token="t0ken-for-tests") as server, server.client() as http:
        assert http.post("/v1/checks", content=b"x", headers={"origin": EVIL}).status_code == 403
        assert httpx.post(f"{server.url}/v1/checks", content=b"x").status_code == 401
        assert jobs_in(server.data) == 0


def start_record(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str, str, Path]:
    port = free_port()
    out = tmp_path / "takes"
    log = tmp_path / "record.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "preflight", "record", "--no-browser", "--port", str(port),
                                 "--out", str(out)], stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text().count("\n") >= 1):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
    first = log.read_text().splitlines()[0]
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
        assert time.monotonic() < deadline
    return proc, url, first.split("?key=")[1], out


def test_record_answers_only_its_own_page_with_its_key(tmp_path: Path) -> None:
    """Before: any web page could fetch("http://127.0.0.1:PORT/v1/takes", {method: "POST"}) and create a
    take, and POST /v1/faces reached its handler (with TAVUS_API_KEY set: a face on the user's account)."""
    proc, url, key, out = start_record(tmp_path, {"TAVUS_API_KEY": "not-a-real-key"})
    try:
        assert len(key) >= 32
        page = httpx.get(f"{url}/")  # the page itself holds no secret and needs none
        assert page.status_code == 200 and key not in page.text
        assert httpx.post(f"{url}/v1/takes", json={}).status_code == 401
        assert httpx.post(f"{url}/v1/faces", json={"url": "https://example.com/a.mp4"}).status_code == 401
        assert httpx.get(f"{url}/v1/recorder/config").status_code == 401
        assert httpx.post(f"{url}/v1/takes", json={}, headers={"authorization": "Bearer wrong"}).status_code == 401
        keyed = {"authorization": f"Bearer {key}"}
        foreign = httpx.post(f"{url}/v1/takes", json={}, headers={**keyed, "origin": EVIL})
        assert foreign.status_code == 403
        rebound = httpx.post(f"{url}/v1/takes", json={}, headers={**keyed, "host": "evil.example"})
        assert rebound.status_code == 403
        assert not out.exists() or list(out.iterdir()) == []  # no take was created
        made = httpx.post(f"{url}/v1/takes", json={}, headers={**keyed, "origin": url})
        assert made.status_code == 201 and str(out) not in made.text  # a name, never the server's path
        assert [p.name for p in out.iterdir()] == [made.json()["recording"]]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    assert key not in (tmp_path / "record.log").read_text().split("\n", 1)[1]  # printed once: the address


# --- one guard for every outbound fetch -------------------------------------------------------------

def test_faces_refuse_loopback_links_and_the_site_sees_nothing(tmp_path: Path, media: Path) -> None:
    """Before: POST /v1/faces with {"url": "http://127.0.0.1:…"} fetched the loopback URL (the check and
    FFmpeg read it), and the submit pipeline's image read was unguarded."""
    env = {"TAVUS_API_KEY": "not-a-real-key", "TAVUS_API_URL": "http://127.0.0.1:9"}
    with Server(tmp_path / "data", env=env) as server, server.client() as http, \
            serving(media) as (base, requests):
        port = base.rsplit(":", 1)[1]
        for url in (f"{base}/f/clip.mp4", f"http://localhost:{port}/f/headshot.jpg",
                    f"http://[::ffff:127.0.0.1]:{port}/f/headshot.jpg"):
            job = http.post("/v1/faces?wait=true", json={"url": url, "voice_name": "Anna"}).json()
            assert job["status"] == "done" and job["face"]["stopped"] in ("link", "unusable"), job
            assert job["face"]["face_id"] is None
        assert list(requests) == []  # the loopback site was never asked for anything


def test_a_private_callback_url_is_refused_when_the_job_is_sent(tmp_path: Path, media: Path) -> None:
    """Before: accepted, and retried five times in silence."""
    with Server(tmp_path / "data") as server, server.client() as http:
        for hook in ("http://127.0.0.1:9/hook", "http://10.0.0.5/hook", "http://169.254.169.254/latest",
                     "ftp://example.com/x"):
            reply = http.post("/v1/checks", params={"name": "h.jpg", "callback_url": hook},
                              content=(media / "headshot.jpg").read_bytes())
            assert reply.status_code == 400 and "callback_url" in reply.json()["error"], hook
        assert jobs_in(server.data) == 0


class _Counting(BaseHTTPRequestHandler):
    seen: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def _any(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("content-length", "0")
        self.end_headers()

    do_GET = do_HEAD = do_PUT = do_POST = _any  # noqa: N815


def test_s3_addresses_of_buckets_not_allowed_are_refused_before_any_s3_request(tmp_path: Path) -> None:
    """Before: any token holder could have the server list and presign any bucket its AWS role reads."""
    seen: list[str] = []
    s3 = ThreadingHTTPServer(("127.0.0.1", 0), type("S3", (_Counting,), {"seen": seen}))
    threading.Thread(target=s3.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{s3.server_address[1]}"
    env = {"PREFLIGHT_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "TAVUS_API_KEY": "not-a-real-key", "PREFLIGHT_BUCKET": "ours"}
    try:
        with Server(tmp_path / "data", "--allow-s3-bucket", "media", env=env) as server, server.client() as http:
            for route in ("/v1/checks", "/v1/faces"):
                for address in ("s3://secrets/db.mp4", "s3://secrets/", "s3://ours/x.mp4"):
                    reply = http.post(route, json={"url": address})
                    assert reply.status_code == 403 and "--allow-s3-bucket" in reply.json()["error"], reply.text
            assert seen == [] and jobs_in(server.data) == 0
            allowed = http.post("/v1/checks?wait=true", json={"url": "s3://media/take.mp4"})
            assert allowed.status_code == 200  # an allowed bucket is read (here: not found, an error result)
            assert seen  # and only then is S3 asked
    finally:
        s3.shutdown()


# --- one crash-isolation pool ------------------------------------------------------------------------

CRASHERS = """\
import os
import signal

import preflight.media.analyze
import preflight.run.guidance as guidance

real_analyze, real_judge = preflight.media.analyze.analyze, guidance.judge_named


def analyze(path, *args, **kwargs):
    if "crash" in os.path.basename(str(path)) or b"crash-me" in open(str(path), "rb").read()[-64:]:
        os.kill(os.getpid(), signal.SIGSEGV)  # a native crash in a decoder, as the process sees it
    return real_analyze(path, *args, **kwargs)


def judge_named(jpeg, rules, *args):
    if jpeg.endswith(b"crash-me"):
        os.kill(os.getpid(), signal.SIGSEGV)
    return real_judge(jpeg, rules, *args)


preflight.media.analyze.analyze = analyze
guidance.judge_named = judge_named
"""


def planted_env(tmp_path: Path) -> dict[str, str]:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(CRASHERS)
    return {"PYTHONPATH": os.pathsep.join([str(hooks), str(REPO)])}


def test_two_crashers_among_innocent_jobs_cost_only_themselves(tmp_path: Path, media: Path) -> None:
    """Before: a suspect re-run "alone" had a new job claimed beside it, so a second crasher failed an
    innocent job. Files whose bytes end in a marker crash the decoder's process (planted from outside)."""
    clip = (media / "clip.mp4").read_bytes()
    bodies = {"a.jpg": (media / "headshot.jpg").read_bytes(), "one.mp4": clip + b"crash-me", "b.mp4": clip,
              "two.mp4": clip + b"crash-me", "c.jpg": (media / "headshot.jpg").read_bytes(), "d.mp4": clip}
    with Server(tmp_path / "data", "--workers", "2", env=planted_env(tmp_path)) as server:
        def one(name: str) -> dict:
            with server.client() as http:
                return http.post("/v1/checks", params={"name": name, "wait": "true"}, content=bodies[name]).json()
        with ThreadPoolExecutor(6) as pool:
            jobs = list(pool.map(one, list(bodies)))
    results = {j["name"]: j["report"]["results"][0] for j in jobs}
    assert {n: r["verdict"] for n, r in results.items()} == {"a.jpg": "pass", "one.mp4": "error", "b.mp4": "fail",
                                                            "two.mp4": "error", "c.jpg": "pass", "d.mp4": "fail"}
    assert "crashed" in results["one.mp4"]["error"] and "crashed" in results["two.mp4"]["error"]


def test_a_crashing_guidance_frame_gets_an_error_answer_and_the_server_stays_up(tmp_path: Path) -> None:
    """Before: guidance ran inside the server process, so one native crash took the whole service down."""
    import cv2

    rgb = face_frame("grace_hopper.jpg", (640, 360), face_px=110, centre=(0.5, 0.5))
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    frame = jpeg.tobytes()
    with Server(tmp_path / "data", env=planted_env(tmp_path)) as server, server.client() as http:
        headers = {"content-type": "image/jpeg"}
        assert http.post("/v1/guidance", content=frame, headers=headers).status_code == 200
        crashed = http.post("/v1/guidance", content=frame + b"crash-me", headers=headers)
        assert crashed.status_code == 422 and "could not be analysed" in crashed.json()["error"]
        assert http.get("/healthz").status_code == 200
        after = http.post("/v1/guidance", content=frame, headers=headers)
        assert after.status_code == 200 and after.json()["faces"]


# --- retries are safe ----------------------------------------------------------------------------------

@pytest.fixture
def face_env(tmp_path: Path, s3, tavus) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
    from tests.support.tavus_server import API_KEY

    return {"TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url, "PREFLIGHT_BUCKET": BUCKET,
            "PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}


def test_retried_and_concurrent_face_requests_make_one_face(tmp_path: Path, face_env: dict[str, str], tavus) -> None:  # type: ignore[no-untyped-def]
    """Before: known_face and the journal's pending write were not under one lock, so two identical
    requests at once (a client's retry after a timeout) made two faces; there was no Idempotency-Key."""
    clip = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2)).read_bytes()
    params = {"name": "take.mp4", "wait": "true", "force": "true", "face_name": "Ana"}
    with Server(tmp_path / "data", "--workers", "2", env=face_env) as server:
        def post(extra: dict[str, str]) -> httpx.Response:
            with server.client() as http:
                return http.post("/v1/faces", params=params, content=clip, headers=extra)
        with ThreadPoolExecutor(2) as pool:  # two identical requests at once, no key
            both = list(pool.map(post, [{}, {}]))
        assert [r.status_code for r in both] == [200, 200]
        assert len(tavus.state.faces) == 1
        assert {r.json()["face"]["face_id"] for r in both} == set(tavus.state.faces)
        assert sorted(r.json()["face"]["existing"] for r in both) == [False, True]
        keyed = {"idempotency-key": "retry-7f3a"}
        with ThreadPoolExecutor(2) as pool:  # the same key twice at once: one job answers both
            again = list(pool.map(post, [keyed, keyed]))
        assert again[0].json()["id"] == again[1].json()["id"]
        assert "true" in {r.headers.get("idempotent-replayed") for r in again}
        with server.client() as http:
            other = http.post("/v1/faces", params={**params, "face_name": "Bo"}, content=clip, headers=keyed)
            assert other.status_code == 422 and "Idempotency-Key" in other.json()["error"]
    assert len(tavus.state.faces) == 1


def test_an_idempotency_key_returns_the_first_check_job(tmp_path: Path, media: Path) -> None:
    body = (media / "headshot.jpg").read_bytes()
    with Server(tmp_path / "data") as server, server.client() as http:
        first = http.post("/v1/checks", params={"name": "h.jpg"}, content=body, headers={"idempotency-key": "k1"})
        second = http.post("/v1/checks", params={"name": "h.jpg"}, content=body, headers={"idempotency-key": "k1"})
        assert first.status_code == second.status_code == 202 and first.json()["id"] == second.json()["id"]
        changed = http.post("/v1/checks", params={"name": "h.jpg"}, content=body + b"\0",
                            headers={"idempotency-key": "k1"})
        assert changed.status_code == 422
        assert jobs_in(server.data) == 1
        wait_done(http, f"/v1/checks/{first.json()['id']}")
    assert list((tmp_path / "data" / "spool").iterdir()) == []  # the repeats' uploads were not kept


# --- stops are not failures -----------------------------------------------------------------------------

def test_sigterm_mid_job_twice_then_the_jobs_real_verdict(tmp_path: Path) -> None:
    """Before: SIGTERM cancelled running futures (an "internal error"), and a graceful stop counted as an
    attempt, so two deploys marked a job "the server stopped twice"."""
    clip = make_video(tmp_path / "slow.mp4", VideoSpec(seconds=20, width=1280, height=720)).read_bytes()
    data = tmp_path / "data"
    job_id = None
    for _ in range(2):
        server = Server(data, "--workers", "1", "--stop-grace-s", "0").start()
        try:
            with server.client() as http:
                if job_id is None:
                    job_id = http.post("/v1/checks", params={"name": "slow.mp4"}, content=clip).json()["id"]
                deadline = time.monotonic() + 60
                while (status := http.get(f"/v1/checks/{job_id}").json()["status"]) != "running":
                    assert status == "queued" and time.monotonic() < deadline, status
                    time.sleep(0.05)
        finally:
            server.stop()  # SIGTERM to the server and its workers, as a service manager sends
        assert server.proc is not None and server.proc.returncode in (0, -signal.SIGTERM), server.log.read_text()
        assert "Traceback" not in server.log.read_text()
    with Server(data, "--workers", "1") as server, server.client() as http:
        job = wait_done(http, f"/v1/checks/{job_id}", timeout=180)
    (result,) = job["report"]["results"]
    assert result["verdict"] == "fail" and result["error"] is None  # judged, not "stopped twice"


# --- bounded everything ------------------------------------------------------------------------------------

def test_a_50_mb_multipart_header_and_an_endless_chunked_body_are_refused_in_bounded_memory(tmp_path: Path) -> None:
    """Before: multipart header bytes accumulated without bound, and a take's chunk was read whole into
    memory before any size check."""
    with Server(tmp_path / "data") as server:
        head = (f"POST /v1/checks HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nTransfer-Encoding: chunked\r\n"
                "Content-Type: multipart/form-data; boundary=XX\r\n\r\n")
        opening = [b'--XX\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\nX-Pad: ']
        status, sent = send_until_answered(server.port, head, [*opening, *(b"a" * (1 << 20) for _ in range(50))])
        assert status == 400 and sent < 10 << 20, (status, sent)
        assert peak_rss_mb(server.proc.pid) < 300  # type: ignore[union-attr]
        assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_takes_chunk_is_counted_as_it_streams(tmp_path: Path) -> None:
    proc, url, key, out = start_record(tmp_path, {})
    try:
        take = httpx.post(f"{url}/v1/takes", json={}, headers={"authorization": f"Bearer {key}"}).json()
        port = int(url.rsplit(":", 1)[1])
        head = (f"POST /v1/takes/{take['id']}/chunks?seq=0 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Authorization: Bearer {key}\r\nTransfer-Encoding: chunked\r\n\r\n")
        status, sent = send_until_answered(port, head, megabytes(400))
        assert status == 413 and sent < 120 << 20, (status, sent)
        assert peak_rss_mb(proc.pid) < 300
        assert (out / take["recording"]).stat().st_size == 0  # nothing of it was kept
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_uploads_in_progress_count_towards_the_spool_limit(tmp_path: Path, media: Path) -> None:
    """Before: the queue limit ignored uploads in progress, so the spool's disk could fill."""
    with Server(tmp_path / "data", "--max-spool-gb", "0.003") as server, server.client() as http:
        head = (f"POST /v1/checks?name=a.mp4 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Transfer-Encoding: chunked\r\n\r\n")
        stalled = threading.Event()

        def slow_upload() -> None:  # 2 MB sent, then it waits: an upload still in progress
            def pieces():  # type: ignore[no-untyped-def]
                yield from megabytes(2)
                stalled.set()
                time.sleep(3)
            send_until_answered(server.port, head, pieces())

        uploader = threading.Thread(target=slow_upload)
        uploader.start()
        assert stalled.wait(30)
        time.sleep(0.3)
        full = http.post("/v1/checks", params={"name": "b.mp4"}, content=b"\0" * 1_500_000)
        assert full.status_code == 507 and int(full.headers["retry-after"]) >= 1
        assert "--max-spool-gb" in full.json()["error"]
        uploader.join()
        small = http.post("/v1/checks", params={"name": "h.jpg", "wait": "true"},
                          content=(media / "headshot.jpg").read_bytes())
        assert small.status_code == 200  # the space came back


def test_answers_never_show_the_servers_paths(tmp_path: Path, media: Path) -> None:
    data = tmp_path / "data"
    with Server(data) as server, server.client() as http:
        for name in ("broken.mp4", "clip.mp4"):
            job = http.post("/v1/checks", params={"name": name, "wait": "true"},
                            content=(media / name).read_bytes())
            assert str(data) not in job.text and "/spool/" not in job.text, job.text
            html = http.get(f"/v1/checks/{job.json()['id']}/report.html").text
            assert str(data) not in html
