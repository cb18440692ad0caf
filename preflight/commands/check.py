"""``preflight check``: pick each file's rule set, take results from the cache or analyse and judge the
file (in parallel when there are several), render the report."""

from __future__ import annotations

import functools
import os
import sqlite3
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from preflight import batch, project
from preflight.cache import ResultCache, result_key
from preflight.discover import MEDIA_EXTENSIONS, discover
from preflight.errors import (
    EXIT_FAIL,
    EXIT_OK,
    EXIT_UNUSABLE,
    NotFetched,
    PreflightError,
    UnusableInput,
    UsageError,
)
from preflight.facts import Kind
from preflight.failures import StageFailed, stage
from preflight.media.sniff import sniff
from preflight.project import LfsPolicy, ProjectConfig
from preflight.render import RENDERERS, RenderOptions
from preflight.remote.source import Remote, expand
from preflight.report import FileResult, FileVerdict, Report
from preflight.ruleset import DEFAULT_RULESETS, RuleSet, load

Input = Path | str  # a local path, or a remote address (https://…, s3://…) as typed
Source = Path | Remote


class ProgressBar(Protocol):
    """Shows one file's decode progress (or, for a batch, files done); ``close`` is called when the
    work is done, however it ended."""

    def __call__(self, now: float, total: float | None) -> None: ...
    def close(self) -> None: ...


ProgressFactory = Callable[[Source], ProgressBar]
BatchProgressFactory = Callable[[int], ProgressBar]


@dataclass(frozen=True)
class CheckOptions:
    rules: str | None = None
    fmt: str = "text"
    output: Path | None = None
    fail_level: str | None = None  # None: the project's (preflight.toml), else "error"
    quick: bool = False
    render: RenderOptions = RenderOptions()
    config: Path | None = None  # --config; None: look for preflight.toml / pyproject.toml upwards
    lfs_pointers: LfsPolicy | None = None  # None: the project's, else "fail"
    cache: bool = True
    jobs: int | None = None  # worker processes; None: one per core
    html: Path | None = None  # --report: also write the visual HTML report here
    tavus: Any = None  # --tavus: an api.Connection; images also get Tavus's own image check
    scheduler: str | None = None  # --scheduler: a Dask scheduler's address; the checks run on its workers


class RuleSets:
    """Which rule set judges a file: ``--rules`` for files of its kind, else the first of the project's
    patterns that matches the file and names a rule set of its kind, else the default for the kind."""

    def __init__(self, rules: str | None, config: ProjectConfig | None) -> None:
        self.config = config
        self._loaded: dict[str, RuleSet] = {}
        self.chosen = self.get(rules) if rules else None

    def get(self, ref: str) -> RuleSet:
        if ref not in self._loaded:
            self._loaded[ref] = load(ref)
        return self._loaded[ref]

    def for_file(self, path: Source, kind: Kind) -> RuleSet:
        if self.chosen is not None and self.chosen.kind == kind:
            return self.chosen
        for ref in self.config.ruleset_refs(path) if self.config is not None and isinstance(path, Path) else []:
            if (ruleset := self.get(ref)).kind == kind:
                return ruleset
        return self.get(DEFAULT_RULESETS[kind])


def check_file(path: Source, ruleset: RuleSet, quick: bool, fail_level: str,
               progress: ProgressBar | None = None) -> FileResult:
    """Analyse one file and judge it. Runs in a worker process in a batch: imports the decoder and the
    face detector here, so a run served from the cache never loads them."""
    try:
        from preflight.analyze import analyze
        from preflight.engine import result, unusable
        from preflight.preview import Thumbnails

        thumbs = Thumbnails()
        try:
            facts = analyze(path, decode=not quick, progress=progress, thumbs=thumbs,
                            settings_for=lambda kind: ruleset.analysis)
        except UnusableInput as err:
            return unusable(str(path), str(err))
        finally:
            if progress is not None:
                progress.close()
        if facts.kind != ruleset.kind:
            return unusable(str(path), "changed while it was being checked; check it again")
        with stage("judge"):
            return replace(result(str(path), facts, ruleset, fail_level), preview=thumbs.thumbs)
    except StageFailed as failure:
        return internal_error(path, ruleset, failure)
    except Exception as err:  # anything outside the tagged stages is still only this file's problem
        return internal_error(path, ruleset, StageFailed("check", err))


