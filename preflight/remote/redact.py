"""Secrets never leave preflight: this is the one place that hides them.

A signed URL (AWS SigV4 and SigV2, Google Cloud Storage, Azure SAS) carries its signature and
credential in the query; a callback URL may carry a token; an API key travels in a header. Whatever
is printed, logged, journaled or put in a report goes through one of these functions first.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

# Query parameters that carry signatures, credentials or tokens (AWS, GCS, Azure SAS, generic).
SECRET_PARAMS = frozenset({
    "x-amz-signature", "x-amz-credential", "x-amz-security-token", "signature", "awsaccesskeyid",
    "x-goog-signature", "x-goog-credential", "sig", "token", "access_token", "key", "api_key"})
MARK = "REDACTED"

_SECRET_QUERY = re.compile(r"(?i)([?&](?:" + "|".join(sorted(SECRET_PARAMS, key=len, reverse=True)) + r")=)[^&\s'\"]+")
_API_KEY_HEADER = re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[^'\"\s,}]+")


def url(address: str) -> str:
    """``address`` with every signature, credential and token value replaced by REDACTED (and any
    user:password@ dropped); the rest of the query stays readable."""
    parts = urlparse(address)
    if not parts.query and "@" not in parts.netloc:
        return address
    query = [(k, MARK if k.lower() in SECRET_PARAMS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    netloc = parts.hostname or ""
    netloc += f":{parts.port}" if parts.port else ""
    return urlunparse(parts._replace(netloc=netloc, query=urlencode(query, safe=":/")))


def without_query(address: str) -> str:
    """``address`` with its whole query replaced: for URLs whose parameters are someone else's (a
    callback's tokens may have any name)."""
    parts = urlparse(address)
    return urlunparse(parts._replace(query=MARK if parts.query else "", fragment=""))


def text(message: str) -> str:
    """``message`` (a traceback, an error line) with signatures, credentials, tokens and API keys
    replaced by REDACTED."""
    return _API_KEY_HEADER.sub(rf"\1{MARK}", _SECRET_QUERY.sub(rf"\1{MARK}", message))


def request(body: dict[str, Any]) -> dict[str, Any]:
    """A ``POST /v2/faces`` body as it may be printed or journaled: the training URL without its
    signature, the callback URL without its query."""
    shown = {**body, **{k: url(str(v)) for k, v in body.items() if k.startswith("train_")}}
    if body.get("callback_url"):
        shown["callback_url"] = without_query(str(body["callback_url"]))
    return shown
