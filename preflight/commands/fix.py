"""``preflight fix``: write a fixed copy of a video or headshot (run/fix.py) and say what was done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from preflight.render import fixes
from preflight.run.fix import FixOptions, fix_isolated

Echo = Callable[[str], None]

__all__ = ["FixOptions", "run"]


def run(src: Path, options: FixOptions, echo: Echo) -> int:
    done = fix_isolated(src, options)
    echo(fixes.render(done))
    return done.exit_code
