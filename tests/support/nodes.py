"""Several real ``preflight serve`` nodes on 127.0.0.1 sharing one PostgreSQL database and one S3 bucket
(SeaweedFS), as a product would run them behind a load balancer: for the many-machines tests and
``benchmarks/bench_serve.py --nodes N``."""

from __future__ import annotations

import hashlib
import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY
from tests.support.serve_process import Server

TOKEN = "server-token-for-many-nodes"
SECRET = "one-secret-for-every-node"


SLOW = b"slow-me"  # a file whose bytes end so takes SLOW_S longer to analyse on nodes started with slow_env
SLOW_S = 3.0
_SLOW_HOOK = f"""\
import os
import time

import preflight.media.analyze

real_analyze = preflight.media.analyze.analyze


def analyze(path, *args, **kwargs):
    if {SLOW!r} in open(str(path), "rb").read()[-64:]:
        time.sleep({SLOW_S})  # a long recording's analysis, so a job is surely running when its node goes
    return real_analyze(path, *args, **kwargs)


preflight.media.analyze.analyze = analyze
"""


def slow(data: bytes) -> bytes:
    """``data`` made slow to analyse, and unlike any other (so no result cache answers for it)."""
    import os

    return data + SLOW + os.urandom(8).hex().encode()


def slow_env(root: Path) -> dict[str, str]:
    """Nodes whose workers take SLOW_S longer on a file that ends with SLOW (planted from outside)."""
    import os

    from tests.conftest import REPO

    hooks = root / "slow-hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    (hooks / "sitecustomize.py").write_text(_SLOW_HOOK)
    return {"PYTHONPATH": os.pathsep.join([str(hooks), str(REPO)])}


def s3_env(s3: Any, root: Path) -> dict[str, str]:
    """What a node needs to reach the tests' SeaweedFS (and nothing of the machine's own AWS set-up)."""
    return {"PREFLIGHT_S3_ENDPOINT": s3.endpoint, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": str(root / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "none")}


class Nodes:
    def __init__(self, root: Path, postgres: Any, s3: Any, count: int = 3, *args: str,
                 env: dict[str, str] | None = None, token: str | None = TOKEN) -> None:
        uid = hashlib.sha256(str(root).encode()).hexdigest()[:12]
        self.database = postgres.create_database(f"nodes_{uid}")
        self.blobs = f"s3://{BUCKET}/nodes-{uid}"
        self.env = {**s3_env(s3, root), "PREFLIGHT_SERVE_SECRET": SECRET, **(env or {})}
        self.servers = [Server(root / f"node{i}" / "data", "--database", self.database, "--blobs", self.blobs, *args,
                               token=token, env=self.env) for i in range(count)]
        self._turn = itertools.count()

    def start(self) -> Nodes:
        """Every node at once (so they migrate the new database at the same moment), until all are ready."""
        with ThreadPoolExecutor(len(self.servers)) as pool:
            list(pool.map(lambda s: s.start(60).wait_ready(), self.servers))
        return self

    def stop(self) -> None:
        with ThreadPoolExecutor(len(self.servers)) as pool:
            list(pool.map(lambda s: s.stop(), self.servers))

    def next(self) -> Server:
        """The next node, round robin: a load balancer without sticky sessions."""
        return self.servers[next(self._turn) % len(self.servers)]

    def rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database) as conn:
            return [tuple(r) for r in conn.execute(sql, args).fetchall()]

    def __enter__(self) -> Nodes:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