def internal_error(path: Source, ruleset: RuleSet | None, failure: StageFailed) -> FileResult:
    return FileResult(str(path), None, ruleset.name if ruleset else None, "error", failure.reason(),
                      internal=True, traceback=f"{path}: {failure}\n{failure.traceback}")


def check_cached(path: Path, ruleset: RuleSet, *, quick: bool = False, fail_level: str = "error",
                 use_cache: bool = True, progress: ProgressBar | None = None) -> FileResult:
    """One file, through the cache: ``submit`` right after ``check`` does not analyse the file again."""
    cache = _open_cache() if use_cache else None
    try:
        key, hit = _lookup(cache, path, ruleset, quick, fail_level)
        if hit is not None:
            return hit
        res = check_file(path, ruleset, quick, fail_level, progress)
        _store(cache, key, res)
        return res
    finally:
        if cache is not None:
            cache.close()


def _lookup(cache: ResultCache | None, path: Path, ruleset: RuleSet, quick: bool,
            fail_level: str) -> tuple[str | None, FileResult | None]:
    """The file's cache key under these options, and the stored result if there is one."""
    if cache is None:
        return None, None
    key = result_key(cache.content_hash(path), ruleset, quick=quick, fail_level=fail_level)
    return key, cache.get(key, str(path))


def _store(cache: ResultCache | None, key: str | None, res: FileResult) -> None:
    """Keep a judged result; one that could not be judged is tried again next time."""
    if cache is not None and key is not None and res.verdict != "error":
        cache.put(key, res)


@dataclass(frozen=True)
class _Job:
    index: int
    path: Source
    ruleset: RuleSet
    key: str | None  # the cache key; None when not caching


def _work(job: _Job, quick: bool, fail_level: str) -> FileResult:
    with batch.time_limit(batch.seconds_for(job.path)):
        return check_file(job.path, job.ruleset, quick, fail_level)


def _crashed(job: _Job) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      f"the analysis process crashed or hung (over {batch.seconds_for(job.path):.0f} s) on this file "
                      "twice, the second time alone (a decoder or detector failure, or out of memory); the "
                      "other files are unaffected. Please report it",
                      internal=True)


def build_report(paths: Sequence[Input], options: CheckOptions, progress: ProgressFactory | None = None,
                 batch_progress: BatchProgressFactory | None = None) -> Report:
    config = project.discover(Path.cwd(), options.config)
    fail_level = options.fail_level or (config.fail_level if config else None) or "error"
    lfs: LfsPolicy = options.lfs_pointers or (config.lfs_pointers if config else None) or "fail"
    chooser = RuleSets(options.rules, config)  # a bad --rules is reported before any file is looked at
    files = _sources(paths, config)
    cache = _open_cache() if options.cache else None
    results: dict[int, FileResult] = {}
    jobs: list[_Job] = []
    try:
        for index, path in enumerate(files):
            if isinstance(path, FileResult):  # a remote address that named nothing to check
                results[index] = path
                continue
            triaged = _triage(index, path, chooser, cache, options.quick, fail_level, lfs)
            if isinstance(triaged, _Job):
                jobs.append(triaged)
            else:
                results[index] = triaged
        for job, res in _run(jobs, options, fail_level, progress, batch_progress):
            results[job.index] = res
            _store(cache, job.key, res)  # as each arrives: an interrupted run keeps what it finished
    finally:
        if cache is not None:
            cache.close()
    return Report([results[i] for i in sorted(results)], fail_level)


def _sources(paths: Sequence[Input], config: ProjectConfig | None) -> list[Source | FileResult]:
    """Local paths (folders walked for media) and remote addresses (an s3:// prefix listed), in order.
    A remote address that names nothing usable (a malformed one, a prefix that cannot be listed or holds
    no media) is that input's error result: the other inputs are still checked."""
    found: list[Source | FileResult] = []
    for item in paths:
        if isinstance(item, str):
            try:
                found += expand(item)
            except UsageError as err:
                found.append(FileResult(item.split("?", 1)[0], None, None, "error", str(err)))
        else:
            found += [p for p in discover([item]) if config is None or not config.excluded(p)]
    seen: set[Source] = set()
    unique: list[Source | FileResult] = []
    for each in found:  # keep order, drop repeats
        if isinstance(each, FileResult) or each not in seen:
            unique.append(each)
            if not isinstance(each, FileResult):
                seen.add(each)
    return unique


