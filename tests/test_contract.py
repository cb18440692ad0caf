"""The contract backends build on: the OpenAPI document a real ``preflight serve`` (and ``preflight
record``) serves validates as OpenAPI 3.1 and says who may call each route, every status it answers
with its body, the links from what a route makes to what reads it, and the callbacks with their
signature; the server refuses what the document refuses. An outside tester, Schemathesis, runs every
phase (examples, coverage, fuzzing, stateful) with every check against the real processes and finds
nothing; clients generated from the document (Python, TypeScript types) work against a real server.

Every URL Schemathesis generates is pointed at 127.0.0.1 (``support/contract_hooks.py``): nothing is sent
anywhere else."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.support.hooks import Hooks
from tests.support.http_media import serving
from tests.support.serve_process import Server

TOKEN = "contract-test-token-0123456789"
SEED = "20261207"
ST_SECONDS = {"serve": 25, "record": 12}  # the time each run of Schemathesis may take, every phase in it


@pytest.fixture(scope="module")
def contract_env(s3, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """What the servers under test need to answer every route without a 5xx: the Tavus stand-in and a
    bucket (faces, a session's submit), a webhook receiver and a file server on 127.0.0.1 (the URLs
    Schemathesis generates are pointed at them)."""
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
    from tests.support.tavus_server import API_KEY, TavusStandIn

    none = tmp_path_factory.mktemp("aws") / "none"
    with TavusStandIn() as tavus, serving(REPO / "sample_media") as (base, _):
        hooks = Hooks()
        yield {"TAVUS_API_KEY": API_KEY, "TAVUS_API_URL": tavus.url, "PREFLIGHT_BUCKET": BUCKET,
               "PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_CONFIG_FILE": str(none), "AWS_SHARED_CREDENTIALS_FILE": str(none),
               "CONTRACT_LINK_URL": f"{base}/f/headshot.jpg", "CONTRACT_HOOK_URL": hooks.url}
        hooks.httpd.shutdown()


@pytest.fixture(scope="module")
def served(contract_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # --allow-private-urls: the callbacks and links go to the test's own servers on 127.0.0.1
    with Server(tmp_path_factory.mktemp("contract") / "data", "--allow-private-urls", "--max-queue", "500",
                env=contract_env, token=TOKEN) as server:
        yield server


def document(server: Server) -> dict[str, Any]:
    reply = httpx.get(f"{server.url}/openapi.json", timeout=30)
    assert reply.status_code == 200
    found: dict[str, Any] = reply.json()
    return found


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            yield method.upper(), path, operation


def test_the_document_is_openapi_3_1_with_security_statuses_links_and_webhooks(served: Server) -> None:
    from openapi_spec_validator import validate

    doc = document(served)
    validate(doc)  # raises on anything OpenAPI 3.1 does not allow
    assert doc["openapi"] == "3.1.0"
    assert set(doc["components"]["securitySchemes"]) == {"serverToken", "captureSessionToken"}
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), "every operation has an id of its own"
    for method, path, op in operations(doc):
        statuses = set(op["responses"])
        assert "403" in statuses, (method, path)  # a foreign Host, on every route
        if op["security"]:
            assert {"400", "401"} <= statuses, (method, path)
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        for status, answer in op["responses"].items():
            if status[0] in "45":
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if status in ("429", "503", "507"):
                assert "Retry-After" in answer["headers"], (method, path, status)
    by_id = {op["operationId"]: (method, path, op) for method, path, op in operations(doc)}
    session_routes = {p for m, p, op in operations(doc) if {"captureSessionToken": []} in op["security"]}
    assert {"/v1/takes", "/v1/takes/{take_id}/chunks", "/v1/guidance", "/v1/capture/config"} <= session_routes
    assert {"serverToken": []} in by_id["createCaptureSession"][2]["security"]
    assert by_id["createCaptureSession"][2]["security"] == [{"serverToken": []}]
    assert by_id["getCaptureElement"][2]["security"] == []
    # what a route makes leads to what reads it
    links = {(source, link["operationId"]) for source, (_, _, op) in by_id.items()
             for answer in op["responses"].values() for link in answer.get("links", {}).values()}
    assert {("createCheck", "getCheck"), ("createFace", "getFace"), ("startTake", "getTake"),
            ("startTake", "appendTakeChunk"), ("startTake", "finishTake"), ("finishTake", "getTakeMedia"),
            ("createCaptureSession", "getCaptureSession"), ("createCaptureSession", "getCaptureSessionQr")} <= links
    # the report is the CLI's documented JSON, shared
    report = json.loads((REPO / "preflight" / "schemas" / "report-1.schema.json").read_text())
    assert doc["components"]["schemas"]["Report"]["required"] == report["required"]
    assert by_id["getCheck"][2]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Job")
    # the callbacks, with the header a backend verifies
    assert set(doc["webhooks"]) == {"check", "face", "take"}
    for hook in doc["webhooks"].values():
        (header,) = hook["post"]["parameters"]
        assert header["name"] == "X-Preflight-Signature" and header["required"]
        assert "HMAC-SHA256" in hook["post"]["description"]


def test_the_server_refuses_what_the_document_refuses(served: Server) -> None:
    headers = {"authorization": f"Bearer {TOKEN}"}
    jpeg = (REPO / "sample_media" / "headshot.jpg").read_bytes()
    with httpx.Client(base_url=served.url, headers=headers, timeout=60) as http:
        for query, said in (({"wait": "-1"}, "wait is true or false"), ({"quick": "1"}, "quick is true or false"),
                            ({"rules": "phoenix-9"}, "rules is one of"), ({"colour": "red"}, "takes no parameter")):
            reply = http.post("/v1/checks", params={"name": "h.jpg", **query}, content=jpeg)
            assert reply.status_code == 400 and said in reply.json()["error"], (query, reply.text)
        too_long = http.post("/v1/checks", params={"name": "h.jpg"}, content=jpeg, headers={"idempotency-key": "k" * 256})
        assert too_long.status_code == 400 and "at most 255" in too_long.json()["error"]
        longest = http.post("/v1/checks", params={"name": "h.jpg"}, content=jpeg, headers={"idempotency-key": "k" * 255})
        assert longest.status_code == 202
        typed = http.post("/v1/checks", json={"url": "https://example.invalid/h.jpg", "quick": "yes"})
        assert typed.status_code == 400 and "quick" in typed.json()["error"] and "boolean" in typed.json()["error"]
        made = http.post("/v1/capture-sessions", json={"origin": "https://app.example.com", "max_takes": 2})
        assert made.status_code == 201 and made.json()["token"].startswith("pfcs_")
        for body, said in (({"origin": "https://app.example.com", "max_takes": 2.5}, "max_takes"),
                           ({"origin": "https://app.example.com/page"}, "origin"),
                           ({"origin": "https://app.example.com", "colour": "red"}, "colour")):
            reply = http.post("/v1/capture-sessions", json=body)
            assert reply.status_code == 400 and said in reply.json()["error"], (body, reply.text)
        assert http.post("/v1/capture-sessions", content=b"origin=x").status_code == 415
        assert http.post("/v1/takes/nope/chunks", params={"seq": "x"}, content=b"1").status_code == 400
        assert http.post("/v1/takes/nope/chunks", content=b"1").json()["error"].startswith("seq is required")


def run_schemathesis(url: str, tmp_path: Path, env: dict[str, str], seconds: int,
                     token: str) -> subprocess.CompletedProcess[str]:
    """Schemathesis's command line against ``url``: every phase, every check, a fixed seed and a time
    budget, with the test's settings (``support/schemathesis.toml``) and hooks."""
    st = Path(sys.executable).with_name("st")
    cmd = [str(st), "--config-file", str(REPO / "tests" / "support" / "schemathesis.toml"), "run",
           f"{url}/openapi.json", "--checks", "all", "--phases", "examples,coverage,fuzzing,stateful",
           "--seed", SEED, "--max-time", str(seconds), "--max-examples", "25", "--workers", "1",
           "--request-timeout", "60", "-H", f"Authorization: Bearer {token}", "--no-color",
           "--report", "junit,ndjson", "--report-dir", str(tmp_path / "schemathesis")]
    run_env = {**os.environ, **env, "SCHEMATHESIS_HOOKS": "tests.support.contract_hooks",
               "PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=run_env, cwd=tmp_path,
                          timeout=seconds + 120, check=False)


