"""Capture sessions against a real ``preflight serve``: a backend mints a session with the server's token;
its token works for its own takes, from its origin, within its limits, and for nothing else; CORS
answers that origin only; takes are database rows that outlive a server killed mid-take."""

from __future__ import annotations

import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support.media_factory import VideoSpec, make_video
from tests.support.serve_process import Server, state_rows

# Every test here runs on both databases: SQLite (the default) and PostgreSQL.
pytestmark = pytest.mark.usefixtures("service_database")


TOKEN = "server-token-for-capture-tests"
ORIGIN = "http://127.0.0.2:8123"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, service_database):  # type: ignore[no-untyped-def]
    with Server(tmp_path_factory.mktemp("capture") / "data", token=TOKEN) as running:
        yield running


def session(server: Server, **fields: object) -> dict[str, object]:
    with server.client() as http:
        made = http.post("/v1/capture-sessions", json={"origin": ORIGIN, **fields})
    assert made.status_code == 201, made.text
    return dict(made.json())


def browser(server: Server, token: str, origin: str = ORIGIN) -> httpx.Client:
    """What the product's page sends: the session's token, and its Origin."""
    return httpx.Client(base_url=server.url, timeout=60, headers={"authorization": f"Bearer {token}", "origin": origin})


def test_a_backend_mints_a_session_whose_token_reaches_only_its_own_routes(server: Server) -> None:
    made = session(server, rules="phoenix-4", speak_s=4, listen_s=3, max_takes=2)
    token = str(made["token"])
    assert token.startswith("pfcs_") and made["url"] == f"{server.url}/capture#token={token}"
    assert made["origin"] == ORIGIN and made["max_takes"] == 2 and TOKEN not in json.dumps(made)
    with browser(server, token) as page:
        config = page.get("/v1/capture/config")
        assert config.status_code == 200 and config.json()["speak_s"] == 4 and config.json()["listen_s"] == 3
        assert config.headers["access-control-allow-origin"] == ORIGIN and config.json()["submit"] is False
        assert page.post("/v1/checks", params={"name": "a.jpg"}, content=b"x").status_code == 403  # not a session route
        assert page.post("/v1/capture-sessions", json={"origin": ORIGIN}).status_code == 403  # cannot mint more
        assert page.get("/v1/capture/config", headers={"origin": "http://127.0.0.3:8123"}).status_code == 403
    with httpx.Client(base_url=server.url) as anyone:
        assert anyone.post("/v1/capture-sessions", json={"origin": ORIGIN}).status_code == 401  # the server's token
        wrong = anyone.get("/v1/capture/config", headers={"authorization": f"Bearer {token[:-1]}x"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]


@pytest.mark.parametrize(("fields", "status", "words"), [
    ({"origin": "https://app.example.com/path"}, 400, "origin"),
    ({"origin": "javascript:alert(1)"}, 400, "origin"),
    ({"origin": ORIGIN, "rules": "image"}, 400, "video rule set"),
    ({"origin": ORIGIN, "ttl_s": 10**9}, 400, "ttl_s"),
    ({"origin": ORIGIN, "max_takes": 0}, 400, "max_takes"),
    ({"origin": ORIGIN, "colour": "red"}, 400, "'colour'"),
    ({"origin": ORIGIN, "callback_url": "http://127.0.0.1:9/hook"}, 400, "callback_url"),
    ({"origin": ORIGIN, "submit": {"name": "Ada"}}, 503, "TAVUS_API_KEY"),
    ({"origin": ORIGIN, "submit": {"api_key": "x"}}, 400, "submit"),
])
def test_a_session_with_a_wrong_field_is_refused_saying_which(server: Server, fields: dict[str, object], status: int,
                                                             words: str) -> None:
    with server.client() as http:
        refused = http.post("/v1/capture-sessions", json=fields)
    assert refused.status_code == status and words in refused.json()["error"], refused.text


def test_cors_answers_the_sessions_origin_only_preflights_included(server: Server) -> None:
    session(server)
    asked = {"access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type"}
    with httpx.Client(base_url=server.url) as http:
        ok = http.options("/v1/takes", headers={"origin": ORIGIN, **asked})
        assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in ok.headers["access-control-allow-headers"]
        other = http.options("/v1/takes", headers={"origin": "http://127.0.0.3:8123", **asked})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers
        not_for_sessions = http.options("/v1/checks", headers={"origin": ORIGIN, **asked})
        assert not_for_sessions.status_code == 403
        script = http.get("/v1/capture.js", headers={"origin": "http://127.0.0.3:8123"})  # open: any page may load it
        assert script.status_code == 200 and script.headers["access-control-allow-origin"] == "*"
        assert "customElements.define" in script.text and "eval(" not in script.text


def test_a_session_token_reads_its_own_takes_only_and_never_the_media(server: Server) -> None:
    a, b = session(server), session(server)
    with browser(server, str(a["token"])) as page_a, browser(server, str(b["token"])) as page_b:
        take = page_a.post("/v1/takes", json={"mime": "video/webm"}).json()
        assert page_a.get(f"/v1/takes/{take['id']}").json()["next_seq"] == 0
        assert page_b.get(f"/v1/takes/{take['id']}").status_code == 404  # another session's: not there at all
        assert page_b.post(f"/v1/takes/{take['id']}/chunks", params={"seq": 0}, content=b"x").status_code == 404
        assert page_a.get(f"/v1/takes/{take['id']}/media").status_code == 403  # the backend's, with the server token
        assert page_a.get(f"/v1/capture-sessions/{b['id']}").status_code == 404
        assert page_a.get(f"/v1/capture-sessions/{a['id']}").json()["takes_left"] == 2


def test_two_starts_at_once_cannot_pass_max_takes_and_a_retried_mint_is_the_same_session(server: Server) -> None:
    made = session(server, max_takes=2)
    with browser(server, str(made["token"])) as page, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: page.post("/v1/takes", json={}).status_code, range(6)))
        refused = page.post("/v1/takes", json={})
    assert sorted(answers) == [201, 201, 403, 403, 403, 403]
    assert refused.status_code == 403 and "allows 2 takes" in refused.json()["error"]
    assert refused.headers["access-control-allow-origin"] == ORIGIN  # the page can read why
    with server.client() as http, ThreadPoolExecutor(2) as pool:
        twice = list(pool.map(lambda _: http.post("/v1/capture-sessions", json={"origin": ORIGIN},
                                                  headers={"idempotency-key": "mint-7"}).json(), range(2)))
        other = http.post("/v1/capture-sessions", json={"origin": ORIGIN, "max_takes": 5},
                          headers={"idempotency-key": "mint-7"})
    assert twice[0]["id"] == twice[1]["id"] and twice[0]["token"] == twice[1]["token"]
    assert other.status_code == 422


