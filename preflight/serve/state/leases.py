"""Named leases: a duty that one node at a time has (the janitor's sweep), taken in turn. A node
holds a lease until its time runs out; renewing it before then keeps it, and once it has run out any
node may take it (one upsert: of nodes asking at once, one gets it)."""

from __future__ import annotations

import time

from preflight.serve.state.database import Database


class Leases:
    def __init__(self, database: Database) -> None:
        self.db = database

    def take(self, name: str, owner: str, for_s: float) -> bool:
        """Whether ``owner`` now holds ``name`` for ``for_s`` seconds (it held it, or nobody did)."""
        now = time.time()
        with self.db.transaction() as tx:
            tx.run("INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                   "owner = excluded.owner, until = excluded.until WHERE leases.until < ? OR leases.owner = ?",
                   (name, owner, now + for_s, now, owner))
            row = tx.one("SELECT owner FROM leases WHERE name = ?", (name,))
        return row is not None and row["owner"] == owner

    def holder(self, name: str) -> str | None:
        row = self.db.one("SELECT owner FROM leases WHERE name = ? AND until >= ?", (name, time.time()))
        return str(row["owner"]) if row is not None else None