def _triage(index: int, path: Source, chooser: RuleSets, cache: ResultCache | None, quick: bool,
            fail_level: str, lfs: LfsPolicy) -> FileResult | _Job:
    """A result without analysing (not fetched, unusable, or cached), or the job of analysing it."""
    if isinstance(path, Remote):
        return _triage_remote(index, path, chooser, cache, quick, fail_level)
    try:
        ruleset = chooser.for_file(path, sniff(path).kind)
        key, hit = _lookup(cache, path, ruleset, quick, fail_level)
    except NotFetched as err:
        return FileResult(str(path), None, None, "skip" if lfs == "skip" else "fail", str(err), not_fetched=True)
    except UnusableInput as err:
        return FileResult(str(path), None, None, "error", str(err))
    except OSError as err:  # vanished or became unreadable between the sniff and the hash
        return FileResult(str(path), None, None, "error", f"cannot be read: {err.strerror or err}")
    except PreflightError:  # a bad rule set or config stops the run: the user must fix it first
        raise
    except Exception as err:  # a bug while choosing or looking up: still only this file's result
        return internal_error(path, None, StageFailed("probe", err))
    return hit if hit is not None else _Job(index, path, ruleset, key)


def _triage_remote(index: int, remote: Remote, chooser: RuleSets, cache: ResultCache | None, quick: bool,
                   fail_level: str) -> FileResult | _Job:
    """Check the link (one ranged GET); a link Tavus could not download is judged on the url.* rules
    alone, without analysing anything. A cached result is reused when the object is unchanged (same
    ETag or Last-Modified, and length), with its url.* findings judged again (expiry moves on)."""
    from preflight.engine import result
    from preflight.facts import LinkOnlyFacts
    from preflight.media.sniff import sniff_head

    try:
        remote = remote.inspected()
        link = remote.link
        assert link is not None
        usable = link.error is None and link.status in (200, 206) and not link.html and remote.head
        if not usable:
            kind: Kind = "image" if remote.guessed_kind() == "image" else "video"
            ruleset = chooser.for_file(remote, kind)
            return result(str(remote), LinkOnlyFacts(kind, link), ruleset, fail_level)
        ruleset = chooser.for_file(remote, sniff_head(remote.head).kind)
        key, hit = _lookup_remote(cache, remote, ruleset, quick, fail_level)
    except UnusableInput as err:
        return FileResult(str(remote), None, None, "error", str(err))
    except PreflightError:
        raise
    except Exception as err:
        return internal_error(remote, None, StageFailed("probe", err))
    if hit is not None:
        return relinked(hit, link, ruleset, fail_level)
    return _Job(index, remote, ruleset, key)


def check_remote(remote: Remote, rules: str | None, fail_level: str = "error") -> FileResult:
    """One remote file, judged as ``check`` would (link first, then the media), uncached: ``submit``
    sends exactly the URL checked here."""
    chooser = RuleSets(rules, None)
    triaged = _triage_remote(0, remote, chooser, None, False, fail_level)
    if isinstance(triaged, FileResult):
        return triaged
    return check_file(triaged.path, triaged.ruleset, False, fail_level)


def _lookup_remote(cache: ResultCache | None, remote: Remote, ruleset: RuleSet, quick: bool,
                   fail_level: str) -> tuple[str | None, FileResult | None]:
    link = remote.link
    if cache is None or link is None or not (link.etag or link.last_modified) or link.length is None:
        return None, None  # nothing says the object is unchanged: analyse it again
    import hashlib

    where = remote.shown.split("?", 1)[0]
    identity = hashlib.sha256(f"remote\n{where}\n{link.etag}\n{link.last_modified}\n{link.length}".encode()).hexdigest()
    key = result_key(identity, ruleset, quick=quick, fail_level=fail_level)
    return key, cache.get(key, str(remote))