def test_an_expired_session_is_refused_with_its_reason(server: Server) -> None:
    made = session(server, ttl_s=5)
    with browser(server, str(made["token"])) as page:
        assert page.get("/v1/capture/config").status_code == 200
        time.sleep(5.2)
        expired = page.get("/v1/capture/config")
    assert expired.status_code == 401 and "expired" in expired.json()["error"]
    assert expired.headers["access-control-allow-origin"] == ORIGIN


def test_a_take_outlives_a_server_killed_between_chunks(tmp_path: Path) -> None:
    """Takes are rows in the database: a server killed with kill -9 mid-take comes back expecting the
    next chunk, and the recording is every acknowledged chunk, in order, byte for byte."""
    clip = make_video(tmp_path / "take.webm", VideoSpec(seconds=3, codec="libvpx-vp9", audio="libopus"))
    data = clip.read_bytes()
    parts = [data[i:i + 16_000] for i in range(0, len(data), 16_000)]
    server = Server(tmp_path / "data", token=TOKEN).start()
    try:
        made = session(server)
        with browser(server, str(made["token"])) as page:
            take = page.post("/v1/takes", json={"mime": "video/webm"}).json()
            for seq in range(2):
                assert page.post(f"/v1/takes/{take['id']}/chunks", params={"seq": seq}, content=parts[seq]).status_code == 200
        server.kill()
        server.start()
        with browser(server, str(made["token"])) as page:
            state = page.get(f"/v1/takes/{take['id']}").json()
            assert state["next_seq"] == 2 and state["bytes"] == len(parts[0]) + len(parts[1])
            for seq in range(2, len(parts)):
                assert page.post(f"/v1/takes/{take['id']}/chunks", params={"seq": seq}, content=parts[seq]).status_code == 200
            done = page.post(f"/v1/takes/{take['id']}/finish", params={"wait": "true"}).json()
        assert done["status"] == "done" and done["verdict"] == "fail"  # 3 s: far too short, judged all the same
        assert "video.duration" in {f["rule"] for f in done["findings"] if f["outcome"] == "fail"}
        assert (tmp_path / "data" / "takes" / done["recording"]).read_bytes() == data
        assert str(tmp_path) not in json.dumps(done)
        with server.client() as http:
            media = http.get(f"/v1/takes/{take['id']}/media")
        assert media.status_code == 200 and media.headers["content-type"] == "video/mp4" and media.content[4:8] == b"ftyp"
    finally:
        server.stop()


