"""preflight as a library: the checks, fixes and submits the command line runs, as function calls.

Typical use in a backend, on a file a user uploaded::

    import preflight

    report = preflight.check("/uploads/ana.mp4")
    result = report.results[0]
    if result.verdict != "pass":
        problems = [f"{f.rule}: {f.message} (fix: {f.fix})" for f in result.findings if f.fails_at("error")]

Bad input raises nothing: a missing, empty, corrupt or hostile file comes back as a result with the
verdict ``"error"`` and the reason in ``result.error``, exactly as the command line reports it. Only a
mistake in the call itself raises (an unknown rule set, a malformed rule file: a ``PreflightError``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from preflight.errors import PreflightError, UsageError
from preflight.model.report import FileResult, Report
from preflight.judge.ruleset import RuleSet

if TYPE_CHECKING:
    from preflight.run.submit import SubmitOutcome

PathLike = str | os.PathLike[str]


def check(*paths: PathLike, rules: str | None = None, quick: bool = False, fail_level: str = "error",
          cache: bool = True, jobs: int | None = None, config: PathLike | None = None,
          scheduler: str | None = None, public_urls_only: bool = False) -> Report:
    """Check training videos and headshot images; folders are searched for media files, and
    ``https://`` links and ``s3://`` objects or prefixes are checked as Tavus will download them.

    ``rules`` is a built-in rule set (``"phoenix-4"``, ``"phoenix-4.5"``, ``"phoenix-3"``, ``"image"``)
    or a rule file; by default each file gets its kind's default (or its project's ``preflight.toml``).
    ``quick`` reads metadata and a few key frames only. Several files run in worker processes
    (``jobs``, default one per core), or on a Dask cluster's workers with ``scheduler="tcp://HOST:8786"``
    (``pip install 'avatar-preflight[dask]'``). Results are cached by content unless ``cache=False``.
    ``public_urls_only`` refuses links to loopback, private and other non-public addresses (before
    connecting, and at every redirect) and reads links through a local copy: for URLs from strangers.

    >>> report = preflight.check("training.mp4", "headshot.jpg")       # doctest: +SKIP
    >>> [(r.path, r.verdict) for r in report.results]                    # doctest: +SKIP
    [('training.mp4', 'fail'), ('headshot.jpg', 'pass')]
    >>> report.to_json()                                                 # doctest: +SKIP
    '{"schema": "preflight.report/1", ...'
    """
    from preflight.run.check_run import CheckOptions, build_report

    options = CheckOptions(rules=rules, fail_level=fail_level, quick=quick, cache=cache, jobs=jobs,
                           config=Path(config) if config is not None else None, scheduler=scheduler,
                           url_guard=_guard() if public_urls_only else None)
    if rules is not None:
        load_rules(rules)  # a bad rule set is the caller's mistake: raised even when no file needs it
    from preflight.remote.source import is_remote

    remote = [str(p) for p in paths if isinstance(p, str) and is_remote(p)]
    named = [Path(p) for p in paths if not (isinstance(p, str) and is_remote(p))]
    empty = [p for p in named if p.is_dir() and not _has_media(p)]
    inputs: list[Path | str] = [*[p for p in named if p not in empty], *remote]
    report = build_report(inputs, options) if inputs else Report([], fail_level)
    missing = [FileResult(str(p), None, None, "error", "is a folder with no video or image files") for p in empty]
    return Report([*report.results, *missing], report.fail_level)


def _guard() -> Any:
    from preflight.judge.ruleset import max_upload_bytes
    from preflight.remote.guard import UrlGuard

    return UrlGuard(max_bytes=max_upload_bytes())


def _has_media(folder: Path) -> bool:
    from preflight.inputs.discover import discover

    try:
        return bool(discover([folder]))
    except UsageError:
        return False


def load_rules(name_or_file: str) -> RuleSet:
    """A built-in rule set by name, or a rule file (TOML, may ``extends`` another); raises
    ``RuleSetError`` with the path to a bad key.

    >>> [rule.id for rule in preflight.load_rules("phoenix-4").rules][:3]   # doctest: +SKIP
    ['file.size', 'file.decodable', 'file.extension']
    """
    from preflight.judge.ruleset import load

    return load(name_or_file)


@dataclass(frozen=True)
class FixOutcome:
    """What ``fix`` did: ``output`` is the fixed file it wrote (None when nothing could be fixed),
    ``passed`` whether the fixed file (or, with nothing to fix, the input) passes, ``log`` the report
    the command line would print."""

    output: Path | None
    passed: bool
    log: str


def fix(src: PathLike, output: PathLike | None = None, rules: str | None = None) -> FixOutcome:
    """Write a fixed copy of a video or headshot (re-encode, upright, constant frame rate, loudness,
    flatten and reframe images); never touches ``src``. A file that cannot be read comes back as
    ``FixOutcome(None, False, reason)``.

    >>> preflight.fix("phone.mov").output                               # doctest: +SKIP
    PosixPath('phone.fixed.mp4')
    """
    from preflight.render import fixes
    from preflight.run.fix import FixOptions, fix_isolated

    try:
        done = fix_isolated(Path(src), FixOptions(Path(output) if output is not None else None, rules))
    except UsageError:
        raise
    except PreflightError as err:  # the input cannot be read or fixed: its result, not an exception
        return FixOutcome(None, False, str(err))
    return FixOutcome(done.written, done.exit_code == 0, fixes.render(done))


def submit(source: PathLike, *, api_key: str, bucket: str = "", name: str | None = None,
           model: str = "phoenix-4", voice_name: str | None = None, api_url: str | None = None,
           **options: Any) -> SubmitOutcome:
    """Check a training video or headshot and create a Tavus face from it, as ``preflight submit``
    does: a local file is uploaded to ``bucket`` and presigned, an ``s3://BUCKET/KEY`` object is
    presigned where it is, an ``https://`` link is checked and sent as it is. Every check that can run
    before an upload runs before it. AWS credentials come from boto3's usual places.

    Returns a ``SubmitOutcome``: ``face_id`` and ``status`` of the face made (or found: ``existing``),
    or ``stopped`` with the reason no face was made (``"check"``, ``"link"``, ``"tavus_image"``,
    ``"unusable"``), the check's ``FileResult`` and the request as sent (secrets redacted); nothing is
    printed. A mistake in the call (no bucket for a file, a bad option, a wrong key or voice) raises a
    ``PreflightError``. Other keyword arguments are ``SubmitOptions`` fields (``force``, ``resubmit``,
    ``dry_run``, ``expires``, ``prefix``, ``wait``, ...).

    >>> preflight.submit("training.mp4", bucket="media", api_key=key).face_id          # doctest: +SKIP
    'r90bbd427f71'
    >>> preflight.submit("https://cdn.example.com/take3.mp4", api_key=key).stopped   # doctest: +SKIP
    'check'
    """
    from preflight.api import DEFAULT_URL
    from preflight.api.connection import Connection
    from preflight.remote.source import is_remote
    from preflight.run.submit import SubmitOptions, submit as run_submit

    opts = SubmitOptions(bucket=bucket, name=name, model=model, voice_name=voice_name, **options)
    where: str | Path = source if isinstance(source, str) and is_remote(source) else Path(source)
    return run_submit(where, opts, Connection(api_key, api_url or DEFAULT_URL))
