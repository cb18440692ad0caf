"""What a signed URL says of itself: which scheme signed it and when it stops working.

Read from the query alone, without a request: the link check (``url.expiry``) and the presigning
code both use it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlparse


@dataclass(frozen=True)
class Expiry:
    scheme: str
    at: dt.datetime


def expiry(url: str) -> Expiry | None:
    """When a signed URL stops working, from its query: AWS SigV4 (X-Amz-Date + X-Amz-Expires), AWS
    SigV2 (Expires, a Unix time), Google Cloud Storage (X-Goog-Date + X-Goog-Expires), Azure SAS (se)."""
    q = {k.lower(): v for k, v in parse_qsl(urlparse(url).query, keep_blank_values=True)}
    try:
        if "x-amz-date" in q and "x-amz-expires" in q:
            return Expiry("aws-sigv4", _compact(q["x-amz-date"]) + dt.timedelta(seconds=int(q["x-amz-expires"])))
        if "x-goog-date" in q and "x-goog-expires" in q:
            return Expiry("gcs", _compact(q["x-goog-date"]) + dt.timedelta(seconds=int(q["x-goog-expires"])))
        if "expires" in q and ("signature" in q or "awsaccesskeyid" in q):
            return Expiry("aws-sigv2", dt.datetime.fromtimestamp(int(q["expires"]), dt.timezone.utc))
        if "se" in q and "sig" in q:
            return Expiry("azure-sas", _iso(q["se"]))
    except (ValueError, OverflowError):
        return None
    return None


def _compact(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.timezone.utc)


def _iso(text: str) -> dt.datetime:
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)
