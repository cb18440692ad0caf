"""A small web server on 127.0.0.1 for remote-input tests: serves a folder with byte ranges, and the
ways links go wrong (redirects, 403, 404, a share page, a stalled answer, no ranges, a wrong type).

    /f/NAME            the file, with Range support and its media Content-Type, ETag, Last-Modified
    /norange/NAME      the file, ignoring Range (200 and the whole file)
    /type/TYPE/NAME    the file served as Content-Type TYPE (slashes as "_": text_plain)
    /hop/N/NAME        N redirects (302), then /f/NAME
    /loop              redirects to itself, forever
    /private/NAME      403
    /gone              404
    /share/NAME        a Google Drive-style share page (HTML) for NAME
    /stall/NAME        headers, then nothing for a minute
    /away/NAME         302 to another server's /f/NAME (``redirect_to``)
Query strings are ignored: signed-URL tests only change what the URL says about itself.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".jpg": "image/jpeg", ".png": "image/png"}


class Log(list[tuple[str, str | None]]):
    """The (path, Range header) of every request, and the file bytes sent in answer."""

    bytes_sent = 0

    def clear(self) -> None:
        super().clear()
        self.bytes_sent = 0


class _Handler(BaseHTTPRequestHandler):
    root: Path
    requests: Log
    redirect_to: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        path = urlparse(self.path).path
        self.requests.append((path, self.headers.get("Range")))
        parts = path.strip("/").split("/")
        kind = parts[0]
        if kind == "f":
            return self._file(parts[1])
        if kind == "away" and self.redirect_to:
            self.send_response(302)
            self.send_header("Location", f"{self.redirect_to}/f/{parts[1]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if kind == "norange":
            return self._file(parts[1], ranges=False)
        if kind == "type":
            return self._file(parts[2], ctype=parts[1].replace("_", "/"))
        if kind == "hop":
            left = int(parts[1])
            return self._redirect(f"/hop/{left - 1}/{parts[2]}" if left > 1 else f"/f/{parts[2]}")
        if kind == "loop":
            return self._redirect("/loop")
        if kind == "private":
            return self._status(403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml")
        if kind == "share":
            page = (b"<!DOCTYPE html><html><head><title>" + parts[1].encode() + b" - Google Drive</title></head>"
                    b"<body><a href=\"https://drive.google.com/uc?export=download\">Download</a></body></html>")
            return self._status(200, page, "text/html; charset=utf-8")
        if kind == "stall":
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
            return None
        return self._status(404, b"not found", "text/plain")

    def _status(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _file(self, name: str, *, ranges: bool = True, ctype: str | None = None) -> None:
        file = self.root / name
        if not file.is_file():
            return self._status(404, b"not found", "text/plain")
        size = file.stat().st_size
        start, end = 0, size - 1
        wanted = self.headers.get("Range")
        partial = bool(ranges and wanted and wanted.startswith("bytes="))
        if partial:
            first, _, last = wanted[6:].partition("-")  # type: ignore[index]
            start = int(first) if first else max(0, size - int(last))
            end = min(int(last), size - 1) if first and last else size - 1
        self.send_response(206 if partial else 200)
        self.send_header("Content-Type", ctype or TYPES.get(file.suffix.lower(), "application/octet-stream"))
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", f"\"{int(file.stat().st_mtime_ns)}-{size}\"")
        self.send_header("Last-Modified", email.utils.formatdate(file.stat().st_mtime, usegmt=True))
        if ranges:
            self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        with open(file, "rb") as fh:
            fh.seek(start)
            left = end - start + 1
            try:
                while left > 0:
                    chunk = fh.read(min(left, 256 * 1024))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    self.requests.bytes_sent += len(chunk)
                    left -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the reader had what it wanted (a range reader closes early)


@contextmanager
def serving(root: Path, host: str = "127.0.0.1", redirect_to: str | None = None) -> Iterator[tuple[str, Log]]:
    """Serve ``root`` on ``host`` (a loopback address; a free port); yields the base URL and the log of
    (path, Range) requests. With ``redirect_to``, ``/away/NAME`` redirects to ``redirect_to``/f/NAME."""
    requests = Log()
    handler = type("Handler", (_Handler,), {"root": root, "requests": requests, "redirect_to": redirect_to})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":  # serve a folder by hand: python -m tests.support.http_media FOLDER
    import sys

    with serving(Path(sys.argv[1])) as (base, _):
        print(base, flush=True)
        while True:
            time.sleep(3600)
