"""Cached check results, so re-checking unchanged files is near-instant.

A result is stored under a key made of the file's content (SHA-256), the effective rule set (every
rule, threshold, severity, hint and analysis setting, after ``extends``), the options that change a
result (``--quick``, ``--fail-level``) and the preflight version: a changed file, rule threshold or
version never gets a stale result. Files are matched to their content hash without reading them
when their size, modification and change times and inode are the ones recorded when they were hashed
(as git's index does); a file modified within two seconds of being hashed is hashed again next time,
since a change in the same clock tick would not show in its times.

Everything lives in one SQLite file in the user's cache directory (``$XDG_CACHE_HOME/preflight`` on
Linux; ``PREFLIGHT_CACHE_DIR`` overrides it). The cache is an optimisation: if it cannot be opened or
written, checks run uncached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path

import preflight
from preflight.digest import sha256_of
from preflight.dirs import cache_dir
from preflight.report import FileResult
from preflight.ruleset import RuleSet

_RACY_S = 2.0
_KEEP_S = 90 * 24 * 3600  # results older than this are dropped when the cache is opened
_SCHEMA = """
CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, stat TEXT NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, result TEXT NOT NULL, stored REAL NOT NULL);
"""


def fingerprint(ruleset: RuleSet) -> str:
    """The rule set's effective content: the same for equal rule sets wherever they were read from."""
    content = dataclasses.asdict(ruleset)
    del content["origin"], content["description"]
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def result_key(sha256: str, ruleset: RuleSet, *, quick: bool, fail_level: str) -> str:
    parts = [sha256, fingerprint(ruleset), f"quick={quick}", f"fail_level={fail_level}",
             f"version={preflight.__version__}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class ResultCache:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @classmethod
    def open(cls, folder: Path | None = None) -> ResultCache:
        """Raises OSError or sqlite3.Error when the cache cannot be used (the caller goes on without)."""
        folder = folder or cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(folder / "results.sqlite3", timeout=10)
        db.executescript(_SCHEMA)
        db.execute("DELETE FROM results WHERE stored < ?", (time.time() - _KEEP_S,))
        return cls(db)

    def content_hash(self, path: Path) -> str:
        """The file's SHA-256, read from the cache when its stat is the one recorded with the hash."""
        where = os.fsencode(os.path.realpath(path))  # bytes: a name need not be UTF-8
        st = path.stat()
        stat = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"
        row = self.db.execute("SELECT stat, sha256 FROM hashes WHERE path = ?", (where,)).fetchone()
        if row is not None and row[0] == stat:
            return str(row[1])
        started = time.time()
        sha = sha256_of(path)
        settled = started - max(st.st_mtime_ns, st.st_ctime_ns) / 1e9 > _RACY_S
        if settled and path.stat().st_mtime_ns == st.st_mtime_ns:
            self.db.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?)", (where, stat, sha))
        return sha

    def get(self, key: str, path: str) -> FileResult | None:
        row = self.db.execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            stored = FileResult.from_dict(json.loads(row[0]))
        except (ValueError, TypeError, KeyError):  # written by another layout: treat as absent
            return None
        return dataclasses.replace(stored, path=path, cached=True)

    def put(self, key: str, result: FileResult) -> None:
        text = json.dumps(dataclasses.replace(result, cached=False).to_dict(), default=str)
        self.db.execute("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", (key, text, time.time()))

    def stats(self) -> tuple[int, int]:
        """(stored results, bytes of the cache file)."""
        (count,) = self.db.execute("SELECT COUNT(*) FROM results").fetchone()
        (pages,) = self.db.execute("PRAGMA page_count").fetchone()
        (page_size,) = self.db.execute("PRAGMA page_size").fetchone()
        return int(count), int(pages) * int(page_size)

    def clear(self) -> int:
        """Forget every stored result and file hash; returns how many results there were."""
        count, _ = self.stats()
        self.db.execute("DELETE FROM results")
        self.db.execute("DELETE FROM hashes")
        self.db.commit()
        self.db.execute("VACUUM")
        return count

    def close(self) -> None:
        self.db.commit()
        self.db.close()
