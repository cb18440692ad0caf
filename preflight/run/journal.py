"""The submit journal: which file (or link), name and model became which face, so that a second
submit, or a retry after a timeout, does not create a second face.

A JSON file in the state directory (``dirs.state_dir``), rewritten atomically under a lock. An entry
is ``pending`` from just before ``POST /v2/faces`` until the answer, then ``created`` with the face id;
following a face's training records where it got (``training``: preview, done, failed, tuning_failed).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from contextlib import AbstractContextManager
from typing import Any

from preflight.api.client import Face, TavusClient
from preflight.errors import UnsureOfEarlierSubmit
from preflight.state.statefiles import locked, write_json

_CLOCK_SKEW = dt.timedelta(minutes=2)  # between this machine's clock and Tavus's


class Journal:
    def __init__(self, path: Path, also_read: list[Path] | None = None) -> None:
        self.path = path
        self.also_read = also_read or []  # older journals (an earlier version's place): read, never written

    @classmethod
    def in_dir(cls, folder: Path, legacy: list[Path] | None = None) -> Journal:
        return cls(folder / "journal.json", [d / "journal.json" for d in legacy or []])

    @staticmethod
    def _load(path: Path) -> dict[str, Any]:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        for path in [self.path, *self.also_read]:
            entry = self._load(path).get(key)
            if isinstance(entry, dict):
                return entry
        return None

    def deciding(self, key: str) -> AbstractContextManager[None]:
        """An exclusive lock of its own for one key (between processes too): held from "is there a face
        for this key?" until the answer is written, so that two submits of the same file, name and
        model make one face. Other keys are not held up."""
        import hashlib

        return locked(self.path.with_name(f"journal-{hashlib.sha256(key.encode()).hexdigest()[:24]}"))

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Add or replace one entry: under a lock, so a submit running beside this one keeps its own."""
        with locked(self.path):
            data = self._load(self.path)
            data[key] = entry
            write_json(self.path, data)

    def record_training(self, face: Face) -> None:
        """Note where the face's training got, in every entry that made it (none: nothing to do)."""
        if not self.path.exists():
            return
        with locked(self.path):
            data = self._load(self.path)
            changed = False
            for entry in data.values():
                if isinstance(entry, dict) and entry.get("face_id") == face.face_id:
                    entry.update(training=face.stage, status=face.status, finetune_status=face.finetune_status,
                                 checked_at=now())
                    changed = True
            if changed:
                write_json(self.path, data)


def entry_key(identity: str, name: str, model: str, *, remote: bool) -> str:
    """A journal key: the file's SHA-256 (a local file) or a link's identity, with the name and model."""
    return f"{'url:' if remote else ''}{identity}:{name}:{model}"


def known_face(api: TavusClient, journal: Journal, key: str, name: str, model: str) -> Face | None:
    """The face an earlier submit of this file, name and model made, if any. For an earlier submit
    whose answer never came (pending), every page of faces is searched for one with this name and
    model created after that submit started; it is adopted only when exactly one fits, and when any
    face with that name and model has no creation time, preflight stops rather than guess."""
    entry = journal.get(key)
    if entry is None:
        return None
    if entry.get("face_id"):
        return api.get_face(str(entry["face_id"]))
    since = _parse_time(entry.get("at"))
    same = [f for f in api.faces() if f.name == name and f.raw.get("model_name", model) == model]
    created = {f.face_id: _parse_time(f.raw.get("created_at")) for f in same}
    fits = [f for f in same if since is not None and (c := created[f.face_id]) is not None and c >= since - _CLOCK_SKEW]
    unknown = [f for f in same if created[f.face_id] is None or since is None]
    if len(fits) == 1 and not unknown:
        return fits[0]
    if not fits and not unknown:
        return None  # the interrupted submit made no face: safe to create it now
    ids = ", ".join(f.face_id for f in [*fits, *unknown])
    raise UnsureOfEarlierSubmit(
        f"an earlier submit of this file as {name!r} ({model}) was cut off before Tavus answered, and "
        f"these faces could be the one it made: {ids}. Look at them (`preflight status ID`); if one is "
        "yours there is nothing to do, otherwise run again with --resubmit")


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.timezone.utc)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
