"""``open_blobs``: the three places the service keeps bytes in, in a folder or an S3 bucket."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from preflight.errors import UsageError
from preflight.serve.blobs.base import Blobs


@dataclass(frozen=True)
class Places:
    """The service's three kinds of bytes."""

    uploads: Blobs  # bodies waiting for their job, by job id
    reports: Blobs  # check jobs' HTML reports
    takes: Blobs  # take recordings (and their chunks), fixed takes, their reports

    @property
    def shared(self) -> bool:
        return self.uploads.shared


def open_blobs(url: str | None, data: Path, takes: Path | None = None) -> Places:
    """The places ``url`` names: None (the data folder: ``spool``, ``reports``, ``takes`` or the
    ``takes`` folder given) or ``s3://BUCKET/PREFIX`` (``uploads/``, ``reports/``, ``takes/`` under the
    prefix; the endpoint from PREFLIGHT_S3_ENDPOINT, credentials from boto3's usual places)."""
    from preflight.serve.blobs.folder import FolderBlobs

    if not url:
        return Places(FolderBlobs(data / "spool"), FolderBlobs(data / "reports"), FolderBlobs(takes or data / "takes"))
    if not url.startswith("s3://") or len(url) <= 5 or url[5] == "/":
        raise UsageError(f"--blobs {url}: the blobs are a folder (the default: --data) or s3://BUCKET/PREFIX")
    import os

    from preflight.serve.blobs.s3 import S3Blobs

    bucket, _, prefix = url[5:].partition("/")
    endpoint = os.environ.get("PREFLIGHT_S3_ENDPOINT") or None
    root = S3Blobs(bucket, prefix.strip("/"), endpoint)
    root.check()
    return Places(root.child("uploads"), root.child("reports"), root.child("takes"))
