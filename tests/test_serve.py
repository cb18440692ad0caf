"""``preflight serve`` as a real process on 127.0.0.1, talked to over HTTP: reports equal the CLI's,
auth, limits, the queue, crashes, restarts, links from strangers, callbacks, faces."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from preflight.cli import main
from tests.conftest import REPO
from tests.support.http_media import serving
from tests.support.media_factory import VideoSpec, make_video, service_media
from tests.support.serve_process import Server


# Every test here runs on both databases: SQLite (the default) and PostgreSQL.
pytestmark = pytest.mark.usefixtures("service_database")


def cli_result(capsys: pytest.CaptureFixture[str], path: Path | str) -> dict:
    main(["check", "--format", "json", str(path)])
    (result,) = json.loads(capsys.readouterr().out)["results"]
    return result


def same_judgement(a: dict, b: dict) -> None:
    """The verdict and every finding (rule, severity, outcome, message, fix) are the same."""
    def findings(r: dict) -> list:
        return [(f["rule"], f["severity"], f["outcome"], f["message"], f["fix"]) for f in r["findings"]]
    assert (a["verdict"], a["error"], a["kind"], a["ruleset"]) == (b["verdict"], b["error"], b["kind"], b["ruleset"])
    assert findings(a) == findings(b)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = service_media(tmp_path_factory.mktemp("serve-media"))
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "broken.mp4").write_bytes((folder / "clip.mp4").read_bytes()[:3000])
    (folder / "notes.jpg").write_text("not a picture")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, service_database):  # type: ignore[no-untyped-def]
    with Server(tmp_path_factory.mktemp("serve") / "data", "--allow-private-urls") as running:
        yield running


def test_reports_equal_the_command_lines(server: Server, media: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with server.client() as http:
        for name in ("headshot.jpg", "cutout.png", "clip.mp4", "broken.mp4", "notes.jpg"):
            reply = http.post("/v1/checks", params={"name": name, "wait": "true"},
                              content=(media / name).read_bytes())
            assert reply.status_code == 200, reply.text
            job = reply.json()
            (result,) = job["report"]["results"]
            assert job["status"] == "done" and job["report"]["schema"] == "preflight.report/1"
            assert result["path"] == name
            same_judgement(result, cli_result(capsys, media / name))


def test_a_multipart_upload_and_a_link_get_the_same_reports(server: Server, media: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    with server.client() as http, serving(media) as (base, requests):
        upload = http.post("/v1/checks", params={"wait": "true"},
                           files={"file": ("cutout.png", (media / "cutout.png").read_bytes(), "image/png")})
        assert upload.status_code == 200 and upload.json()["report"]["results"][0]["path"] == "cutout.png"
        same_judgement(upload.json()["report"]["results"][0], cli_result(capsys, media / "cutout.png"))
        link = http.post("/v1/checks?wait=true", json={"url": f"{base}/f/headshot.jpg"})
        assert link.status_code == 200, link.text
        same_judgement(link.json()["report"]["results"][0], cli_result(capsys, f"{base}/f/headshot.jpg"))


def test_a_job_is_queued_then_done_with_its_html_report(server: Server, media: Path) -> None:
    with server.client() as http:
        accepted = http.post("/v1/checks", params={"name": "clip.mp4"}, content=(media / "clip.mp4").read_bytes())
        assert accepted.status_code == 202 and accepted.json()["status"] == "queued"
        job_id = accepted.json()["id"]
        for _ in range(300):
            job = http.get(f"/v1/checks/{job_id}").json()
            if job["status"] == "done":
                break
            assert job["status"] in ("queued", "running")
            time.sleep(0.1)
        assert job["report"]["results"][0]["verdict"] == "fail"
        page = http.get(f"/v1/checks/{job_id}/report.html")
        assert page.status_code == 200 and "<html" in page.text.lower() and "clip.mp4" in page.text
        assert http.get("/v1/checks/no-such-job").status_code == 404


def test_bad_requests_are_clear_errors_never_500(server: Server, media: Path) -> None:
    with server.client() as http:
        empty = http.post("/v1/checks", content=b"")
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
        rules = http.post("/v1/checks", params={"rules": "/etc/passwd"}, content=b"x")
        assert rules.status_code == 400 and "rules is one of" in rules.json()["error"] and "built-in" in rules.json()["error"]
        bad_json = http.post("/v1/checks", content=b"{", headers={"content-type": "application/json"})
        assert bad_json.status_code == 400
        no_url = http.post("/v1/checks", json={"url": "file:///etc/passwd"})
        assert no_url.status_code == 400
        no_part = http.post("/v1/checks", files={"other": ("a.jpg", b"x")})
        assert no_part.status_code == 400 and "file" in no_part.json()["error"]
        broken = http.post("/v1/checks", content=b"--x\r\nbroken", headers={"content-type": "multipart/form-data"})
        assert broken.status_code == 400


def test_openapi_documents_every_route_and_metrics_count_jobs(server: Server) -> None:
    with server.client() as http:
        doc = http.get("/openapi.json").json()
        assert doc["openapi"].startswith("3.") and set(doc["paths"]) == {
            "/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/checks", "/v1/checks/{job_id}",
            "/v1/checks/{job_id}/report.html", "/v1/faces", "/v1/faces/{job_id}", "/v1/guidance",
            "/v1/takes", "/v1/takes/{take_id}", "/v1/takes/{take_id}/chunks", "/v1/takes/{take_id}/finish",
            "/v1/takes/{take_id}/report.html", "/v1/takes/{take_id}/media", "/v1/takes/{take_id}/submit",
            "/v1/capture-sessions", "/v1/capture-sessions/{session_id}", "/v1/capture-sessions/{session_id}/qr",
            "/v1/capture/config", "/v1/capture.js", "/v1/capture.css", "/v1/capture-page.js", "/v1/capture-page.css",
            "/v1/capture/i18n/{lang}.json", "/v1/capture/{module}.js", "/capture"}
        documented = {p["name"] for p in doc["paths"]["/v1/checks"]["post"]["parameters"] if p["in"] == "query"}
        assert documented == {"name", "rules", "quick", "wait", "callback_url"}
        typo = http.post("/v1/checks", params={"name": "a.jpg", "quik": "1"}, content=b"x")
        assert typo.status_code == 400 and "'quik'" in typo.json()["error"] and "quick" in typo.json()["error"]
        http.post("/v1/checks", params={"name": "a.jpg", "wait": "true"}, content=b"not an image")
        text = http.get("/metrics").text
    assert 'preflight_jobs_finished_total{kind="check",verdict="error"}' in text
    assert "preflight_queue_length" in text and "preflight_job_duration_seconds_bucket" in text


@pytest.mark.parametrize("recorder", [False, True], ids=["serve", "record"])
def test_the_openapi_document_is_made_from_the_routes_so_it_cannot_drift(tmp_path: Path, recorder: bool) -> None:
    """Every route the application answers (method and path) is in the document and nothing else, and
    every parameter a route reads is one it declares (the others are refused, above)."""
    from preflight.serve.app import create_app
    from preflight.serve.config import RecorderConfig, ServeConfig
    from preflight.serve.routes.openapi import document

    gate = create_app(ServeConfig(data=tmp_path / "data"), RecorderConfig(out=tmp_path / "out") if recorder else None)
    app = gate.app
    served = {(m.lower(), r.path) for r in app.routes for m in r.methods if m != "HEAD"}
    doc = document(app.state.endpoints)
    documented = {(m, path) for path, ops in doc["paths"].items() for m in ops}
    assert served == documented
    for path, ops in doc["paths"].items():
        for op in ops.values():
            in_path = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert in_path == set(re.findall(r"\{(\w+)\}", path)), path


def test_a_token_is_required_when_set_and_without_one_only_loopback(tmp_path: Path, media: Path) -> None:
    with Server(tmp_path / "data", token="s3cret-token") as server:
        import httpx

        assert httpx.get(f"{server.url}/healthz").status_code == 200
        assert httpx.post(f"{server.url}/v1/checks", content=b"x").status_code == 401
        wrong = httpx.post(f"{server.url}/v1/checks", content=b"x", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "Bearer" in wrong.headers["www-authenticate"]
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        with server.client() as http:
            assert http.post("/v1/checks", params={"name": "h.jpg"}, content=(media / "headshot.jpg").read_bytes()
                             ).status_code == 202
    assert "s3cret-token" not in server.log.read_text()  # the token is never printed
    refused = Server(tmp_path / "open", "--host", "0.0.0.0")
    with pytest.raises(RuntimeError, match="binds only to loopback"):
        refused.start()


def test_a_body_over_the_limit_is_refused_before_it_is_stored(tmp_path: Path) -> None:
    with Server(tmp_path / "data", "--max-upload-mb", "1") as server, server.client() as http:
        declared = http.post("/v1/checks", content=b"\0" * 1_500_000)
        assert declared.status_code == 413 and "1 MB" in declared.json()["error"]

        def stream():  # no Content-Length: refused while it streams in
            for _ in range(30):
                yield b"\0" * 100_000
        streamed = http.post("/v1/checks", content=stream())
        assert streamed.status_code == 413
        multipart = http.post("/v1/checks", files={"file": ("big.mp4", b"\0" * 1_200_000)})
        assert multipart.status_code == 413
    assert [p.name for p in (tmp_path / "data" / "spool").iterdir()] == []  # nothing half-kept


def test_a_full_queue_answers_429_with_retry_after(tmp_path: Path, media: Path) -> None:
    clip = make_video(tmp_path / "slow.mp4", VideoSpec(seconds=8, width=1280, height=720))
    with Server(tmp_path / "data", "--workers", "1", "--max-queue", "2") as server, server.client() as http:
        codes = [http.post("/v1/checks", params={"name": f"{i}.mp4"}, content=clip.read_bytes())
                 for i in range(6)]
        limited = [r for r in codes if r.status_code == 429]
        assert limited and all(int(r.headers["retry-after"]) >= 1 for r in limited)
        assert "queue is full" in limited[0].json()["error"]
        accepted = [r.json()["id"] for r in codes if r.status_code == 202]
        assert len(accepted) >= 2
        deadline = time.monotonic() + 120
        while any(http.get(f"/v1/checks/{i}").json()["status"] != "done" for i in accepted):
            assert time.monotonic() < deadline
            time.sleep(0.2)


def test_24_concurrent_clients_all_get_their_verdicts(server: Server, media: Path) -> None:
    files = ["headshot.jpg", "cutout.png", "clip.mp4", "notes.jpg"] * 6

    def one(name: str) -> tuple[str, str]:
        with server.client() as http:
            reply = http.post("/v1/checks", params={"name": name, "wait": "true"}, content=(media / name).read_bytes())
            return name, reply.json()["report"]["results"][0]["verdict"]

    with ThreadPoolExecutor(24) as pool:
        got = list(pool.map(one, files))
    expected = {"headshot.jpg": "pass", "cutout.png": "fail", "clip.mp4": "fail", "notes.jpg": "error"}
    assert got == [(name, expected[name]) for name in files]


CRASHER = """\
import os

