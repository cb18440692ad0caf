"""A product backend's webhook receiver on 127.0.0.1, for the callback tests: it keeps every POST."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Hooks:
    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        got = self.got

        class Receiver(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                got.append((dict(self.headers), self.rfile.read(int(self.headers["content-length"]))))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def drop_once(aborted: list[str], seqs: tuple[str, ...] = ("1", "3")):  # type: ignore[no-untyped-def]
    """A Playwright route handler: the network drops each chunk in ``seqs`` once, in flight (its URL is
    added to ``aborted``); the page must send it again."""
    def handle(route) -> None:  # type: ignore[no-untyped-def]
        seq = route.request.url.rsplit("seq=", 1)[1]
        if seq in seqs and seq not in {u.rsplit("seq=", 1)[1] for u in aborted}:
            aborted.append(route.request.url)
            route.abort()
        else:
            route.continue_()
    return handle
