"""What a recorded take needs, for ``preflight record`` and capture sessions alike: the page's settings
from the rule set, the take's fix and check, its submit. The routes are ``takes.py``'s and
``capture.py``'s; the page is the ``<preflight-capture>`` element (``static/capture.js``).

- ``page_config``: the camera's minimum short side and frame rate, the room's noise limit, the take's
  durations, the face size window, a script: every number from the rule file.
- ``finish_take``: the fixer (H.264/AAC MP4, constant frame rate, loudness) and the full check on the
  fixed file, the report JSON and HTML beside the recording. It runs as a job of kind ``take`` in the
  service's crash-isolation pool under a time limit: a crash there is the take's error, never the
  server's end.
- ``submit_fixed``: the fixed take through the submit pipeline (needs TAVUS_API_KEY and PREFLIGHT_BUCKET).

``preflight record``'s takes land in ``--out``; a service's in its data folder's ``takes``.
"""

from __future__ import annotations

import json
import math
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any


STATIC = Path(__file__).resolve().parent / "static"
SCRIPT = ("Hi, I'm recording my training video. I'm speaking naturally, at my normal pace, looking into the "
          "camera. I talk about my day: what I worked on this morning, what I had for lunch, and what I plan "
          "to do this evening. I keep my head steady and my face in the frame. When the speaking part ends, "
          "I stay silent and still, lips gently closed, and look at the camera until the countdown ends.")
EXTENSIONS = {"video/webm": ".webm", "video/mp4": ".mp4", "video/x-matroska": ".mkv"}


@dataclass(frozen=True)
class RecorderConfig:
    out: Path
    rules: str = "phoenix-4"


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


def finish_take(recording: Path, rules: str) -> dict[str, Any]:
    """Fix the recording (kept as received) into an H.264/AAC MP4 beside it, check that, and keep the
    report JSON and HTML beside them."""
    from preflight.errors import PreflightError
    from preflight.render import html
    from preflight.render.options import RenderOptions
    from preflight.model.report import Report
    from preflight.run.check_run import CheckOptions, build_report
    from preflight.run.fix import FixOptions, fix_file

    fixed_path = recording.with_name(f"{recording.stem}.fixed.mp4")
    note = None
    try:
        # not checked again by the fixer: the full check below does that once, with the report's pictures
        done = fix_file(recording, FixOptions(output=fixed_path, rules=rules, recheck=False))
        fixed = done.written or recording  # nothing to fix (an H.264/AAC MP4 already): the take as recorded
    except PreflightError as err:
        fixed, note = None, str(err)
    except Exception as err:  # noqa: BLE001 - a bug in the fixer: the take is still checked as recorded
        from preflight.state import crashlog

        crashlog.write(traceback.format_exc())
        fixed, note = None, f"the fixer failed ({type(err).__name__}); the recording was checked as it is"
    checked = fixed or recording
    # through the result cache: a session's submit right after checks the same file without analysing it again
    report = build_report([checked], CheckOptions(rules=rules))
    report_json = recording.with_name(f"{recording.stem}.report.json")
    report_json.write_text(report.to_json(), encoding="utf-8")
    report_html = recording.with_name(f"{recording.stem}.report.html")
    named = Report([replace(r, path=Path(r.path).name) for r in report.results], report.fail_level)
    report_html.write_text(html.render(named, RenderOptions()), encoding="utf-8")  # served: no server paths
    return {"recording": str(recording), "fixed": str(fixed) if fixed else None, "note": note,
            "report_json": str(report_json), "report_html": str(report_html),
            "report": json.loads(report.to_json())}


def submit_fixed(path: Path, rules: str, allowed: dict[str, Any], connection: Any = None) -> dict[str, Any]:
    """The fixed take through the submit pipeline, to the model the take's rule set is for, with the
    options ``allowed`` (a capture session's, set by its backend: name, voice_name, dry_run, prefix,
    expires, tavus_callback_url)."""
    from preflight.judge.ruleset import model_of
    from preflight.run.environment import from_environment
    from preflight.run.submit import submit

    setup = from_environment()
    fields = {k: v for k, v in allowed.items() if v is not None}
    if "tavus_callback_url" in fields:
        fields["callback_url"] = fields.pop("tavus_callback_url")
    outcome = submit(path, setup.options(model=model_of(rules), **fields), connection or setup.connection)
    return {**outcome.to_dict(), "message": outcome.message}