import preflight.serve.work.tasks as work

real = work.run_check


def run_check(source, remote, name, params, copies):
    if "crash" in name:
        os._exit(9)  # as a native crash in a decoder looks to the worker's pool
    return real(source, remote, name, params, copies)


work.run_check = run_check
"""


def test_a_crash_costs_only_its_own_job(tmp_path: Path, media: Path) -> None:
    """A worker that dies on one file: that job is an error, the jobs beside it still get verdicts. The
    crash is planted from outside preflight: a sitecustomize module that every process of the server
    (the spawned workers too) runs at start-up."""
    import os

    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(CRASHER)
    env = {"PYTHONPATH": os.pathsep.join([str(hooks), str(REPO)])}
    with Server(tmp_path / "data", "--workers", "2", env=env) as server:
        def one(name: str) -> dict:
            with server.client() as http:
                source = "clip.mp4" if name.endswith(".mp4") else "headshot.jpg"
                return http.post("/v1/checks", params={"name": name, "wait": "true"},
                                 content=(media / source).read_bytes()).json()
        with ThreadPoolExecutor(4) as pool:
            jobs = list(pool.map(one, ["a.jpg", "crash.mp4", "b.jpg", "c.mp4"]))
    verdicts = {j["name"]: j["report"]["results"][0] for j in jobs}
    assert verdicts["a.jpg"]["verdict"] == "pass" and verdicts["b.jpg"]["verdict"] == "pass"
    assert verdicts["c.mp4"]["verdict"] == "fail"
    assert verdicts["crash.mp4"]["verdict"] == "error" and "crashed" in verdicts["crash.mp4"]["error"]


def test_accepted_jobs_survive_kill_9_and_a_restart(tmp_path: Path, media: Path) -> None:
    clip = make_video(tmp_path / "take.mp4", VideoSpec(seconds=6, width=1280, height=720))
    server = Server(tmp_path / "data", "--workers", "1").start()
    try:
        with server.client() as http:
            ids = [http.post("/v1/checks", params={"name": f"take{i}.mp4"}, content=clip.read_bytes()).json()["id"]
                   for i in range(3)]
            ids.append(http.post("/v1/checks", params={"name": "h.jpg"},
                                 content=(media / "headshot.jpg").read_bytes()).json()["id"])
            deadline = time.monotonic() + 30
            while http.get(f"/v1/checks/{ids[0]}").json()["status"] == "queued":  # the first one is running
                assert time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        server.kill()  # kill -9: the server and its worker, mid-analysis
    again = Server(tmp_path / "data", "--workers", "1")
    with again, again.client() as http:
        deadline = time.monotonic() + 180
        jobs = {}
        while len(jobs) < len(ids):
            assert time.monotonic() < deadline, jobs
            for job_id in ids:
                job = http.get(f"/v1/checks/{job_id}").json()
                if job["status"] == "done":
                    jobs[job_id] = job
            time.sleep(0.2)
    verdicts = [jobs[i]["report"]["results"][0]["verdict"] for i in ids]
    assert verdicts == ["fail", "fail", "fail", "pass"]  # every accepted job finished, none lost


def test_links_to_private_addresses_are_refused_unless_allowed(tmp_path: Path, media: Path) -> None:
    with Server(tmp_path / "data") as server, server.client() as http, serving(media) as (base, requests):
        for url in (f"{base}/f/headshot.jpg", f"http://localhost:{base.rsplit(':', 1)[1]}/f/headshot.jpg",
                    f"http://[::ffff:127.0.0.1]:{base.rsplit(':', 1)[1]}/f/headshot.jpg"):
            job = http.post("/v1/checks?wait=true", json={"url": url}).json()
            (result,) = job["report"]["results"]
            reachable = next(f for f in result["findings"] if f["rule"] == "url.reachable")
            assert result["verdict"] == "fail" and "loopback address" in reachable["message"], reachable
        assert list(requests) == []  # the loopback site was never asked for anything


class _Receiver(BaseHTTPRequestHandler):
    got: list[tuple[dict[str, str], bytes]]
    fail_first: list[int]

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["content-length"]))
        status = self.fail_first.pop(0) if self.fail_first else 200
        self.got.append((dict(self.headers), body))
        self.send_response(status)
        self.send_header("content-length", "0")
        self.end_headers()


def test_a_finished_job_is_posted_to_its_callback_signed_and_retried(tmp_path: Path, media: Path) -> None:
    got: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"got": got, "fail_first": [503]})
    receiver = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    secret = "callback-secret-for-tests"
    try:
        with Server(tmp_path / "data", "--allow-private-urls", env={"PREFLIGHT_SERVE_SECRET": secret}) as server, \
                server.client() as http:
            callback = f"http://127.0.0.1:{receiver.server_address[1]}/hook?user=7"
            job_id = http.post("/v1/checks", params={"name": "h.jpg", "callback_url": callback},
                               content=(media / "headshot.jpg").read_bytes()).json()["id"]
            deadline = time.monotonic() + 60
            while len(got) < 2:
                assert time.monotonic() < deadline, got
                time.sleep(0.1)
    finally:
        receiver.shutdown()
    headers, body = got[-1]
    # the README's receiver: t=UNIX,v1=HMAC-SHA256 of "{t}.{body}", at most five minutes old
    fields = dict(part.split("=", 1) for part in headers["X-Preflight-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected) and abs(time.time() - int(fields["t"])) < 300
    from preflight.serve.work.callbacks import verify

    assert verify(secret.encode(), body, headers["X-Preflight-Signature"])
    assert not verify(secret.encode(), body, headers["X-Preflight-Signature"], now=int(fields["t"]) + 301)  # replayed
    assert not verify(secret.encode(), body + b" ", headers["X-Preflight-Signature"])
    doc = json.loads(body)
    assert doc["id"] == job_id and doc["report"]["results"][0]["verdict"] == "pass"
    assert got[0][1] == body  # the retry after the 503 sent the same signed body


def test_faces_need_the_servers_tavus_key(server: Server, media: Path) -> None:
    with server.client() as http:
        reply = http.post("/v1/faces", params={"name": "h.jpg"}, content=(media / "headshot.jpg").read_bytes())
    assert reply.status_code == 503 and "TAVUS_API_KEY" in reply.json()["error"]


def test_a_face_is_made_through_the_submit_pipeline(tmp_path: Path, media: Path, s3, tavus) -> None:  # type: ignore[no-untyped-def]
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
    from tests.support.tavus_server import API_KEY

    env = {"TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url, "PREFLIGHT_BUCKET": BUCKET,
           "PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    clip = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2))
    with Server(tmp_path / "data", env=env) as server, server.client() as http:
        refused = http.post("/v1/faces", params={"name": "take.mp4", "wait": "true"}, content=clip.read_bytes())
        assert refused.status_code == 200 and refused.json()["face"]["stopped"] == "check"
        made = http.post("/v1/faces", params={"name": "take.mp4", "wait": "true", "force": "true",
                                              "face_name": "Ana"}, content=clip.read_bytes()).json()
    face = made["face"]
    assert face["face_id"] in tavus.state.faces and tavus.state.created[0]["face_name"] == "Ana"
    assert "X-Amz-Signature=REDACTED" in face["request"]["train_video_url"] and API_KEY not in json.dumps(made)
    assert tavus.state.fetched == [clip.read_bytes()]


def test_finished_jobs_and_their_files_are_removed_after_the_retention_time(tmp_path: Path, database: str) -> None:
    from tests.support.state import janitor, node

    at = node(database, tmp_path / "data")
    upload = at.spool / "a.mp4"
    upload.write_bytes(b"x")
    (at.spool / "a.links").mkdir()
    at.jobs.add("a", "check", "a.mp4", "a.mp4", False, {}, None)
    at.jobs.add("b", "check", "b.mp4", "b.mp4", False, {}, None)
    assert janitor(at, 0).sweep() == 0  # queued jobs are never removed
    claimed = at.jobs.claim(at.name, 30)
    assert claimed is not None and claimed.id == "a" and at.jobs.finish("a", at.name, "pass", {"report": {}}, None)
    assert janitor(at, 3600).sweep() == 0 and at.jobs.get("a") is not None  # finished, but not old enough
    time.sleep(0.01)
    assert janitor(at, 0.001).sweep() == 1
    assert at.jobs.get("a") is None and at.jobs.get("b") is not None
    assert not upload.exists() and not (at.spool / "a.links").exists()


def test_a_real_server_removes_finished_jobs_after_keep_hours(tmp_path: Path, media: Path) -> None:
    with Server(tmp_path / "data", "--keep-hours", "0.0005") as server, server.client() as http:  # 1.8 s
        job_id = http.post("/v1/checks", params={"name": "h.jpg", "wait": "true"},
                           content=(media / "headshot.jpg").read_bytes()).json()["id"]
        assert http.get(f"/v1/checks/{job_id}").status_code == 200
        deadline = time.monotonic() + 15
        while http.get(f"/v1/checks/{job_id}").status_code != 404:
            assert time.monotonic() < deadline, "the finished job was kept past --keep-hours"
            time.sleep(0.2)
    assert list((tmp_path / "data" / "spool").iterdir()) == []


def test_a_job_whose_node_died_twice_is_finished_with_the_reason(tmp_path: Path, database: str) -> None:
    from tests.support.state import node

    jobs = node(database, tmp_path / "data").jobs
    jobs.add("a", "check", "a.mp4", "a.mp4", False, {}, None)
    assert jobs.claim("node-a", 0.05) is not None
    assert jobs.claim("node-b", 30) is None  # node-a's lease holds
    time.sleep(0.1)  # node-a died: its lease runs out
    again = jobs.claim("node-b", 0.05)
    assert again is not None and again.attempts == 2 and again.owner == "node-b"
    assert not jobs.finish("a", "node-a", "pass", {}, None)  # node-a came back: the job is not its own any more
    time.sleep(0.1)  # node-b died too
    assert jobs.claim("node-c", 30) is None
    job = jobs.get("a")
    assert job is not None and job.status == "done" and job.verdict == "error" and "stopped twice" in (job.error or "")


def test_a_node_keeps_its_jobs_while_it_renews_and_hands_them_back_uncounted(tmp_path: Path, database: str) -> None:
    from tests.support.state import node

    jobs = node(database, tmp_path / "data").jobs
    jobs.add("a", "check", "a.mp4", "a.mp4", False, {}, None)
    for _ in range(3):  # three deploys while it runs
        assert jobs.claim("node-a", 30) is not None
        assert jobs.hand_back("a", "node-a")
    assert jobs.get("a").attempts == 0  # type: ignore[union-attr]
    assert jobs.claim("node-a", 0.3) is not None
    for _ in range(3):
        time.sleep(0.15)
        assert jobs.renew("node-a", 0.3) == 1
        assert jobs.claim("node-b", 30) is None  # renewed: still node-a's
    assert not jobs.hand_back("a", "node-b") and jobs.release("node-a") == 1  # node-a restarted: claimable now
    taken = jobs.claim("node-b", 30)
    assert taken is not None and taken.attempts == 2  # a real death still counts
    assert jobs.finish("a", "node-b", "pass", {"report": {}}, None)


def test_two_nodes_claiming_at_once_never_get_the_same_job(tmp_path: Path, database: str) -> None:
    from tests.support.state import node

    a, b = node(database, tmp_path / "a", "node-a"), node(database, tmp_path / "b", "node-b")
    for i in range(40):
        a.jobs.add(f"job-{i:02d}", "check", "x.mp4", "x.mp4", False, {}, None)
    claimed: dict[str, list[str]] = {"node-a": [], "node-b": []}

    def claim_all(at) -> None:  # type: ignore[no-untyped-def]
        while (job := at.jobs.claim(at.name, 30)) is not None:
            claimed[at.name].append(job.id)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(claim_all, [a, b, a, b]))
    every = claimed["node-a"] + claimed["node-b"]
    assert sorted(every) == [f"job-{i:02d}" for i in range(40)]  # each job once, none lost


def test_jobs_run_on_a_dask_cluster_with_the_same_reports(tmp_path: Path, media: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("distributed")
    from tests.support.cluster import Cluster

    cluster = Cluster(tmp_path)
    try:
        with Server(tmp_path / "data", "--scheduler", cluster.address) as server, server.client() as http:
            for name in ("headshot.jpg", "clip.mp4", "notes.jpg"):
                job = http.post("/v1/checks", params={"name": name, "wait": "true"},
                                content=(media / name).read_bytes()).json()
                same_judgement(job["report"]["results"][0], cli_result(capsys, media / name))
    finally:
        cluster.close()


def test_a_callback_due_when_the_server_died_is_sent_after_the_restart(tmp_path: Path, media: Path) -> None:
    """The server is killed while its callback's first attempt waits for the receiver's answer: started
    again, the node sends it again at once, not when that attempt's 30 s lease runs out (on PostgreSQL
    it waited the lease out, 33 s once in the suite, before the attempt's node was recorded)."""
    got: list[tuple[dict[str, str], bytes]] = []
    answer = threading.Event()

    class Holding(_Receiver):
        def do_POST(self) -> None:  # noqa: N802
            if not got:  # the first attempt: no answer until the server that sent it is gone
                self.got.append((dict(self.headers), self.rfile.read(int(self.headers["content-length"]))))
                answer.wait(30)
                return
            super().do_POST()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), type("Receiver", (Holding,), {"got": got, "fail_first": []}))
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    try:
        server = Server(tmp_path / "data", "--allow-private-urls").start()
        try:
            with server.client() as http:
                job_id = http.post("/v1/checks", params={"name": "h.jpg", "callback_url": callback},
                                   content=(media / "headshot.jpg").read_bytes()).json()["id"]
                deadline = time.monotonic() + 60
                while not got:  # the first attempt is in flight
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        finally:
            server.kill()
        answer.set()
        with Server(tmp_path / "data", "--allow-private-urls"):
            deadline = time.monotonic() + 10  # well inside the attempt's lease
            while len(got) == 1:
                assert time.monotonic() < deadline, "the callback was not sent again at once after the restart"
                time.sleep(0.05)
    finally:
        answer.set()
        receiver.shutdown()
    assert json.loads(got[-1][1])["id"] == job_id and json.loads(got[-1][1])["status"] == "done"


