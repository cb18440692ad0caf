"""A real ``preflight serve`` process on 127.0.0.1 for the service's tests: started on a free port,
waited for until /healthz answers, stopped (or killed with its workers) at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def folder_database(base: str, data: Path) -> str:
    """The tests' PostgreSQL database of a server's data folder."""
    import hashlib

    return base.rsplit("/", 1)[0] + "/serve_" + hashlib.sha256(str(data.resolve()).encode()).hexdigest()[:16]


def state_rows(data: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the database a server on ``data`` keeps its state in (SQLite in the folder, or the tests'
    PostgreSQL): for tests that look at what the service remembers."""
    base = os.environ.get("PREFLIGHT_TEST_POSTGRES")
    if base:
        import psycopg

        with psycopg.connect(folder_database(base, data)) as conn:
            return [tuple(r) for r in conn.execute(sql).fetchall()]
    import sqlite3

    with sqlite3.connect(data / "jobs.sqlite3") as db:
        return [tuple(r) for r in db.execute(sql).fetchall()]


class Server:
    def __init__(self, data: Path, *args: str, env: dict[str, str] | None = None, token: str | None = None) -> None:
        self.data, self.args, self.token = data, list(args), token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.env.pop("PREFLIGHT_SERVE_TOKEN", None)
        if token is not None:
            self.env["PREFLIGHT_SERVE_TOKEN"] = token
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"serve-{self.port}.log"
        self.database = self._database(data)
        self.env.setdefault("PREFLIGHT_SERVE_DRAIN_S", "0")  # a test's server stops at once unless it says so

    def _database(self, data: Path) -> str | None:
        """With the tests' PostgreSQL (the ``service_database`` fixture): a database of its own per data
        folder (made once: a server started again on the folder finds its jobs), and the secret every
        node of a shared database must be given."""
        base = self.env.get("PREFLIGHT_TEST_POSTGRES")
        if not base or "PREFLIGHT_DATABASE_URL" in self.env or "--database" in self.args:
            return None
        import psycopg

        url = folder_database(base, data)
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(base, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        self.env["PREFLIGHT_DATABASE_URL"] = url
        self.env.setdefault("PREFLIGHT_SERVE_SECRET", "preflight-tests-shared-secret")
        return url

    def start(self, timeout: float = 30.0) -> Server:
        self.data.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "preflight", "serve", "--port", str(self.port),
                                          "--data", str(self.data), *self.args],
                                         stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"preflight serve exited {self.proc.returncode}: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"preflight serve did not answer in {timeout} s: {self.log.read_text()}")

    def wait_ready(self, timeout: float = 60.0) -> Server:
        """Until ``/readyz`` says 200: the node's workers are warm."""
        deadline = time.monotonic() + timeout
        while httpx.get(f"{self.url}/readyz", timeout=5).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError(f"preflight serve was not ready in {timeout} s: {self.log.read_text()}")
            time.sleep(0.1)
        return self

    def client(self, **kw: Any) -> httpx.Client:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=kw.pop("timeout", 120), **kw)

    def kill(self) -> None:
        """kill -9 of the server and its worker processes (its whole session)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
