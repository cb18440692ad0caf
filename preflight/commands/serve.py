"""``preflight serve``: start the HTTP service (serve/app.py) on uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable
from dataclasses import replace

from preflight.errors import UsageError
from preflight.serve.config import ServeConfig

Echo = Callable[[str], None]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def run(config: ServeConfig, echo: Echo) -> int:
    config = replace(config, data=config.data.resolve())  # workers (Dask's too) open spooled files by this path
    token = config.token
    if token is None and not is_loopback(config.host):
        raise UsageError(f"--host {config.host}: without PREFLIGHT_SERVE_TOKEN the service binds only to loopback "
                         "(127.0.0.1); set the token to serve other machines")
    import uvicorn

    from preflight.serve.app import create_app

    app = create_app(config)
    where = f"http://{config.host}:{config.port}"
    echo(f"preflight serve: {where}  data {config.data}  {config.worker_count} worker"
         f"{'s' * (config.worker_count != 1)}{' on ' + config.scheduler if config.scheduler else ''}\n")
    echo("  no PREFLIGHT_SERVE_TOKEN: no authentication, so only this machine (loopback) can connect\n"
         if token is None else "  Bearer token required (PREFLIGHT_SERVE_TOKEN)\n")
    if config.allow_private_urls:
        echo("  --allow-private-urls: links to loopback and private networks are fetched\n")
    sys.stdout.flush()
    uvicorn.run(app, host=config.host, port=config.port, log_level=os.environ.get("PREFLIGHT_SERVE_LOG", "warning"),
                access_log=False, timeout_graceful_shutdown=5)
    return 0