LANGUAGES = ("en", "de", "es", "fr", "pt", "ja")


def test_the_element_catalogs_have_the_same_keys_in_every_language(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        catalogs = {lang: http.get(f"/v1/capture/i18n/{lang}.json").json() for lang in LANGUAGES}
        assert http.get("/v1/capture/i18n/xx.json").status_code == 404
        modules = re.findall(r'from "\./capture/(\w+)\.js"', http.get("/v1/capture.js").text)
        script = http.get("/v1/capture.js").text + "".join(http.get(f"/v1/capture/{m}.js").text for m in modules)
        assert {"take", "guidance", "logic"} <= set(modules)
    en = catalogs["en"]
    assert len(en) > 50
    for lang, catalog in catalogs.items():
        assert set(catalog) == set(en), (lang, sorted(set(catalog) ^ set(en)))
        for key, text in en.items():  # the same placeholders, each string its own language's
            assert sorted(re.findall(r"\{\w+\}", catalog[key])) == sorted(re.findall(r"\{\w+\}", text)), (lang, key)
        if lang != "en":
            assert all(catalog[k] != en[k] for k in ("start", "stop", "again", "verdict_pass", "hint_closer")), lang
    # every string key the element names (its snake_case literals: data-t="…", this.t("…"), hint keys)
    used = set(re.findall(r"""["']([a-z]+(?:_[a-z]+)+)["']""", script)) | set(re.findall(r'data-t="(\w+)"', script))
    assert used and used <= set(en), sorted(used - set(en))


def test_a_callback_for_a_session_take_is_signed(tmp_path: Path) -> None:
    """The session's callback_url receives the take's job, signed like every callback."""
    import hashlib
    import hmac

    from tests.support.hooks import Hooks

    hooks = Hooks()
    secret = "capture-callback-secret"
    clip = make_video(tmp_path / "take.webm", VideoSpec(seconds=2, codec="libvpx-vp9", audio="libopus"))
    try:
        with Server(tmp_path / "data", "--allow-private-urls", token=TOKEN,
                    env={"PREFLIGHT_SERVE_SECRET": secret}) as server:
            made = session(server, callback_url=hooks.url)
            with browser(server, str(made["token"])) as page:
                take = page.post("/v1/takes", json={}).json()
                page.post(f"/v1/takes/{take['id']}/chunks", params={"seq": 0}, content=clip.read_bytes())
                page.post(f"/v1/takes/{take['id']}/finish", params={"wait": "true"})
            deadline = time.monotonic() + 20
            while not hooks.got and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        hooks.httpd.shutdown()
    headers, body = hooks.got[0]
    signature = dict(p.split("=", 1) for p in headers["X-Preflight-Signature"].split(","))
    t, v1 = signature["t"], signature["v1"]
    assert hmac.compare_digest(hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest(), v1)
    job = json.loads(body)
    assert job["kind"] == "take" and job["take"] == take["id"] and job["report"]["results"][0]["verdict"] == "fail"
    assert str(tmp_path) not in body.decode()


def test_a_services_old_takes_are_swept_and_records_takes_never(tmp_path: Path, database: str) -> None:
    from tests.support.state import janitor, node

    served = node(database, tmp_path / "data")
    recorded = node(database, tmp_path / "data", takes=tmp_path / "out")
    abandoned = served.recording.start(None, "phoenix-4", "video/webm", ".webm")
    for at, name in ((served, "served"), (recorded, "recorded")):
        take = at.recording.start(None, "phoenix-4", "video/webm", ".webm")
        assert take is not None
        at.recording.append(take.id, 0, b"webm")
        (at.places.takes.root / f"{take.id}.fixed.mp4").write_bytes(b"mp4")  # type: ignore[attr-defined]
        job_id = at.recording.takes.finish(take, f"job-{name}", {"rules": "phoenix-4"}, None)
        assert at.jobs.claim("node-a", 30) is not None
        assert at.jobs.finish(job_id, "node-a", "pass", {"report": {}}, None)
    assert janitor(served, keep_s=3600).sweep() == 0
    time.sleep(0.05)
    recorded_take = recorded.recording.takes.of_job("job-recorded")
    assert recorded_take is not None
    assert janitor(recorded, keep_s=0.01, takes_too=False).sweep() == 0  # record's takes: the user's files
    assert recorded.recording.takes.get(recorded_take.id) is not None
    assert janitor(served, keep_s=0.01).sweep() == 2
    assert list((tmp_path / "data" / "takes").iterdir()) == []  # the finished take and the abandoned one
    assert abandoned is not None and served.recording.takes.get(abandoned.id) is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{recorded_take.id}.fixed.mp4",
                                                                    f"{recorded_take.id}.webm"]


