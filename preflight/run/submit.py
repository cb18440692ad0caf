"""The submit pipeline: check, stage, create the face; one path for every kind of source.

A source is *staged* as Tavus will get it:

- a local file: uploaded to S3 (content-addressed, verified) and presigned for ``expires``;
- an ``s3://BUCKET/KEY`` object: presigned where it is, not uploaded again;
- an ``https://`` link: sent as it is, after checking it the way Tavus will download it.

Every step that costs the user (an upload, a face) happens only after the cheap ones passed: the
options, the check, the API key, the voice, Tavus's own image check, the journal (so the same file,
name and model never silently become a second face) and, for an upload, the AWS credentials.
``submit`` returns a ``SubmitOutcome`` and prints nothing; the command line and the library show it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from preflight.remote import redact
from preflight.api.client import Face, ImageValidation, TavusClient
from preflight.api.connection import Connection
from preflight.state.dirs import legacy_state_dirs, state_dir
from preflight.errors import EXIT_FAIL, EXIT_OK, EXIT_UNUSABLE, UsageError
from preflight.model.facts import Kind
from preflight.media.sniff import sniff
from preflight.remote.source import Remote, expand, is_remote, read_image
from preflight.model.report import FileResult
from preflight.run import training
from preflight.run.cached import check_cached, file_hash, remote_identity
from preflight.run.fix import FixOptions, FixRun, fix_isolated
from preflight.run.journal import Journal, entry_key, known_face, now
from preflight.run.rulesets import model_chooser
from preflight.run.tavus_image import with_finding
from preflight.run.triage import check_remote
from preflight.upload import s3 as s3_upload
from preflight.remote.guard import UrlGuard
from preflight.upload.urls import MAX_VALID_S, MIN_VALID_S, check_credentials, parse_duration, presign, verify

Stopped = Literal["unusable", "check", "link", "tavus_image"]


@dataclass(frozen=True)
class SubmitOptions:
    bucket: str = ""  # needed for a local file only
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
    s3_endpoint: str | None = None
    state_dir: Path | None = None  # None: dirs.state_dir()
    timeout_s: float = 60.0
    fix: bool = False  # run the fixer first and upload the fixed file
    tavus_validation: bool = True  # images: run Tavus's own image check before the upload
    upload_progress: Callable[[int], Callable[[int], None]] | None = None  # a bar, given the total bytes
    status_bar: training.StatusBar | None = None  # with wait: training progress
    url_guard: UrlGuard | None = None  # a service's: links only to public hosts, s3:// only to allowed buckets
    copies: Path | None = None  # with url_guard: where a link's guarded copy is kept while it is checked


@dataclass(frozen=True)
class Staged:
    """A source as it will reach Tavus: ``shown`` is how it is printed (no signature), ``remote`` the
    link or presigned object, ``path`` the local file."""

    shown: str
    name: str  # the face's default name: the file's stem
    path: Path | None = None
    remote: Remote | None = None

    @property
    def local(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class SubmitOutcome:
    """What a submit did. ``stopped`` says why no face was made (None: one was made, found or, with
    ``dry_run``, would be); ``message`` says it in one line; ``request`` is the ``POST /v2/faces``
    body as it may be shown (signatures and callback tokens redacted)."""

    source: str
    local: bool = True  # a local file (uploaded), else a link or an s3:// object (sent where it is)
    kind: Kind | None = None
    check: FileResult | None = None
    stopped: Stopped | None = None
    message: str = ""
    face: Face | None = None
    existing: bool = False  # the face was made by an earlier submit of the same file, name and model
    request: dict[str, Any] | None = None
    object: str | None = None  # s3://BUCKET/KEY of an upload
    dry_run: bool = False
    validation: ImageValidation | None = None
    fixed: FixRun | None = None
    followed: bool = False  # the face was followed (wait) to the end of its training

    @property
    def face_id(self) -> str | None:
        return self.face.face_id if self.face is not None else None

    @property
    def status(self) -> str | None:
        return self.face.status if self.face is not None else None

    @property
    def exit_code(self) -> int:
        if self.stopped == "unusable":
            return EXIT_UNUSABLE
        if self.stopped is not None:
            return EXIT_FAIL
        if self.face is not None and self.followed:
            return training.exit_code(self.face)
        return EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        """The JSON the command line prints with ``--format json``."""
        return {"face_id": self.face_id, "status": self.status,
                "stage": self.face.stage if self.face is not None else None,
                "finetune_status": self.face.finetune_status if self.face is not None else None,
                "object": self.object, "request": self.request, "stopped": self.stopped,
                "existing": self.existing, "dry_run": self.dry_run}


def submit(source: str | Path, opts: SubmitOptions, conn: Connection, s3: Any = None) -> SubmitOutcome:
    """Check ``source`` (a local file, ``s3://BUCKET/KEY`` or an ``https://`` link) and create a Tavus
    face from it. Mistakes in the call (options, a bucket, credentials, the API key, a voice) raise a
    PreflightError; a file that cannot be used, fails its check or Tavus's image check comes back as an
    outcome that says so."""
    text = str(source)
    remote_source = isinstance(source, str) and is_remote(source)
    expires_s = _expires(opts, needed=not remote_source or text.lower().startswith("s3://"))
    staged, fixed = _staged(source, remote_source, opts, expires_s, s3)
    outcome, staged = _checked(staged, opts, fixed)
    if outcome.stopped is not None:
        return outcome
    kind = outcome.kind or "video"
    with TavusClient(conn.api_key, conn.base_url, timeout=opts.timeout_s) as api:
        api.check_key()  # one cheap authenticated request: a wrong key stops here, before any upload
        voice = _checked_voice(api, kind, opts)
        outcome = _tavus_image_check(api, kind, staged, outcome, opts)
        if outcome.stopped is not None:
            return outcome
        name = opts.name or staged.name
        folder = opts.state_dir or state_dir()
        journal = Journal.in_dir(folder, legacy_state_dirs() if opts.state_dir is None else [])
        sha = file_hash(staged.path) if staged.path is not None else None
        plan = _Plan(kind, name, voice, sha, expires_s,
                     entry_key(sha or remote_identity(_remote(staged)), name, opts.model, remote=sha is None))
        # "is there a face already / mark pending / create it" as one decision under this key's lock:
        # two identical submits at once (a client's retry, two workers) make one face, the second finds it
        with journal.deciding(plan.key):
            outcome = _create_once(api, journal, plan, staged, outcome, opts, s3)
    return _followed(outcome, conn, opts, journal)


@dataclass(frozen=True)
class _Plan:
    """What a face will be made of, once the checks passed."""

    kind: Kind
    name: str
    voice: str | None
    sha: str | None  # a local file's SHA-256 (an upload's object name)
    expires_s: int
    key: str  # the journal's


def _staged(source: str | Path, remote_source: bool, opts: SubmitOptions, expires_s: int,
            s3: Any) -> tuple[Staged, FixRun | None]:
    """The source as it will reach Tavus, fixed first with ``opts.fix``."""
    if remote_source:
        if opts.fix:
            raise UsageError("--fix works on local files; fix the file, then submit it (or its new copy)")
        return _stage_remote(str(source), opts, expires_s, s3), None
    path = Path(source)
    if not opts.bucket:
        raise UsageError("no bucket: pass --bucket or set PREFLIGHT_BUCKET")
    fixed = None
    if opts.fix:
        fixed = fix_isolated(path, FixOptions(rules=None if opts.model == "phoenix-4" else opts.model))
        path = fixed.written or path
    return Staged(str(path), path.stem, path=path), fixed


def _tavus_image_check(api: TavusClient, kind: str, staged: Staged, outcome: SubmitOutcome,
                       opts: SubmitOptions) -> SubmitOutcome:
    """An image's outcome with Tavus's own image check (stopped when it does not pass)."""
    if kind != "image" or not opts.tavus_validation:
        return outcome
    data = staged.path.read_bytes() if staged.path is not None else read_image(_remote(staged))
    validation = api.validate_image(data, opts.model)
    outcome = replace(outcome, validation=validation, check=_with_tavus(outcome.check, validation, opts))
    if not validation.passed:
        return replace(outcome, stopped="tavus_image", message=f"Tavus's image check ({opts.model}) did not pass")
    return outcome


def _create_once(api: TavusClient, journal: Journal, plan: _Plan, staged: Staged, outcome: SubmitOutcome,
                 opts: SubmitOptions, s3: Any) -> SubmitOutcome:
    """The face an earlier submit made, or a new one (uploaded first, recorded pending, then created);
    a dry run stops before anything is sent. Called under the journal key's lock."""
    known = None if opts.resubmit else known_face(api, journal, plan.key, plan.name, opts.model)
    if known is not None:
        return replace(outcome, face=known, existing=True, message="this file, name and model made that face before")
    if staged.path is not None:
        assert plan.sha is not None
        url, object_url = _upload(staged.path, plan.sha, opts, plan.expires_s, s3)
        if url is None:
            shown_url = f"<presigned GET of {object_url}, valid {opts.expires}>"
            return replace(outcome, dry_run=True, object=object_url,
                           request=redact.request(_body(plan.kind, shown_url, plan.name, plan.voice, opts)))
    else:
        url, object_url = _remote(staged).url, None
        if opts.dry_run:
            return replace(outcome, dry_run=True,
                           request=redact.request(_body(plan.kind, url, plan.name, plan.voice, opts)))
    body = _body(plan.kind, url, plan.name, plan.voice, opts)
    shown = redact.request(body)
    journal.put(plan.key, {"state": "pending", "at": now(), "request": shown})
    face = api.create_face(body)
    journal.put(plan.key, {"state": "created", "face_id": face.face_id, "at": now(), "request": shown})
    return replace(outcome, face=face, request=shown, object=object_url)


def _expires(opts: SubmitOptions, *, needed: bool) -> int:
    """The presigned URL's lifetime in seconds, checked before any upload (--dry-run included)."""
    expires_s = parse_duration(opts.expires)
    if needed and not MIN_VALID_S <= expires_s <= MAX_VALID_S:
        raise UsageError(f"--expires {opts.expires}: a presigned URL for Tavus must be valid from 24h (Tavus "
                         "downloads it later) to 7d (the most S3 signs); e.g. --expires 24h or 3d")
    return expires_s


def _stage_remote(text: str, opts: SubmitOptions, expires_s: int, s3: Any) -> Staged:
    if text.lower().startswith("s3://") and opts.url_guard is not None:
        refusal = opts.url_guard.s3_refusal(text)
        if refusal is not None:
            raise UsageError(refusal)
    if text.lower().startswith("s3://"):
        bucket, _, key = text[5:].partition("/")
        if not bucket or not key or key.endswith("/"):
            raise UsageError(f"{text}: submit takes one object, s3://BUCKET/KEY")
        client = s3 if s3 is not None else s3_upload.client(opts.s3_endpoint)
        url = presign(client, bucket, key, expires_s, s3_upload.credentials(client))
        remote = Remote(url, text, (bucket, key))
    else:
        try:
            (remote,) = expand(text)
        except UsageError as err:
            raise UsageError(f"{redact.url(text)}: {err}") from None
    return Staged(remote.shown, Path(remote.name).stem, remote=remote)


def _remote(staged: Staged) -> Remote:
    assert staged.remote is not None
    return staged.remote


def _checked(staged: Staged, opts: SubmitOptions, fixed: FixRun | None) -> tuple[SubmitOutcome, Staged]:
    """The source judged by the rule set of a submit to this model (images: with Tavus's image fixer's
    relaxation when asked); an outcome that stops here when it cannot be used or fails."""
    choose = model_chooser(opts.model, auto_fix_image=opts.auto_fix_image)
    if staged.path is not None:
        checked = check_cached(staged.path, choose(staged.path, sniff(staged.path).kind))
    else:
        copies = opts.copies
        if opts.url_guard is not None and copies is None:
            raise UsageError("a guarded submit needs a folder for the link's copy (SubmitOptions.copies)")
        checked, inspected = check_remote(_remote(staged), choose, guard=opts.url_guard, copies=copies)
        staged = replace(staged, remote=inspected)
    kind: Kind | None = "image" if checked.kind == "image" else "video" if checked.kind == "video" else None
    outcome = SubmitOutcome(staged.shown, staged.local, kind, checked, fixed=fixed)
    if checked.verdict == "error":
        return replace(outcome, stopped="unusable", message=f"{staged.shown}: {checked.error}"), staged
    if not staged.local and any(f.rule.startswith("url.") and f.fails_at("error") for f in checked.findings):
        return replace(outcome, stopped="link",
                       message="Tavus could not download this link (--force does not change that)"), staged
    if checked.verdict != "pass" and not opts.force:
        return replace(outcome, stopped="check", message="the check fails"), staged
    return outcome, staged


def _with_tavus(checked: FileResult | None, validation: ImageValidation, opts: SubmitOptions) -> FileResult | None:
    """The check's result with Tavus's verdict as its ``tavus.image_validation`` finding."""
    if checked is None:
        return None
    ruleset = model_chooser(opts.model, auto_fix_image=opts.auto_fix_image)(None, "image")
    return with_finding(checked, validation, opts.model, ruleset, "error")


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


def _upload(path: Path, sha: str, opts: SubmitOptions, expires_s: int, s3: Any) -> tuple[str | None, str]:
    """Upload the file and presign it; (None, where it would go) for a dry run. The credentials are
    checked before any byte is sent, a dry run included; the presigned URL is fetched once, as Tavus
    will, and compared with the file."""
    key = s3_upload.object_key(opts.prefix, sha, path)
    where = f"s3://{opts.bucket}/{key}"
    client = s3 if s3 is not None else s3_upload.client(opts.s3_endpoint)
    check_credentials(s3_upload.credentials(client), expires_s)
    if opts.dry_run:
        return None, where
    progress = opts.upload_progress(path.stat().st_size) if opts.upload_progress is not None else None
    s3_upload.Uploader(client, opts.state_dir or state_dir()).upload(path, opts.bucket, opts.prefix, sha, progress)
    url = presign(client, opts.bucket, key, expires_s, s3_upload.credentials(client))
    verify(url, path)
    return url, where


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


def _followed(outcome: SubmitOutcome, conn: Connection, opts: SubmitOptions, journal: Journal) -> SubmitOutcome:
    """With ``wait``, the face followed to the end of its training (phoenix-4.5: of its tuning)."""
    if not opts.wait or outcome.face is None:
        return outcome
    face = training.follow(conn, outcome.face.face_id, wait=True, bar=opts.status_bar, journal=journal)
    return replace(outcome, face=face, followed=True)
