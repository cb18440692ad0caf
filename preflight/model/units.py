"""Human-readable numbers for messages."""

from __future__ import annotations


def mb(n: int) -> str:
    """Bytes as decimal megabytes, the unit Tavus's limits are written in."""
    return f"{n / 1_000_000:,.1f} MB"


def clock(seconds: float) -> str:
    """0:41.2 / 1:02:03 — a media timestamp."""
    minutes, sec = divmod(max(seconds, 0.0), 60)
    hours, minutes = divmod(int(minutes), 60)
    if hours:
        return f"{hours}:{minutes:02d}:{sec:04.1f}"
    return f"{minutes}:{sec:04.1f}"


def num(x: float) -> str:
    """A measurement without noise: 25, 29.97, 1080."""
    return f"{x:.3f}".rstrip("0").rstrip(".")