def test_every_route_refuses_a_foreign_host_no_token_and_a_foreign_origin(server: Server) -> None:
    """Each route the server declares (read from its own OpenAPI document), tried as a stranger would."""
    made = session(server)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        doc = http.get("/openapi.json").json()
        routes = [(method.upper(), re.sub(r"\{\w+\}", "x", path), op.get("security") == [])
                  for path, ops in doc["paths"].items() for method, op in ops.items()]
        assert len(routes) > 25
        for method, path, public in routes:
            rebound = http.request(method, path, headers={"host": f"evil.example:{server.port}"})
            assert rebound.status_code == 403, (method, path)
            if public:
                continue
            assert http.request(method, path).status_code == 401, (method, path)
            as_server = {"authorization": f"Bearer {TOKEN}", "origin": "https://evil.example"}
            if method != "GET":
                assert http.request(method, path, headers=as_server).status_code == 403, (method, path)
            as_page = {"authorization": f"Bearer {made['token']}", "origin": "https://evil.example"}
            assert http.request(method, path, headers=as_page).status_code == 403, (method, path)


def test_a_session_that_allows_a_submit_sends_its_take_through_the_pipeline(tmp_path: Path, s3, tavus) -> None:  # type: ignore[no-untyped-def]
    """The backend allowed a submit (a name; never a key or a bucket from the browser): the checked
    take goes through the submit pipeline and its outcome is in the take and the job; an MP4 take (iOS
    Safari's H.264/AAC) is taken as well as WebM. The 2 s take fails its check: nothing is uploaded."""
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
    from tests.support.tavus_server import API_KEY

    env = {"TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url, "PREFLIGHT_BUCKET": BUCKET,
           "PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none")}
    clip = make_video(tmp_path / "take.mp4", VideoSpec(seconds=2, codec="libx264", audio="aac"))
    with Server(tmp_path / "data", token=TOKEN, env=env) as server:
        made = session(server, submit={"name": "Ada", "dry_run": True})
        with browser(server, str(made["token"])) as page:
            take = page.post("/v1/takes", json={"mime": "video/mp4;codecs=avc1.42E01E,mp4a.40.2"}).json()
            assert take["recording"].endswith(".mp4")
            page.post(f"/v1/takes/{take['id']}/chunks", params={"seq": 0}, content=clip.read_bytes())
            done = page.post(f"/v1/takes/{take['id']}/finish", params={"wait": "true"}).json()
            assert page.post(f"/v1/takes/{take['id']}/submit").status_code == 403  # the browser cannot ask more
    assert done["verdict"] == "fail" and done["submitted"] is not None, {k: v for k, v in done.items() if k != "report"}
    assert done["submitted"]["stopped"] == "check"
    assert API_KEY not in json.dumps(done) and BUCKET not in json.dumps(done)
    assert not tavus.state.faces


def test_two_finishes_at_once_make_one_check_and_a_server_killed_mid_check_checks_again(tmp_path: Path) -> None:
    """A retried finish does not check the take twice; a server killed -9 while the take's check runs
    queues it again at the restart, and the take ends checked."""
    clip = make_video(tmp_path / "take.webm", VideoSpec(seconds=3, codec="libvpx-vp9", audio="libopus"))
    server = Server(tmp_path / "data", token=TOKEN).start()
    try:
        made = session(server)
        with browser(server, str(made["token"])) as page, ThreadPoolExecutor(2) as pool:
            take = page.post("/v1/takes", json={}).json()
            page.post(f"/v1/takes/{take['id']}/chunks", params={"seq": 0}, content=clip.read_bytes())
            both = list(pool.map(lambda _: page.post(f"/v1/takes/{take['id']}/finish").status_code, range(2)))
        assert both == [202, 202]
        deadline = time.monotonic() + 30
        while job_rows(tmp_path) != [("running", 1)]:  # the take's one check job, under way
            assert time.monotonic() < deadline, job_rows(tmp_path)
            time.sleep(0.02)
        server.kill()  # mid-check
        server.start()
        with browser(server, str(made["token"])) as page:
            done = page.post(f"/v1/takes/{take['id']}/finish", params={"wait": "true"}).json()
        assert done["status"] == "done" and done["verdict"] == "fail"
        assert job_rows(tmp_path) == [("done", 2)]  # one job for the take: sent twice, cut short, run again
    finally:
        server.stop()


def job_rows(tmp_path: Path) -> list[tuple[str, int]]:
    return [(str(r[0]), int(r[1])) for r in state_rows(tmp_path / "data", "SELECT status, attempts FROM jobs WHERE "
                                                                          "kind = 'take'")]