def relinked(res: FileResult, link: Any, ruleset: RuleSet, fail_level: str) -> FileResult:
    """A cached remote result with its url.* findings judged again on the link as it is now."""
    from preflight.checks import RULES
    from preflight.engine import judge
    from preflight.facts import LinkOnlyFacts

    if res.kind is None or res.facts is None:
        return res
    kind: Kind = "image" if res.kind == "image" else "video"
    fresh = {f.rule: f for f in judge(LinkOnlyFacts(kind, link), ruleset) if f.rule in RULES}
    findings = [fresh.get(f.rule, f) for f in res.findings]
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return replace(res, findings=findings, verdict=verdict, facts={**res.facts, "link": asdict(link)})


def _open_cache() -> ResultCache | None:
    try:
        return ResultCache.open()
    except (OSError, sqlite3.Error):
        return None  # an optimisation only: run uncached


def _run(jobs: list[_Job], options: CheckOptions, fail_level: str, progress: ProgressFactory | None,
         batch_progress: BatchProgressFactory | None) -> Iterator[tuple[_Job, FileResult]]:
    if not jobs:  # every file came from the cache, or could not be judged
        return
    if options.scheduler is not None:
        yield from _run_on_cluster(jobs, options, fail_level, batch_progress)
        return
    if len(jobs) == 1:  # in this process, with its own progress bar; a crash here ends only this file's run
        (job,) = jobs
        yield job, check_file(job.path, job.ruleset, options.quick, fail_level,
                              progress(job.path) if progress is not None else None)
        return
    # Several files always go to worker processes, even with -j 1: a native crash on one file must not
    # take the others' results down with this process.
    workers = batch.worker_count(options.jobs, len(jobs))
    bar = batch_progress(len(jobs)) if batch_progress is not None else None
    done = 0
    try:
        work = functools.partial(_work, quick=options.quick, fail_level=fail_level)
        for job, res in batch.run_parallel(work, jobs, workers, _crashed):
            done += 1
            if bar is not None:
                bar(done, len(jobs))
            yield job, res
    finally:
        if bar is not None:
            bar.close()


def _cluster_work(job: _Job, quick: bool, fail_level: str) -> FileResult:
    """On a Dask worker: no time limit of our own (the worker process is Dask's, and faulthandler's
    watchdog is one per process)."""
    return check_file(job.path, job.ruleset, quick, fail_level)


def _run_on_cluster(jobs: list[_Job], options: CheckOptions, fail_level: str,
                    batch_progress: BatchProgressFactory | None) -> Iterator[tuple[_Job, FileResult]]:
    """Workers get local paths made absolute; each result comes back under the path as it was given."""
    from preflight import cluster

    assert options.scheduler is not None
    given = {job.index: job for job in jobs}
    bar = batch_progress(len(jobs)) if batch_progress is not None else None
    try:
        work = functools.partial(_cluster_work, quick=options.quick, fail_level=fail_level)
        sent = [replace(job, path=cluster.absolute(job.path)) for job in jobs]
        for done, (job, res) in enumerate(cluster.run_on_cluster(work, sent, options.scheduler,
                                                                 _crashed_on_cluster), start=1):
            if bar is not None:
                bar(done, len(jobs))
            original = given[job.index]
            yield original, replace(res, path=str(original.path))
    finally:
        if bar is not None:
            bar.close()


def _crashed_on_cluster(job: _Job) -> FileResult:
    return FileResult(str(job.path), None, job.ruleset.name, "error",
                      "the check ended every Dask worker it was given to (a decoder or detector crash, or out of "
                      "memory); the other files are unaffected. Please report it", internal=True)


TAVUS_IMAGE_RULE = "tavus.image_validation"


