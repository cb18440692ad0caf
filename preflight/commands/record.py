"""``preflight record``: the recorder page on 127.0.0.1 (serve/routes/page.py, on the service's application).

``record`` is ``serve`` with a token it makes itself at each launch: the page's address carries it
(``?key=``, on the first line of output), the page sends it as ``Authorization: Bearer``, and the
service's gate refuses every API call without it, every foreign Host and every other site's Origin."""

from __future__ import annotations

import secrets
import socket
import sys
import tempfile
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

from preflight.serve.config import ServeConfig
from preflight.serve.config import RecorderConfig

Echo = Callable[[str], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(rules: str, port: int, out: Path, open_browser: bool, echo: Echo, allow_private_urls: bool = False) -> int:
    import uvicorn

    from preflight.serve.app import create_app

    port = port or free_port()
    key = secrets.token_urlsafe(24)  # this launch's secret: the page gets it in its URL, every API call needs it
    with tempfile.TemporaryDirectory(prefix="preflight-record-") as data:  # the service's own jobs: none kept
        config = ServeConfig(data=Path(data), host="127.0.0.1", port=port, workers=1, token=key, stop_grace_s=3.0,
                             allow_private_urls=allow_private_urls)
        app = create_app(config, RecorderConfig(out=out.resolve(), rules=rules))
        url = f"http://127.0.0.1:{port}/?key={key}"
        echo(f"{url}\n"
             f"preflight record: open the address above (rule set {rules}; takes land in {out.resolve()})\n"
             "  the page and everything it records stay on this machine until you press Submit; the key in the\n"
             "  address is this launch's own: other pages and sites cannot use the recorder\n")
        sys.stdout.flush()
        if open_browser:
            threading.Timer(1.0, webbrowser.open, args=(url,)).start()
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=3)
    return 0