def test_callbacks_are_sent_by_a_fixed_number_of_senders_once_each_across_nodes(tmp_path: Path,
                                                                                 database: str) -> None:
    """Twelve callbacks due at once to a slow receiver, two nodes sending: at most four are in flight
    per node, and every one arrives once, signed."""
    from preflight.serve.work.callbacks import SENDERS, Sender, verify
    from tests.support.state import node

    lock, now, most, got = threading.Lock(), [0], [0], []

    class Slow(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:  # noqa: N802
            with lock:
                now[0] += 1
                most[0] = max(most[0], now[0])
            body = self.rfile.read(int(self.headers["content-length"]))
            time.sleep(0.3)
            with lock:
                now[0] -= 1
                got.append((self.headers["X-Preflight-Signature"], body))
            self.send_response(204)
            self.end_headers()

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    a, b = node(database, tmp_path / "a", "node-a"), node(database, tmp_path / "b", "node-b")
    for i in range(12):
        a.jobs.add(f"job-{i:02d}", "check", "x.mp4", "x.mp4", False, {}, url)
        assert a.jobs.claim("node-a", 30) is not None and a.jobs.finish(f"job-{i:02d}", "node-a", "pass", {}, None)
    senders = [Sender(at.jobs, lambda job: {"id": job.id}, b"s3cret", at.name, allow=("127.0.0.0/8",), attempts=1,
                      backoff_s=0.1) for at in (a, b)]
    try:
        for sender in senders:
            sender.start()
        deadline = time.monotonic() + 30
        while any(a.jobs.get(f"job-{i:02d}").callback_attempts == 0 for i in range(12)):  # type: ignore[union-attr]
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        for sender in senders:
            sender.stop()
        receiver.shutdown()
    ids = sorted(json.loads(body)["id"] for _, body in got)
    assert ids == [f"job-{i:02d}" for i in range(12)]  # each once
    assert 1 < most[0] <= 2 * SENDERS and SENDERS == 4
    assert all(verify(b"s3cret", body, signature) for signature, body in got)


def test_guidance_sheds_load_fairly_and_never_for_a_starving_recorder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over its share a frame is shed (429) unless its recorder has waited STARVING_S for an answer
    (when it was answered comes with its follow state); a frame that names no stream, or one beyond
    the pool's hard cap, is always shed then."""
    from preflight.serve.routes import guide

    clock = [1000.0]
    monkeypatch.setattr(guide.time, "time", lambda: clock[0])
    streams = guide.Streams()
    streams.in_hand = guide.SHED_AT * 2 - 1
    assert not streams.shed("", 2, None) and not streams.shed("a", 2, clock[0])  # under the share: all go in
    streams.in_hand = guide.SHED_AT * 2
    assert streams.shed("", 2, None) and streams.shed("a", 2, clock[0])  # over it: no stream, or answered just now
    assert not streams.shed("a", 2, clock[0] - guide.STARVING_S) and not streams.shed("new", 2, None)  # waited
    streams.in_hand = guide.HARD_AT * 2
    assert streams.shed("a", 2, None)  # the pool is full: made-up stream ids cannot flood it


def test_a_follow_state_is_followed_only_signed_for_its_own_stream_and_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.serve.routes import guide

    follow = guide.Follow(b"the-servers-secret")
    state = {"main": {"x": 0.4, "y": 0.3, "w": 0.2, "h": 0.3}, "next_full": 1.0}
    token = follow.dump("s1:a", state)
    loaded, answered = follow.load(token, "s1:a")
    assert loaded == state and answered is not None and abs(answered - time.time()) < 5
    assert follow.load(token, "s2:a") == (None, None)  # another stream's (another session's)
    assert guide.Follow(b"another-secret").load(token, "s1:a") == (None, None)  # not signed by this cluster
    tampered = token.replace(token.split(".")[0], token.split(".")[0][:-2] + "AA")
    assert follow.load(tampered, "s1:a") == (None, None) and follow.load("x" * 9000, "s1:a") == (None, None)
    later = time.time() + guide.FOLLOW_S + 1
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert follow.load(token, "s1:a") == (None, None)  # too old: the frame is searched afresh


def test_a_data_folder_from_before_the_migrations_is_migrated_with_its_jobs(tmp_path: Path) -> None:
    """A single-node data folder kept before versions were recorded (version 1's tables, a job left running
    by a server that died): opened, it gets version 2, and the job runs again, the death counted."""
    import sqlite3

    from preflight.serve.state.connect import open_database
    from preflight.serve.state.jobs import Jobs
    from preflight.serve.state.migrations import MIGRATIONS

    path = tmp_path / "jobs.sqlite3"
    with sqlite3.connect(path) as old:
        for statement in MIGRATIONS[0][2]:
            old.execute(statement)
        old.execute("INSERT INTO jobs (id, kind, status, created, name, source, remote, params, attempts) "
                    "VALUES ('a', 'check', 'running', 1.0, 'a.mp4', '/old/spool/a.mp4', 0, '{}', 1)")
    database = open_database(f"sqlite:///{path}")
    assert [r["version"] for r in database.rows("SELECT version FROM schema_migrations ORDER BY version")] == [1, 2, 3]
    job = Jobs(database).claim("node-a", 30)
    assert job is not None and job.id == "a" and job.attempts == 2 and job.source == "/old/spool/a.mp4"
    assert open_database(f"sqlite:///{path}").rows("SELECT COUNT(*) AS n FROM schema_migrations")[0]["n"] == 3


def test_a_node_tidies_its_copies_of_uploads_another_node_checked(tmp_path: Path, database: str, s3,  # type: ignore[no-untyped-def]
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With the uploads in S3, the node that received one keeps its copy while the job waits (it runs it
    first, with nothing to download); when another node ran it, the copy goes at the next tidy."""
    from preflight.serve.blobs.places import open_blobs
    from preflight.serve.work.runner import remove_inputs, tidy_spool
    from tests.support.nodes import s3_env
    from tests.support.seaweed import BUCKET
    from tests.support.state import node

    for name, value in s3_env(s3, tmp_path).items():
        monkeypatch.setenv(name, value)
    a, b = node(database, tmp_path / "a", "node-a"), node(database, tmp_path / "b", "node-b")
    shared = open_blobs(f"s3://{BUCKET}/tidy-{tmp_path.name}", tmp_path / "x")
    a, b = replace(a, places=shared), replace(b, places=shared)
    landed = a.spool / "job1.mp4"
    landed.write_bytes(b"media" * 1000)
    assert not shared.uploads.keep("job1.mp4", landed, leave=True) and landed.exists()
    a.jobs.add("job1", "check", "take.mp4", "job1.mp4", False, {}, None, origin="node-a")
    assert tidy_spool(a, older_than_s=0) == 0 and landed.exists()  # its job still waits
    claimed = b.jobs.claim("node-b", 30)
    assert claimed is not None and b.jobs.finish("job1", "node-b", "pass", {}, None)
    remove_inputs(b, claimed)  # node-b ran it: the blob goes, node-a's copy is node-a's to tidy
    assert shared.uploads.read("job1.mp4") is None and landed.exists()
    assert tidy_spool(a, older_than_s=0) == 1 and not landed.exists()