def with_tavus_image_checks(report: Report, conn: Any, model: str = "phoenix-4") -> Report:
    """Each judged image also gets Tavus's own verdict (POST /v2/faces/image-validation), as one more
    finding beside preflight's: remote, so never cached."""
    from preflight.api.client import TavusClient
    from preflight.commands.submit import tavus_image_check
    from preflight.report import Finding

    results = []
    with TavusClient(conn.api_key, conn.base_url) as api:
        for res in report.results:
            if res.kind != "image" or res.verdict not in ("pass", "fail"):
                results.append(res)
                continue
            validation = tavus_image_check(api, Path(res.path), model)
            failing = ", ".join(f"{c.label} ({c.id})" for c in validation.failing)
            finding = Finding(
                rule=TAVUS_IMAGE_RULE, severity="error", outcome="pass" if validation.passed else "fail",
                message=f"Tavus's image check ({model}) " + ("passes" if validation.passed else f"fails: {failing}"),
                fix="Use a photo that meets each failing Tavus check; see `preflight rules image` for the framing.",
                measured=[{"id": c.id, "label": c.label, "passed": c.passed} for c in validation.checks],
                expected="passed", summary="Tavus's own image check passes (needs TAVUS_API_KEY; --tavus).",
                source="reference §2: Tavus's image check, POST /v2/faces/image-validation [D]")
            findings = [*res.findings, finding]
            verdict: FileVerdict = "fail" if any(f.fails_at(report.fail_level) for f in findings) else "pass"
            results.append(replace(res, findings=findings, verdict=verdict))
    return replace(report, results=results)


def _found_in_folders(paths: Sequence[Input]) -> list[Path]:
    """The media files in the named folders; none here when a folder has none (the run says so later,
    after a bad --rules, which is reported first)."""
    try:
        return discover(p for p in paths if isinstance(p, Path) and p.is_dir())
    except UsageError:
        return []


def _log_internal_errors(report: Report) -> None:
    """Internal errors' tracebacks go to one private log file, named once on stderr."""
    internal = [r for r in report.results if r.internal]
    if not internal:
        return
    from preflight import crashlog

    log = crashlog.write(*(r.traceback or f"{r.path}: {r.error}" for r in internal))
    where = f"details in {log}" if log is not None else "the log could not be written"
    print(f"preflight: {len(internal)} file{'s' * (len(internal) != 1)} hit an internal error ({where}; "
          "set PREFLIGHT_DEBUG=1 to see tracebacks)", file=sys.stderr)
    if os.environ.get("PREFLIGHT_DEBUG"):
        for r in internal:
            print(r.traceback or "", file=sys.stderr)


def exit_code(report: Report) -> int:
    s = report.summary
    if s["errors"]:
        return EXIT_UNUSABLE
    return EXIT_FAIL if s["failed"] else EXIT_OK


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename: a reader never sees half a report."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        publish(Path(tmp), path)
    except OSError as err:
        raise UsageError(f"cannot write the report to {path}: {err.strerror or err}") from None


def publish(tmp: Path, path: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it private) and move it
    into place in one step."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    os.replace(tmp, path)


def run(paths: Sequence[Input], options: CheckOptions, echo: Callable[[str], None],
        progress: ProgressFactory | None = None, batch_progress: BatchProgressFactory | None = None) -> int:
    # realpath: a symlink loop is reported, not raised. The files found in a named folder count too.
    inputs = {os.path.realpath(p) for p in [*paths, *_found_in_folders(paths)] if isinstance(p, Path)}
    for out, flag in ((options.output, "--output"), (options.html, "--report")):
        if out is not None and os.path.realpath(out) in inputs:
            raise UsageError(f"{flag} {out} would overwrite an input file")
        if out is not None and out.suffix.lower() in MEDIA_EXTENSIONS and out.exists():
            raise UsageError(f"{flag} {out} would overwrite a media file; write the report to a .json, .xml, "
                             ".sarif or .html file")
    report = build_report(paths, options, progress, batch_progress)
    if options.tavus is not None:
        report = with_tavus_image_checks(report, options.tavus)
    _log_internal_errors(report)
    rendered = RENDERERS[options.fmt](report, options.render)
    if options.html is not None:
        from preflight.render import html

        write_atomically(options.html, html.render(report, options.render))
    if options.output is None:
        echo(rendered)
    else:
        write_atomically(options.output, rendered)
        if options.fmt != "text" and not options.render.quiet:
            echo(RENDERERS["text"](report, options.render))
    return exit_code(report)
