"""What ``preflight serve`` was started with."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ServeConfig:
    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)  # PREFLIGHT_SERVE_TOKEN: Bearer auth when set
    secret: bytes = field(default=b"", repr=False)  # signs callbacks (HMAC-SHA256)
    max_upload_mb: int | None = None  # None: Tavus's own limit, the rule set's file.size
    allow_private_urls: bool = False
    scheduler: str | None = None  # a Dask scheduler: jobs run on its workers
    workers: int = 0  # 0: one per core
    guidance_workers: int = 0  # guidance frames' own pool; 0: one per core
    max_queue: int = 64  # queued jobs beyond this: 429 with Retry-After
    keep_hours: float = 24.0  # finished jobs and their files are removed after this
    callback_attempts: int = 5
    callback_backoff_s: float = 2.0
    allow_hosts: tuple[str, ...] = ()  # --allow-host: Host names answered besides the address listened on
    allow_s3_buckets: tuple[str, ...] = ()  # --allow-s3-bucket: buckets an s3:// address from a caller may name
    max_spool_gb: float = 20.0  # uploads kept and in progress, together; beyond: 507 with Retry-After
    stop_grace_s: float = 30.0  # on SIGTERM, running jobs get this long to finish before they are queued again
    database: str | None = field(default=None, repr=False)  # None: sqlite:///DATA/jobs.sqlite3; or postgresql://…
    database_pool: int = 8  # connections this node keeps to PostgreSQL at most
    blobs: str | None = None  # None: the data folder; or s3://BUCKET/PREFIX
    lease_s: float = 30.0  # a running job's lease: renewed while it runs; a node silent this long loses its jobs
    drain_s: float = 0.0  # from SIGTERM, /readyz answers 503 for this long before the node stops taking requests
    node: str = ""  # this node's name in the database ("": the host's name and its data folder's)

    @property
    def database_url(self) -> str:
        return self.database or f"sqlite:///{self.data / 'jobs.sqlite3'}"

    @property
    def node_name(self) -> str:
        """This node's name: who holds a job's lease. A node started again under the same name (on the
        same host with the same data folder) takes back its own jobs at once instead of waiting for
        their leases to run out."""
        import hashlib
        import socket

        folder = hashlib.sha256(str(self.data.resolve()).encode()).hexdigest()[:8]
        return self.node or f"{socket.gethostname()}-{folder}"

    @property
    def max_spool_bytes(self) -> int:
        return int(self.max_spool_gb * 1e9)

    @property
    def max_upload_bytes(self) -> int:
        if self.max_upload_mb is not None:
            return self.max_upload_mb * 1_000_000
        from preflight.judge.ruleset import max_upload_bytes

        return max_upload_bytes()

    @property
    def max_upload_shown(self) -> str:
        return f"{self.max_upload_bytes // 1_000_000} MB"

    @property
    def worker_count(self) -> int:
        from preflight.run.batch import cores

        return self.workers if self.workers > 0 else max(1, cores())

    @property
    def guidance_worker_count(self) -> int:
        from preflight.run.batch import cores

        return self.guidance_workers if self.guidance_workers > 0 else max(1, cores())

    @property
    def guard_allow(self) -> tuple[str, ...]:
        """Networks fetched although not public: all of them with --allow-private-urls, else none."""
        return ("0.0.0.0/0", "::/0") if self.allow_private_urls else ()


@dataclass(frozen=True)
class RecorderConfig:
    """What ``preflight record`` adds: the folder its takes land in, and their rule set."""

    out: Path
    rules: str = "phoenix-4"
