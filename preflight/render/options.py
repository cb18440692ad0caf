"""What every renderer is given besides the report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderOptions:
    color: bool = False
    quiet: bool = False  # only what failed
    verbose: bool = False  # passed rules too
