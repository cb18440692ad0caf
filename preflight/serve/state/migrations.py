"""The service's schema, version by version: the same statements for SQLite and PostgreSQL, applied
in order at start-up, each version once (recorded in ``schema_migrations``), one node at a time.

Types are the ones both read alike: ``TEXT``, ``BIGINT`` (SQLite's INTEGER), ``DOUBLE PRECISION``
(SQLite's REAL; PostgreSQL's ``REAL`` would keep a Unix time to the nearest two minutes). Version 1
is the schema the single-node service kept before versions were recorded: a data folder from then
has its tables (``IF NOT EXISTS`` leaves them as they are) and gets version 2's columns on top.
A new version is a new entry at the end; an applied one is never edited.
"""

from __future__ import annotations

import time

from preflight.serve.state.database import Database

MIGRATIONS: list[tuple[int, str, tuple[str, ...]]] = [
    (1, "jobs, idempotency keys, takes and capture sessions", (
        """CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,               -- check | face | take (a recorded take's fix and check)
            status TEXT NOT NULL,             -- queued | running | done
            created DOUBLE PRECISION NOT NULL,
            started DOUBLE PRECISION,
            finished DOUBLE PRECISION,
            name TEXT NOT NULL,               -- the file's name as the caller gave it, or the URL as shown
            source TEXT NOT NULL,             -- where the upload is (a blob), or the URL
            remote BIGINT NOT NULL,           -- 1: source is a URL
            params TEXT NOT NULL,             -- JSON: rules, quick, submit options
            callback_url TEXT,
            callback_sent BIGINT,             -- NULL: none due; 0: due; 1: delivered or given up
            attempts BIGINT NOT NULL DEFAULT 0,
            alone BIGINT NOT NULL DEFAULT 0,  -- unused since the crash-isolation pool
            verdict TEXT,
            result TEXT,                      -- JSON: the report, or the face
            error TEXT)""",
        "CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, created)",
        """CREATE TABLE IF NOT EXISTS idempotency (
            key TEXT PRIMARY KEY,             -- the route's kind and the caller's Idempotency-Key
            fingerprint TEXT NOT NULL,        -- SHA-256 of the request: its options and its body (or link)
            job_id TEXT NOT NULL,             -- what answered it: a job's or a capture session's id
            created DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS takes (
            id TEXT PRIMARY KEY,
            session_id TEXT,                  -- the capture session's; NULL: preflight record's own take
            rules TEXT NOT NULL,
            mime TEXT NOT NULL,
            recording TEXT NOT NULL,          -- the recording's name among the takes' blobs
            size BIGINT NOT NULL DEFAULT 0,   -- the bytes acknowledged
            next_seq BIGINT NOT NULL DEFAULT 0,
            status TEXT NOT NULL,             -- recording | checking (done: when its job is)
            job_id TEXT,                      -- the fix-and-check job, once finished
            created DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS takes_session ON takes (session_id, created)",
        """CREATE TABLE IF NOT EXISTS capture_sessions (
            id TEXT PRIMARY KEY,
            origin TEXT NOT NULL,             -- the product's origin: scheme://host[:port]
            rules TEXT NOT NULL,
            created DOUBLE PRECISION NOT NULL,
            expires DOUBLE PRECISION NOT NULL,
            max_takes BIGINT NOT NULL,
            speak_s DOUBLE PRECISION,         -- NULL: the rule set's own durations
            listen_s DOUBLE PRECISION,
            callback_url TEXT,
            submit TEXT)                      -- JSON: the submit options the backend allowed, or NULL""",
        "CREATE INDEX IF NOT EXISTS capture_sessions_origin ON capture_sessions (origin, expires)",
    )),
    (2, "many nodes: job leases, callbacks scheduled in the database, take chunks and counts, named leases", (
        "ALTER TABLE jobs ADD COLUMN owner TEXT",                        # the node that claimed it
        "ALTER TABLE jobs ADD COLUMN origin TEXT",                       # the node that received it (its upload)
        "ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION",      # renewed while it runs; then anyone's
        "ALTER TABLE jobs ADD COLUMN callback_due DOUBLE PRECISION",     # the next attempt's time
        "ALTER TABLE jobs ADD COLUMN callback_attempts BIGINT NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN callback_lease DOUBLE PRECISION",   # a node is sending it until then
        "UPDATE jobs SET callback_due = finished WHERE callback_sent = 0",
        "UPDATE jobs SET owner = 'local', lease_until = 0 WHERE status = 'running'",  # a stopped node's
        "CREATE INDEX IF NOT EXISTS jobs_callbacks ON jobs (callback_sent, callback_due)",
        "ALTER TABLE capture_sessions ADD COLUMN takes BIGINT NOT NULL DEFAULT 0",  # takes started
        "UPDATE capture_sessions SET takes = (SELECT COUNT(*) FROM takes WHERE takes.session_id = capture_sessions.id)",
        """CREATE TABLE IF NOT EXISTS take_chunks (
            take_id TEXT NOT NULL,
            seq BIGINT NOT NULL,
            blob TEXT NOT NULL,               -- where its bytes are among the takes' blobs
            size BIGINT NOT NULL,
            PRIMARY KEY (take_id, seq))""",
        """CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY,            -- a duty one node at a time has: the janitor's turn
            owner TEXT NOT NULL,
            until DOUBLE PRECISION NOT NULL)""",
    )),
    (3, "a callback attempt's node, so a node started again takes back its own attempts at once", (
        "ALTER TABLE jobs ADD COLUMN callback_owner TEXT",              # the node sending it (until callback_lease)
    )),
]
LATEST = MIGRATIONS[-1][0]


def migrate(database: Database) -> list[int]:
    """Apply the versions ``database`` lacks, in order, in one transaction that one node at a time holds;
    the versions applied now (none when another node already did)."""
    with database.migrating() as tx:
        tx.run("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, "
               "applied DOUBLE PRECISION NOT NULL, what TEXT NOT NULL)")
        done = {int(r["version"]) for r in tx.rows("SELECT version FROM schema_migrations")}
        if done and max(done) > LATEST:
            from preflight.errors import UsageError

            raise UsageError(f"the database at {database.shown} has schema version {max(done)}, newer than this "
                             f"preflight's ({LATEST}): upgrade preflight on this node")
        applied = []
        for version, what, statements in MIGRATIONS:
            if version in done:
                continue
            for statement in statements:
                tx.run(statement)
            tx.run("INSERT INTO schema_migrations (version, applied, what) VALUES (?, ?, ?)",
                   (version, time.time(), what))
            applied.append(version)
    return applied
