"""Schemathesis hooks for the contract tests (``SCHEMATHESIS_HOOKS=tests.support.contract_hooks``): every
URL a generated request names is pointed at 127.0.0.1 just before it is sent, in every phase, so a
fuzzed link, callback or Tavus callback never sends a packet anywhere else. A link becomes a file
served by the test's HTTP server, a callback the test's webhook receiver; an ``s3://`` link stays (no
bucket is allowed: refused before any request). Only strings the schema takes are swapped (an
``http(s)://`` string for another), so a request generated to break the schema still breaks it, and
one that keeps it still keeps it. A query parameter generated with no value (None, or an empty list)
is sent empty (``name=``): the HTTP client would leave it out, and a request generated with a parameter
the route does not take would reach the server without it."""

from __future__ import annotations

import os
import re
from typing import Any

import schemathesis

WEB = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://")
LINKS = ("url",)
CALLBACKS = ("callback_url", "tavus_callback_url")


def _point(values: Any) -> None:
    if not isinstance(values, dict):
        return
    for name in (*LINKS, *CALLBACKS):
        value = values.get(name)
        if isinstance(value, str) and WEB.match(value):
            values[name] = os.environ["CONTRACT_LINK_URL" if name in LINKS else "CONTRACT_HOOK_URL"]
    _point(values.get("submit"))  # a capture session's submit names Tavus's callback


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    if isinstance(case.query, dict):
        for name, value in case.query.items():
            if value is None or value == []:
                case.query[name] = ""
    _point(case.query)
    _point(case.body)
