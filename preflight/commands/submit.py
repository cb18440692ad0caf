"""``preflight submit``: check, upload to S3, presign, ``POST /v2/faces``, and optionally follow training.

Every step that costs the user (an upload, a face) happens only after the cheap ones passed: the
configuration, the check, the voice. A local journal (file hash + name + model → face) keeps a second
run, or a retry after a timeout, from creating a second face unless ``--force`` is given.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from preflight.api.client import Face, ImageValidation, TavusClient
from preflight.commands import api as api_cmd
from preflight.commands.check import check_cached
from preflight.digest import stamp
from preflight.errors import EXIT_FAIL, EXIT_OK, PreflightError, UnusableInput, UsageError
from preflight.media.sniff import sniff
from preflight.render import RENDERERS, RenderOptions
from preflight.report import FileResult, Report
from preflight.ruleset import RuleSet, load
from preflight.statefiles import locked, write_json
from preflight.upload.s3 import Uploader, object_key, sha256_of
from preflight.upload.urls import (
    MAX_VALID_S,
    MIN_VALID_S,
    check_credentials,
    parse_duration,
    presign,
    redact,
    verify,
)

Echo = Callable[[str], None]
FRAMING_RULES = {"face.centered", "face.head_in_frame", "face.size", "face.looking"}


@dataclass(frozen=True)
class SubmitOptions:
    bucket: str
    name: str | None = None
    model: str = "phoenix-4"
    voice_name: str | None = None
    auto_fix_image: bool = False
    callback_url: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    prefix: str = "preflight"
    expires: str = "24h"
    wait: bool = False
    force: bool = False  # submit although the check fails
    resubmit: bool = False  # create another face although this file, name and model made one before
    dry_run: bool = False
    fmt: str = "text"
    s3_endpoint: str | None = None
    state_dir: Path = Path.home() / ".cache" / "preflight"
    timeout_s: float = 60.0
    fix: bool = False  # run `preflight fix` first and upload the fixed file
    tavus_validation: bool = True  # images: run Tavus's own image check before the upload
    upload_progress: Callable[[int], Callable[[int], None]] | None = None  # a bar, given the total bytes


def s3_client(endpoint: str | None) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else {})
    # A session of its own, not boto3's process-wide default: the credentials are read now, from the
    # environment as it is (a library caller may change AWS_* between submits).
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def _ruleset(kind: str, opts: SubmitOptions) -> RuleSet:
    if kind == "image":
        if opts.model == "phoenix-3":
            raise UsageError("image training is not available on phoenix-3; use --model phoenix-4 or phoenix-4.5")
        rules = load("image")
        if opts.auto_fix_image:  # Tavus's AI Image Fixer repairs framing: those become warnings
            rules = replace(rules, rules=tuple(replace(c, severity="warning") if c.id in FRAMING_RULES else c
                                               for c in rules.rules))
        return rules
    return load(opts.model)


class Journal:
    """Which file (by hash), name and model became which face: a JSON file, rewritten atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict[str, Any] | None:
        entry = self._read().get(key)
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Add or replace one entry: under a lock, so a submit running beside this one keeps its own."""
        with locked(self.path):
            data = self._read()
            data[key] = entry
            write_json(self.path, data)


def run(path: Path, opts: SubmitOptions, conn: api_cmd.Connection, echo: Echo, s3: Any = None) -> int:
    if not opts.bucket:
        raise UsageError("no bucket: pass --bucket or set PREFLIGHT_BUCKET")
    expires_s = parse_duration(opts.expires)
    if not MIN_VALID_S <= expires_s <= MAX_VALID_S:  # before any upload, --dry-run included
        raise UsageError(f"--expires {opts.expires}: a presigned URL for Tavus must be valid from 24h (Tavus "
                         "downloads it later) to 7d (the most S3 signs); e.g. --expires 24h or 3d")
    if opts.fix:
        path = _fixed(path, opts, echo)
    kind = sniff(path).kind
    checked = check_cached(path, _ruleset(kind, opts))
    if checked.verdict == "error":
        raise UnusableInput(f"{path}: {checked.error}")
    if checked.verdict != "pass" and not opts.force:
        echo(RENDERERS["text"](Report([checked]), RenderOptions(quiet=True)))
        echo("Not uploaded: fix the failures above (see `preflight fix`), or pass --force to submit anyway.\n")
        return EXIT_FAIL
    with TavusClient(conn.api_key, conn.base_url, timeout=opts.timeout_s) as api:
        api.check_key()  # one cheap authenticated request: a wrong key stops here, before any upload
        voice = _checked_voice(api, kind, opts)
        if kind == "image" and opts.tavus_validation and not _tavus_accepts(api, path, opts.model, checked, echo):
            return EXIT_FAIL
        sha = sha256_of(path)
        name = opts.name or path.stem
        journal, entry_key = Journal(opts.state_dir / "journal.json"), f"{sha}:{name}:{opts.model}"
        done = _already_made(api, conn, journal, entry_key, name, opts, echo, "file")
        if done is not None:
            return done
        key = object_key(opts.prefix, sha, path)
        client = s3 if s3 is not None else s3_client(opts.s3_endpoint)
        check_credentials(_credentials(client), expires_s)  # before any byte is sent, --dry-run included
        if opts.dry_run:
            body = _body(kind, f"<presigned GET of s3://{opts.bucket}/{key}, valid {opts.expires}>", name,
                         voice, opts)
            echo(f"dry run: would upload {path} to s3://{opts.bucket}/{key} and send\n"
                 f"POST {conn.base_url}/v2/faces\n{json.dumps(body, indent=2)}\n")
            return EXIT_OK
        progress = opts.upload_progress(path.stat().st_size) if opts.upload_progress is not None else None
        Uploader(client, opts.state_dir).upload(path, opts.bucket, opts.prefix, sha, progress)
        url = presign(client, opts.bucket, key, expires_s, _credentials(client))
        verify(url, path)
        body = _body(kind, url, name, voice, opts)
        shown = _shown(body)
        journal.put(entry_key, {"state": "pending", "at": _now(), "request": shown})
        face = api.create_face(body)
        journal.put(entry_key, {"state": "created", "face_id": face.face_id, "at": _now(), "request": shown})
        return _finish(api, conn, face, key, shown, opts, echo)


def run_remote(text: str, opts: SubmitOptions, conn: api_cmd.Connection, echo: Echo, s3: Any = None) -> int:
    """Submit media that is already online, without uploading it again: an https:// link is checked as
    Tavus will download it and sent as it is; an s3:// object gets a GET URL presigned for --expires
    (24 h to 7 d) with the caller's credentials, which is checked and sent."""
    from preflight.commands.check import check_remote
    from preflight.remote.link import shown as safe_url
    from preflight.remote.source import Remote, expand, read_image

    expires_s = parse_duration(opts.expires)
    if opts.fix:
        raise UsageError("--fix works on local files; fix the file, then submit it (or its new copy)")
    if text.lower().startswith("s3://"):
        if not MIN_VALID_S <= expires_s <= MAX_VALID_S:
            raise UsageError(f"--expires {opts.expires}: from 24h (Tavus downloads it later) to 7d (the most S3 signs)")
        client = s3 if s3 is not None else s3_client(opts.s3_endpoint)
        bucket, _, key = text[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise UsageError(f"{text}: submit takes one object, s3://BUCKET/KEY")
        remote = Remote(presign(client, bucket, key, expires_s, _credentials(client)), text, (bucket, key))
    else:
        try:
            (remote,) = expand(text)
        except UsageError as err:
            raise UsageError(f"{safe_url(text)}: {err}") from None
    rules = None if opts.model == "phoenix-4" else opts.model
    checked = check_remote(remote, rules)
    if checked.verdict == "error":
        raise UnusableInput(f"{remote.shown}: {checked.error}")
    broken_link = [f for f in checked.findings if f.rule.startswith("url.") and f.fails_at("error")]
    if broken_link or (checked.verdict != "pass" and not opts.force):
        echo(RENDERERS["text"](Report([checked]), RenderOptions(quiet=True)))
        echo("Not submitted: Tavus could not download this link (--force does not change that).\n" if broken_link
             else "Not submitted: fix the failures above, or pass --force to submit anyway.\n")
        return EXIT_FAIL
    kind = checked.kind or "video"
    link = (checked.facts or {}).get("link") or {}
    with TavusClient(conn.api_key, conn.base_url, timeout=opts.timeout_s) as api:
        api.check_key()
        voice = _checked_voice(api, kind, opts)
        if kind == "image" and opts.tavus_validation:
            data = read_image(remote)
            mime = "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"
            validation = api.validate_image(data, mime, opts.model)
            if not validation.passed:
                labels = "\n".join(f"  ✗ {c.label} ({c.id})" for c in validation.failing) or "  (no check named)"
                echo(f"Tavus's image check ({opts.model}) did not pass:\n{labels}\nNot submitted.\n")
                return EXIT_FAIL
        name = opts.name or Path(remote.name).stem
        identity = hashlib.sha256(f"{remote.shown.split('?', 1)[0]}\n{link.get('etag')}\n{link.get('length')}"
                                  .encode()).hexdigest()
        journal, entry_key = Journal(opts.state_dir / "journal.json"), f"url:{identity}:{name}:{opts.model}"
        done = _already_made(api, conn, journal, entry_key, name, opts, echo, "link")
        if done is not None:
            return done
        body = _body(kind, remote.url, name, voice, opts)
        shown = _shown(body)
        if opts.dry_run:
            echo(f"dry run: would send {remote.shown} as it is\nPOST {conn.base_url}/v2/faces\n"
                 f"{json.dumps(shown, indent=2)}\n")
            return EXIT_OK
        journal.put(entry_key, {"state": "pending", "at": _now(), "request": shown})
        face = api.create_face(body)
        journal.put(entry_key, {"state": "created", "face_id": face.face_id, "at": _now(), "request": shown})
        return _finish(api, conn, face, None, shown, opts, echo)


def _already_made(api: TavusClient, conn: api_cmd.Connection, journal: Journal, entry_key: str, name: str,
                  opts: SubmitOptions, echo: Echo, what: str) -> int | None:
    """The exit code when this file (or link), name and model already made a face (unless --resubmit),
    after following it as a new one would be; None when a face is to be created."""
    known = None if opts.resubmit else _known_face(api, journal, entry_key, name, opts.model)
    if known is None:
        return None
    echo(f"already submitted: {api_cmd.describe(known)}\n(this {what}, name and model made that face; "
         "pass --resubmit to create another one, which is billed again)\n" if opts.fmt == "text" else "")
    return _finish(api, conn, known, None, None, opts, echo)


def tavus_image_check(api: TavusClient, path: Path, model: str) -> ImageValidation:
    mime = "image/png" if sniff(path).image_format == "PNG" else "image/jpeg"
    return api.validate_image(path.read_bytes(), mime, model)


def _tavus_accepts(api: TavusClient, path: Path, model: str, checked: FileResult, echo: Echo) -> bool:
    """Tavus's own image check for this model, before anything is uploaded. A failure is shown beside
    preflight's own findings, and stops the submit."""
    validation = tavus_image_check(api, path, model)
    if validation.passed:
        return True
    echo(RENDERERS["text"](Report([checked]), RenderOptions(quiet=False)))
    labels = "\n".join(f"  ✗ {c.label} ({c.id})" for c in validation.failing) or "  (no check named)"
    echo(f"Tavus's image check ({model}) did not pass:\n{labels}\n"
         "Not uploaded: use a photo that meets these, or pass --skip-tavus-validation to submit anyway.\n")
    return False


def _shown(body: dict[str, Any]) -> dict[str, Any]:
    """The request as it may be printed or journaled: the training URL without its signature, and the
    callback URL without its query (tokens travel there)."""
    shown = {**body, **{k: redact(v) for k, v in body.items() if k.startswith("train_")}}
    if body.get("callback_url"):
        shown["callback_url"] = _without_query(str(body["callback_url"]))
    return shown


def _without_query(url: str) -> str:
    from urllib.parse import urlparse, urlunparse

    parts = urlparse(url)
    return urlunparse(parts._replace(query="REDACTED" if parts.query else "", fragment=""))


def _fixed(path: Path, opts: SubmitOptions, echo: Echo) -> Path:
    """Run the fixer; carry on with exactly the file this run of it wrote (an older ``X.fixed.mp4``
    left from another run is never uploaded), or with the input when it wrote nothing."""
    from preflight.commands import fix as fix_cmd

    rules = None if opts.model == "phoenix-4" else opts.model
    fixed = fix_cmd.default_output(path, sniff(path).kind)
    before = stamp(fixed)
    fix_cmd.run(path, fix_cmd.FixOptions(rules=rules), echo)
    after = stamp(fixed)
    return fixed if after is not None and after != before else path


def _checked_voice(api: TavusClient, kind: str, opts: SubmitOptions) -> str | None:
    if kind == "image" and not opts.voice_name:
        raise UsageError("image training needs a stock voice: pass --voice-name (see `preflight voices`)")
    if opts.voice_name is None:
        return None
    names = [v.voice_name for v in api.voices(opts.voice_name)]
    match = next((n for n in names if n.lower() == opts.voice_name.lower()), None)
    if match is None:
        close = f"; similar: {', '.join(names[:5])}" if names else ""
        raise UsageError(f"--voice-name {opts.voice_name!r} is not a Tavus stock voice{close}")
    return match


class UnsureOfEarlierSubmit(PreflightError):
    """An earlier submit of this file was cut off and the faces list cannot tell whether it made one."""

    exit_code = EXIT_FAIL


_CLOCK_SKEW = dt.timedelta(minutes=2)  # between this machine's clock and Tavus's


def _known_face(api: TavusClient, journal: Journal, key: str, name: str, model: str) -> Face | None:
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


def _body(kind: str, url: str, name: str, voice: str | None, opts: SubmitOptions) -> dict[str, Any]:
    body: dict[str, Any] = {"train_video_url" if kind == "video" else "train_image_url": url,
                            "face_name": name, "model_name": opts.model}
    if voice:
        body["voice_name"] = voice
    if kind == "image" and opts.auto_fix_image:
        body["auto_fix_training_image"] = True
    if opts.callback_url:
        body["callback_url"] = opts.callback_url
    if opts.properties:
        body["properties"] = opts.properties
    return body


def _finish(api: TavusClient, conn: api_cmd.Connection, face: Face, key: str | None, shown: dict[str, Any] | None,
            opts: SubmitOptions, echo: Echo) -> int:
    if opts.fmt == "json":
        echo(json.dumps({"face_id": face.face_id, "status": face.status, "object": key, "request": shown}) + "\n")
    elif shown is not None:
        echo(f"uploaded s3://{opts.bucket}/{key}\ncreated {api_cmd.describe(face)}")
    if opts.wait:
        return api_cmd.status(conn, face.face_id, True, echo)
    return EXIT_OK


def _credentials(client: Any) -> Any:
    try:
        return client._request_signer._credentials
    except AttributeError:
        return None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
