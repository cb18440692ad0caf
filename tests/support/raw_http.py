"""A raw HTTP/1.1 client for the limits tests: it sends a request's head, then body chunks for as long
as the server keeps reading, and returns the status the server answered with (it stops sending as
soon as an answer arrives, as a browser or curl does when a server refuses mid-body)."""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Iterable


def send_until_answered(port: int, head: str, chunks: Iterable[bytes], *, chunked: bool = True,
                        timeout: float = 60.0) -> tuple[int | None, int]:
    """(the answer's status code, or None when the server closed without one; body bytes sent)."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode("latin-1"))
        try:
            for chunk in chunks:
                if _readable(sock):
                    break
                data = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk
                sock.sendall(data)
                sent += len(chunk)
            else:
                if chunked:
                    sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        return _status(sock), sent


def _readable(sock: socket.socket) -> bool:
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


def _status(sock: socket.socket) -> int | None:
    try:
        line = sock.recv(4096).split(b"\r\n", 1)[0]
    except (ConnectionResetError, socket.timeout):
        return None
    parts = line.split()
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def megabytes(total_mb: int, piece: int = 1 << 20) -> Iterable[bytes]:
    block = os.urandom(piece)
    for _ in range(total_mb * (1 << 20) // piece):
        yield block
