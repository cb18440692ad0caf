"""The first problem of a document that fails its JSON schema, located for a one-line message.

Shared by rule files (``ruleset.py``) and project configs (``project.py``); each words its own message.
jsonschema is imported only when a document is actually checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    where: str  # "file → path.to.key", or just the file when the document's top level is at fault
    crumbs: str  # the path to the bad key, dotted; "" for the top level
    message: str  # jsonschema's own wording
    unknown: str | None = None  # a key the schema does not allow there…
    known: list[str] = field(default_factory=list)  # …and the keys it does


def first_problem(doc: dict[str, Any], schema: dict[str, Any], origin: str) -> Problem | None:
    import jsonschema

    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if error is None:
        return None
    crumbs = ".".join(str(p) for p in error.absolute_path)
    where = f"{origin} → {crumbs}" if crumbs else origin
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known))[0]
        return Problem(where, crumbs, error.message, unknown, known)
    return Problem(where, crumbs, error.message)
