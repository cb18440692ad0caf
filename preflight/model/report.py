"""The report model: findings per file and a summary. Built by the engine, shown by renderers."""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from preflight.version import __version__

Outcome = Literal["pass", "fail", "skip"]  # one rule on one file
Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "error")  # least to most severe


@dataclass(frozen=True)
class Thumb:
    """A small JPEG of the file (a sampled frame of a video), for the HTML report's contact sheet."""

    t: float | None  # seconds into the video; None for an image
    width: int
    height: int
    jpeg: bytes

    def to_dict(self) -> dict[str, Any]:
        return {"t": self.t, "width": self.width, "height": self.height,
                "jpeg": base64.b64encode(self.jpeg).decode("ascii")}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Thumb:
        return cls(d["t"], d["width"], d["height"], base64.b64decode(d["jpeg"]))


SCHEMA = "preflight.report/1"
# error: the file cannot be judged at all (exit code 2); skip: not judged by choice (an LFS pointer
# file with ``lfs-pointers = "skip"``)
FileVerdict = Literal["pass", "fail", "error", "skip"]


def at_least(severity: str, level: str) -> bool:
    return SEVERITIES.index(severity) >= SEVERITIES.index(level)


def printable_path(path: str) -> str:
    """``path`` with bytes that are not UTF-8 shown as ``\\xNN`` (any other text is unchanged)."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    outcome: Outcome
    message: str
    fix: str
    measured: Any
    expected: Any
    summary: str = ""  # the rule's one-line description (its docstring's first line)
    source: str = ""  # the documented requirement behind the rule
    spans: tuple[tuple[float, float], ...] = ()  # where in the video the rule failed (seconds)

    def fails_at(self, level: str) -> bool:
        return self.outcome == "fail" and at_least(self.severity, level)


@dataclass(frozen=True)
class FileResult:
    path: str
    kind: str | None
    ruleset: str | None
    verdict: FileVerdict
    error: str | None = None  # why the file was not judged (unusable, or not fetched)
    facts: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    not_fetched: bool = False  # a Git LFS pointer file: the media itself is not in the working tree
    preview: list[Thumb] = field(default_factory=list)  # thumbnails for the HTML report (not in JSON)
    cached: bool = False  # this result came from the cache (see cache.py)
    internal: bool = False  # verdict "error" from a bug in preflight or a library, not from the input
    traceback: str | None = None  # for the private log (crashlog.py) only: never in a report

    def __post_init__(self) -> None:
        # A file name need not be UTF-8 (Python carries such bytes as surrogates, which no report can
        # print): every format shows them escaped, as caf\xe9.mp4.
        object.__setattr__(self, "path", printable_path(self.path))

    def to_dict(self) -> dict[str, Any]:
        """Everything, for the cache: ``from_dict`` gives the same result back."""
        d = asdict(self)
        d["preview"] = [t.to_dict() for t in self.preview]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileResult:
        findings = [Finding(**{**f, "spans": tuple(tuple(s) for s in f["spans"])}) for f in d["findings"]]
        preview = [Thumb.from_dict(t) for t in d["preview"]]
        return cls(**{**d, "findings": findings, "preview": preview})


@dataclass(frozen=True)
class Report:
    results: list[FileResult]
    fail_level: str = "error"
    tool_version: str = __version__

    @property
    def summary(self) -> dict[str, int]:
        verdicts = [r.verdict for r in self.results]
        return {"files": len(verdicts), "passed": verdicts.count("pass"), "failed": verdicts.count("fail"),
                "errors": verdicts.count("error"), "skipped": verdicts.count("skip")}

    @property
    def files_text(self) -> str:
        """"3 files", "1 file": the count the summary lines start with."""
        n = self.summary["files"]
        return f"{n} file{'s' * (n != 1)}"

    @property
    def tally_text(self) -> str:
        """"1 passed, 2 failed, 0 unusable" (", 1 skipped" when any were): every format's summary line."""
        s = self.summary
        return (f"{s['passed']} passed, {s['failed']} failed, {s['errors']} unusable"
                + (f", {s['skipped']} skipped" if s["skipped"] else ""))

    def to_json(self) -> str:
        """The ``preflight.report/1`` document (``preflight/schemas/report-1.schema.json``)."""
        import json

        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "tool": {"name": "preflight", "version": self.tool_version},
            "fail_level": self.fail_level,
            "results": [_result_dict(r) for r in self.results],
            "summary": self.summary,
        }


def _result_dict(result: FileResult) -> dict[str, Any]:
    d = asdict(result)
    del d["preview"], d["traceback"]
    d["findings"] = [
        {**{k: f[k] for k in ("rule", "severity", "outcome", "message", "fix", "measured", "expected")},
         "spans": [{"start_s": a, "end_s": b} for a, b in f["spans"]]}
        for f in d["findings"]
    ]
    return d
