"""What each input needs before any analysis: a result already (not fetched, unusable, cached, a link
Tavus could not download) or the job of analysing it, with its rule set and cache key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from preflight.state.cache import ResultCache
from preflight.inputs.discover import discover
from preflight.errors import NotFetched, PreflightError, StageFailed, UnusableInput, UsageError
from preflight.model.facts import Kind
from preflight.media.sniff import sniff
from preflight.inputs.project import LfsPolicy, ProjectConfig
from preflight.remote.source import Remote, expand
from preflight.model.report import FileResult
from preflight.judge.ruleset import RuleSet
from preflight.run.cached import lookup, lookup_remote, relinked
from preflight.run.isolated import Source, check_in_worker, internal_error
from preflight.run.rulesets import Chooser

if TYPE_CHECKING:
    from preflight.remote.guard import UrlGuard  # made where it is used: it loads httpx

Input = Path | str  # a local path, or a remote address (https://…, s3://…) as typed


@dataclass(frozen=True)
class FileJob:
    index: int
    path: Source
    ruleset: RuleSet
    key: str | None  # the cache key; None when not caching


def sources(paths: Sequence[Input | FileResult], config: ProjectConfig | None) -> list[Source | FileResult]:
    """Local paths (folders walked for media) and remote addresses (an s3:// prefix listed), in order.
    A remote address that names nothing usable (a malformed one, a prefix that cannot be listed or holds
    no media) is that input's error result: the other inputs are still checked."""
    found: list[Source | FileResult] = []
    for item in paths:
        if isinstance(item, FileResult):  # refused before it was looked up
            found.append(item)
        elif isinstance(item, str):
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


def triage(index: int, path: Source, choose: Chooser, cache: ResultCache | None, quick: bool,
           fail_level: str, lfs: LfsPolicy, guard: UrlGuard | None = None, copies: Path | None = None) -> FileResult | FileJob:
    """A result without analysing (not fetched, unusable, or cached), or the job of analysing it."""
    if isinstance(path, Remote):
        return triage_remote(index, path, choose, cache, quick, fail_level, guard, copies)
    try:
        ruleset = choose(path, sniff(path).kind)
        key, hit = lookup(cache, path, ruleset, quick, fail_level)
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
    return hit if hit is not None else FileJob(index, path, ruleset, key)


def triage_remote(index: int, remote: Remote, choose: Chooser, cache: ResultCache | None, quick: bool,
                  fail_level: str, guard: UrlGuard | None = None, copies: Path | None = None) -> FileResult | FileJob:
    """Check the link (one ranged GET); a link Tavus could not download is judged on the url.* rules
    alone, without analysing anything. A cached result is reused when the object is unchanged (same
    ETag or Last-Modified, and length), with its url.* findings judged again (expiry moves on).

    With ``guard``, an https:// link (not an s3:// object: its endpoint is the caller's own) is only
    fetched from a public host, every redirect checked, and the analysis reads a copy downloaded
    through the guard into ``copies``."""
    guarded = guard is not None and remote.s3 is None
    from preflight.judge.engine import result
    from preflight.model.facts import LinkOnlyFacts
    from preflight.media.sniff import sniff_head

    try:
        if remote.link is None:
            remote = remote.inspected(transport=guard.transport() if guarded and guard is not None else None)
        link = remote.link
        assert link is not None
        usable = link.error is None and link.status in (200, 206) and not link.html and remote.head
        if not usable:
            kind: Kind = "image" if remote.guessed_kind() == "image" else "video"
            return result(str(remote), LinkOnlyFacts(kind, link), choose(remote, kind), fail_level)
        ruleset = choose(remote, sniff_head(remote.head).kind)
        key, hit = lookup_remote(cache, remote, ruleset, quick, fail_level)
    except UnusableInput as err:
        return FileResult(str(remote), None, None, "error", str(err))
    except PreflightError:
        raise
    except Exception as err:
        return internal_error(remote, None, StageFailed("probe", err))
    if hit is not None:
        return relinked(hit, link, ruleset, fail_level)
    if guarded and guard is not None:
        assert copies is not None, "a guarded check copies links into a folder of its run (checks.build_report)"
        try:
            remote = replace(remote, copy=guard.copy(remote.url, copies / f"{index}{remote.suffix or '.bin'}"))
        except UnusableInput as err:
            return FileResult(str(remote), None, None, "error", str(err))
    return FileJob(index, remote, ruleset, key)


def check_remote(remote: Remote, choose: Chooser, fail_level: str = "error", guard: UrlGuard | None = None,
                 copies: Path | None = None) -> tuple[FileResult, Remote]:
    """One remote file, judged as ``check`` would (link first, then the media), uncached; with the
    remote as inspected (its link facts and first bytes; with ``guard``, its guarded local copy).
    ``submit`` sends exactly the URL checked."""
    guarded = guard is not None and remote.s3 is None
    try:
        remote = remote.inspected(transport=guard.transport() if guarded and guard is not None else None)
    except Exception:  # noqa: BLE001 - triage_remote inspects again and makes the failure this file's result
        pass
    triaged = triage_remote(0, remote, choose, None, False, fail_level, guard, copies)
    if isinstance(triaged, FileResult):
        return triaged, remote
    assert isinstance(triaged.path, Remote)
    return check_in_worker(triaged.path, triaged.ruleset, False, fail_level), triaged.path