def summary(done: subprocess.CompletedProcess[str]) -> str:
    text = done.stdout + done.stderr
    return text[-6000:]


def test_schemathesis_finds_nothing_on_serve(served: Server, contract_env: dict[str, str], tmp_path: Path) -> None:
    done = run_schemathesis(served.url, tmp_path, contract_env, ST_SECONDS["serve"], TOKEN)
    assert done.returncode == 0, summary(done)
    assert re.search(r"Tested:\s+2[0-9]", done.stdout), summary(done)  # every operation, not none
    assert "Traceback" not in served.log.read_text(errors="replace")


def test_schemathesis_finds_nothing_on_record(contract_env: dict[str, str], tmp_path: Path) -> None:
    from tests.test_record import start_recorder

    recording = start_recorder(tmp_path, env=contract_env, args=("--allow-private-urls",))
    recorder = next(recording)
    try:
        doc = httpx.get(f"{recorder.url}/openapi.json", timeout=30).json()
        assert doc["info"]["title"] == "preflight record" and "/" in doc["paths"]
        done = run_schemathesis(recorder.url, tmp_path, contract_env, ST_SECONDS["record"], recorder.key)
    finally:
        next(recording, None)
    assert done.returncode == 0, summary(done)
    assert "Traceback" not in (tmp_path / "record.log").read_text(errors="replace")


