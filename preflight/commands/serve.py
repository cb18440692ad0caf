"""``preflight serve``: start the HTTP service (serve/app.py) on uvicorn."""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import Any

import uvicorn

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
    from preflight.serve.app import create_app

    app = create_app(config)
    where = f"http://{config.host}:{config.port}"
    echo(f"preflight serve: {where}  data {config.data}  {config.worker_count} worker"
         f"{'s' * (config.worker_count != 1)}{' on ' + config.scheduler if config.scheduler else ''}\n")
    echo("  no PREFLIGHT_SERVE_TOKEN: no authentication, so only this machine (loopback) can connect\n"
         if token is None else "  Bearer token required (PREFLIGHT_SERVE_TOKEN)\n")
    if config.allow_private_urls:
        echo("  --allow-private-urls: links to loopback and private networks are fetched\n")
    service = app.app.state.service
    echo(f"  state {service.database.shown}  blobs {service.places.uploads.shown.rsplit('/', 1)[0]}  node {service.node.name}\n")
    if service.database.shared and not service.places.shared:
        echo("  the blobs are this machine's folder: a second node would not see this one's uploads and takes "
             "(--blobs s3://…)\n")
    sys.stdout.flush()
    settings = uvicorn.Config(app, host=config.host, port=config.port, access_log=False, timeout_graceful_shutdown=5,
                              log_level=os.environ.get("PREFLIGHT_SERVE_LOG", "warning"))
    Draining(settings, app.app.state.service, config.drain_s).run()
    return 0


class Draining(uvicorn.Server):
    """uvicorn's server, with a drain before it stops: at SIGTERM (or Ctrl-C) the node is no longer ready
    (``/readyz`` 503) and claims no more jobs, but serves requests for ``drain_s`` more seconds, while a
    load balancer notices; then uvicorn's own graceful stop. A second signal stops at once."""

    def __init__(self, settings: Any, service: Any, drain_s: float) -> None:
        super().__init__(settings)
        self.service, self.drain_s = service, drain_s
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining or self.should_exit:
            super().handle_exit(sig, frame)
            return
        self._draining = True
        self.service.drain()
        if self.drain_s <= 0:
            super().handle_exit(sig, frame)
            return
        timer = threading.Timer(self.drain_s, super().handle_exit, args=(sig, None))
        timer.daemon = True
        timer.start()
