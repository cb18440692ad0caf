"""The one place the environment becomes a Tavus connection and the submit options it fixes: the
API key and URL (``TAVUS_API_KEY``, ``TAVUS_API_URL``), the bucket and the S3 endpoint
(``PREFLIGHT_BUCKET``, ``PREFLIGHT_S3_ENDPOINT``). The command line, the service and the recorder
all read it here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from preflight.api import DEFAULT_URL
from preflight.api.connection import Connection
from preflight.run.submit import SubmitOptions


@dataclass(frozen=True)
class SubmitSetup:
    connection: Connection  # api_key "" when none is set
    bucket: str
    s3_endpoint: str | None

    @property
    def has_key(self) -> bool:
        return bool(self.connection.api_key)

    @property
    def can_upload(self) -> bool:
        """A local file can be submitted: a key, and a bucket to upload it to."""
        return self.has_key and bool(self.bucket)

    def options(self, **fields: Any) -> SubmitOptions:
        """Submit options with this environment's bucket and endpoint, and ``fields``."""
        return SubmitOptions(**{"bucket": self.bucket, "s3_endpoint": self.s3_endpoint, **fields})


def from_environment(environ: Mapping[str, str] | None = None, *, api_url: str | None = None) -> SubmitSetup:
    env = os.environ if environ is None else environ
    return SubmitSetup(Connection(env.get("TAVUS_API_KEY", ""), api_url or env.get("TAVUS_API_URL") or DEFAULT_URL),
                       env.get("PREFLIGHT_BUCKET", ""), env.get("PREFLIGHT_S3_ENDPOINT") or None)
