"""Cached check results, so re-checking unchanged files is near-instant.

A result is stored under a key made of the file's content (SHA-256), the effective rule set (every
rule, threshold, severity, hint and analysis setting, after ``extends``), the options that change a
result (``--quick``, ``--fail-level``), the preflight version, the versions of the libraries that
produce facts, and a fingerprint of preflight's own files: a changed file, rule threshold, version,
library upgrade or edited source never gets a stale result. Files are matched to their content hash without reading them
when their size, modification and change times and inode are the ones recorded when they were hashed
(as git's index does); a file modified within two seconds of being hashed is hashed again next time,
since a change in the same clock tick would not show in its times.

Everything lives in one SQLite file in the user's cache directory (``$XDG_CACHE_HOME/preflight`` on
Linux; ``PREFLIGHT_CACHE_DIR`` overrides it). The cache is an optimisation: if it cannot be opened or
written, checks run uncached.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import sqlite3
import sys
import time
from typing import TYPE_CHECKING
from pathlib import Path

from preflight.state.digest import sha256_of
from preflight.state.dirs import cache_dir
from preflight.model.report import FileResult
from preflight import version

if TYPE_CHECKING:  # a rule set is only read as a dataclass here: the cache sits below judging
    from preflight.judge.ruleset import RuleSet

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
             f"version={version.__version__}", f"code={code_fingerprint()}", *library_versions()]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# The distributions whose code produces facts: a new PyAV (and the FFmpeg in its wheel), OpenCV,
# dlib, Pillow, numpy or webrtcvad can measure differently, so their versions are part of every key.
_FACT_LIBRARIES = ("av", "opencv_python_headless", "dlib_bin", "pillow", "numpy", "webrtcvad_wheels")


@functools.lru_cache(maxsize=1)
def library_versions() -> tuple[str, ...]:
    """``name-version`` of each library above, read from the names of the installed ``.dist-info``
    folders (one directory listing per path entry: importlib.metadata took 50 ms for the six)."""
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, _, version = name[: -len(".dist-info")].partition("-")
                if dist.lower() in _FACT_LIBRARIES and dist.lower() not in found:
                    found[dist.lower()] = version
    return tuple(f"{lib}={found.get(lib, 'absent')}" for lib in _FACT_LIBRARIES)


PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the installed preflight package


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A digest of preflight's own code, rule files and models as installed (name, size and
    modification time of each): an editable install whose code changed without a version bump never
    gets an old result. A few milliseconds, once per run."""
    root = PACKAGE_DIR
    files = [p for p in root.rglob("*") if p.suffix in (".py", ".toml", ".tflite")]
    rules = root.parent / "rules"  # a source checkout keeps the rule files beside the package
    files += list(rules.glob("*.toml")) if rules.is_dir() else []
    digest = hashlib.sha256()
    for path in sorted(files):
        st = path.stat()
        digest.update(f"{path.relative_to(root.parent).as_posix()}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


class ResultCache:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    @classmethod
    def open(cls, folder: Path | None = None) -> ResultCache:
        """Raises OSError or sqlite3.Error when the cache cannot be used (the caller goes on without)."""
        folder = folder or cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        # Autocommit: each write is its own short transaction. (With an implicit transaction open from
        # the first write to close, one `check` held the write lock for its whole run, and a second
        # process using the cache waited up to the busy timeout, then went on uncached.) WAL: readers
        # never wait for a writer.
        db = sqlite3.connect(folder / "results.sqlite3", timeout=10, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
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
        self.db.execute("VACUUM")
        return count

    def close(self) -> None:
        self.db.close()
