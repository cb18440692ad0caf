"""What the capture page needs, for ``preflight record`` and capture sessions alike: the rule sets a take
can be judged by, and ``page_config``: the camera's minimum short side and frame rate, the room's
noise limit, the take's durations, the face size window, a script, every number from the rule file.
The page is the ``<preflight-capture>`` element (``static/capture.js``); a take's fix, check and submit
are the work's (``work/take.py``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

STATIC = Path(__file__).resolve().parents[1] / "static"
SCRIPT = ("Hi, I'm recording my training video. I'm speaking naturally, at my normal pace, looking into the "
          "camera. I talk about my day: what I worked on this morning, what I had for lunch, and what I plan "
          "to do this evening. I keep my head steady and my face in the frame. When the speaking part ends, "
          "I stay silent and still, lips gently closed, and look at the camera until the countdown ends.")
EXTENSIONS = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}


def video_rulesets() -> list[str]:
    """The rule sets a take can be guided and judged by: the built-in ones for a model's videos."""
    from preflight.judge.ruleset import models

    return list(models().values())


def not_video_rules(name: str) -> str | None:
    """Why ``name`` cannot judge a take (it is not a built-in rule set for a model's videos), or None."""
    if name in video_rulesets():
        return None
    return f"a take is judged by a video rule set: {', '.join(video_rulesets())} (not {name!r})"


def take_seconds(min_s: float) -> int:
    """A part of the take: the rule set's minimum plus a fifth, so a normal take passes with room to
    spare (phoenix-4: 25 s -> 30 s; phoenix-3: 50 s -> 60 s)."""
    return int(math.ceil(min_s * 1.2 / 5) * 5)


def page_config(rules: str) -> dict[str, Any]:
    """What the page needs, every number from the rule file (None where the rule set switched that
    rule off: the page then leaves that check out)."""
    from preflight.errors import UsageError
    from preflight.judge.ruleset import load
    from preflight.run.environment import from_environment

    problem = not_video_rules(rules)
    if problem:
        raise UsageError(problem)
    ruleset = load(rules)
    params: dict[str, dict[str, Any]] = {c.id: c.params for c in ruleset.rules}

    def param(rule: str, name: str) -> Any:
        return params.get(rule, {}).get(name)

    structure = params["segments.structure"]  # every video rule set has it: the take's two parts
    return {
        "rules": ruleset.name,
        "min_short_side": param("video.resolution", "min_short_side"),
        "min_fps": param("video.fps", "min_fps"),
        "max_noise_dbfs": param("audio.noise", "max_noise_dbfs"),
        "speak_s": take_seconds(float(structure["min_speaking_s"])),
        "listen_s": take_seconds(float(structure["min_listening_s"])),
        "face_min_height": param("face.size", "min_height_share"),
        "face_max_height": param("face.size", "max_height_share"),
        "script": SCRIPT,
        "submit": from_environment().can_upload,
    }
