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
        """Every node at once (so they migrate the new database at the same moment)."""
        with ThreadPoolExecutor(len(self.servers)) as pool:
            list(pool.map(lambda s: s.start(60), self.servers))
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