def openapi_python_client() -> str | None:
    found = Path(sys.executable).with_name("openapi-python-client")
    return str(found) if found.exists() else shutil.which("openapi-python-client")


def test_a_generated_python_client_checks_a_headshot_and_mints_a_session(served: Server, tmp_path: Path) -> None:
    """openapi-python-client (PyPI) builds a client from the document the server serves; the client
    checks a headshot (waiting for its report) and mints a capture session, typed both ways."""
    tool = openapi_python_client()
    assert tool is not None, "openapi-python-client is in the test extra"
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document(served)))
    config = tmp_path / "client.yaml"  # the generator's own setting for binary media types it does not name
    config.write_text("content_type_overrides:\n  image/jpeg: application/octet-stream\n"
                      "  video/mp4: application/octet-stream\n")
    generated = subprocess.run([tool, "generate", "--path", str(spec), "--output-path", str(tmp_path / "pfclient"),
                                "--meta", "none", "--config", str(config)], capture_output=True, text=True,
                               timeout=120, check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "will not be generated" not in generated.stdout + generated.stderr, generated.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        from io import BytesIO

        from pfclient import AuthenticatedClient  # type: ignore[import-not-found]
        from pfclient.api.default import create_capture_session, create_check, get_check  # type: ignore[import-not-found]
        from pfclient.models import CaptureSession, CreateCaptureSessionBody, Job  # type: ignore[import-not-found]
        from pfclient.types import File  # type: ignore[import-not-found]

        client = AuthenticatedClient(base_url=served.url, token=TOKEN, timeout=httpx.Timeout(120))
        headshot = (REPO / "sample_media" / "headshot.jpg").read_bytes()
        job = create_check.sync(client=client, body=File(payload=BytesIO(headshot), file_name="headshot.jpg"),
                                name="headshot.jpg", wait=True)
        assert isinstance(job, Job), job
        assert job.status.value == "done" and job.report.results[0].verdict.value == "pass"
        again = get_check.sync(client=client, job_id=job.id)
        assert isinstance(again, Job) and again.report.results[0].path == "headshot.jpg"
        session = create_capture_session.sync(client=client, body=CreateCaptureSessionBody(
            origin="https://app.example.com", max_takes=2))
        assert isinstance(session, CaptureSession), session
        assert session.token.startswith("pfcs_") and session.max_takes == 2
        refused = create_check.sync_detailed(client=AuthenticatedClient(base_url=served.url, token="wrong"),
                                             body=File(payload=BytesIO(headshot)), name="h.jpg")
        assert refused.status_code == 401 and "token" in refused.parsed.error
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "pfclient" or m.startswith("pfclient.")]:
            del sys.modules[name]


NODE_BIN = REPO / "node_modules" / ".bin"


def readme_typescript() -> str:
    """The README's TypeScript example (the block after "A TypeScript backend")."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    found = re.search(r"A TypeScript backend.*?```ts\n(.*?)```", text, re.S)
    assert found is not None, "the README shows a TypeScript example"
    return found.group(1)


@pytest.mark.skipif(not (NODE_BIN / "tsc").exists() or shutil.which("node") is None,
                    reason="no TypeScript tools: npm ci (in .ci/run) installs them from package-lock.json")
def test_typescript_types_generated_from_the_document_compile_with_the_readme_example(served: Server,
                                                                                      tmp_path: Path) -> None:
    (tmp_path / "openapi.json").write_text(json.dumps(document(served)))
    generated = subprocess.run([str(NODE_BIN / "openapi-typescript"), str(tmp_path / "openapi.json"), "-o",
                                str(tmp_path / "preflight-api.d.ts")], capture_output=True, text=True, timeout=120,
                               check=False)
    assert generated.returncode == 0, generated.stdout + generated.stderr
    types = (tmp_path / "preflight-api.d.ts").read_text()
    assert '"/v1/capture-sessions"' in types and "CaptureSession" in types and "webhooks" in types
    (tmp_path / "example.ts").write_text(readme_typescript())
    compiler = [str(NODE_BIN / "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
                "--moduleResolution", "bundler", "--lib", "es2022,dom", str(tmp_path / "example.ts")]
    compiled = subprocess.run(compiler, capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    # the types hold: a session without its origin does not compile
    (tmp_path / "wrong.ts").write_text(readme_typescript().replace("{ origin, max_takes: 3", "{ max_takes: 3"))
    wrong = subprocess.run([*compiler[:-1], str(tmp_path / "wrong.ts")], capture_output=True, text=True,
                           timeout=180, check=False, cwd=tmp_path)
    assert wrong.returncode != 0 and "origin" in wrong.stdout, wrong.stdout
