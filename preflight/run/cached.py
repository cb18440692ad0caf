"""The result cache around a check: a file (by content) or a link (by its ETag or Last-Modified and
length) judged under the same rule set and options is not analysed again."""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import asdict, replace
from pathlib import Path

from preflight.state.cache import ResultCache, result_key
from preflight.state.digest import sha256_of
from preflight.model.facts import Kind, LinkFacts
from preflight.remote.source import Remote
from preflight.model.report import FileResult, FileVerdict
from preflight.judge.ruleset import RuleSet
from preflight.run.isolated import check_in_worker
from preflight.run.pool import ProgressBar


def open_cache() -> ResultCache | None:
    try:
        return ResultCache.open()
    except (OSError, sqlite3.Error):
        return None  # an optimisation only: run uncached


def lookup(cache: ResultCache | None, path: Path, ruleset: RuleSet, quick: bool,
           fail_level: str) -> tuple[str | None, FileResult | None]:
    """The file's cache key under these options, and the stored result if there is one."""
    if cache is None:
        return None, None
    key = result_key(cache.content_hash(path), ruleset, quick=quick, fail_level=fail_level)
    return key, cache.get(key, str(path))


def lookup_remote(cache: ResultCache | None, remote: Remote, ruleset: RuleSet, quick: bool,
                  fail_level: str) -> tuple[str | None, FileResult | None]:
    link = remote.link
    if cache is None or link is None or not (link.etag or link.last_modified) or link.length is None:
        return None, None  # nothing says the object is unchanged: analyse it again
    key = result_key(remote_identity(remote), ruleset, quick=quick, fail_level=fail_level)
    return key, cache.get(key, str(remote))


def remote_identity(remote: Remote) -> str:
    """A remote object's identity: where it is (without its signature) and what its server says of its
    version (ETag, Last-Modified) and length. The cache and the submit journal both key on it."""
    link = remote.link
    where = remote.shown.split("?", 1)[0]
    etag, modified, length = (link.etag, link.last_modified, link.length) if link is not None else (None, None, None)
    return hashlib.sha256(f"remote\n{where}\n{etag}\n{modified}\n{length}".encode()).hexdigest()


def file_hash(path: Path) -> str:
    """The file's SHA-256: the cache's record when the file is unchanged since it was hashed (a submit
    right after its check reads no byte again), else read now."""
    cache = open_cache()
    if cache is None:
        return sha256_of(path)
    try:
        return cache.content_hash(path)
    finally:
        cache.close()


def store(cache: ResultCache | None, key: str | None, res: FileResult) -> None:
    """Keep a judged result; one that could not be judged is tried again next time."""
    if cache is not None and key is not None and res.verdict != "error":
        cache.put(key, res)


def check_cached(path: Path, ruleset: RuleSet, *, quick: bool = False, fail_level: str = "error",
                 use_cache: bool = True, progress: ProgressBar | None = None) -> FileResult:
    """One local file, through the cache: ``submit`` right after ``check`` does not analyse it again."""
    cache = open_cache() if use_cache else None
    try:
        key, hit = lookup(cache, path, ruleset, quick, fail_level)
        if hit is not None:
            return hit
        res = check_in_worker(path, ruleset, quick, fail_level, progress)
        store(cache, key, res)
        return res
    finally:
        if cache is not None:
            cache.close()


def relinked(res: FileResult, link: LinkFacts, ruleset: RuleSet, fail_level: str) -> FileResult:
    """A cached remote result with its url.* findings judged again on the link as it is now."""
    from preflight.checks import RULES
    from preflight.judge.engine import judge
    from preflight.model.facts import LinkOnlyFacts

    if res.kind is None or res.facts is None:
        return res
    kind: Kind = "image" if res.kind == "image" else "video"
    fresh = {f.rule: f for f in judge(LinkOnlyFacts(kind, link), ruleset) if f.rule in RULES}
    findings = [fresh.get(f.rule, f) for f in res.findings]
    verdict: FileVerdict = "fail" if any(f.fails_at(fail_level) for f in findings) else "pass"
    return replace(res, findings=findings, verdict=verdict, facts={**res.facts, "link": asdict(link)})
