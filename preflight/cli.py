"""The command line: parses arguments, hands typed values to ``commands/``, maps errors to exit codes."""

from __future__ import annotations

import gc
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from preflight.version import __version__
from preflight.api import DEFAULT_URL
from preflight.api.connection import Connection
from preflight.commands import check as check_cmd
from preflight.errors import EXIT_INTERRUPTED, EXIT_UNUSABLE, PreflightError, UsageError
from preflight.inputs.project import LfsPolicy
from preflight.remote.source import Remote, is_remote
from preflight.render.formats import RENDERERS
from preflight.render.options import RenderOptions

# The other commands' modules are imported in their functions: `check` served from the cache should
# not pay for loading the API client, S3 or the transcoder.

CHECK_EXAMPLES = """\b
Examples:
  preflight check training.mp4              # a Phoenix-4 training video
  preflight check headshot.jpg              # a headshot for image training
  preflight check media/ --rules phoenix-3  # every video and image under media/
  preflight check clip.mp4 --format json -o report.json
  preflight check clip.mp4 --rules my-rules.toml --fail-level warning
  preflight check media/ --report report.html  # a visual report: frames, face boxes, timelines
  preflight check faces/ --format compact      # one line per problem (the pre-commit hook's format)
  preflight check https://cdn.example.com/take3.mp4   # a link, checked as Tavus will download it
  preflight check s3://my-bucket/training/ --quick    # every media object under an S3 prefix
  preflight check s3://studio/library/ --scheduler tcp://10.0.0.5:8786   # on a Dask cluster

\b
Settings for a media repository (rule sets per path, excludes, Git LFS pointers) are read from the
nearest preflight.toml or [tool.preflight] in pyproject.toml; see the README. Results are cached in
the user's cache directory by file content, rule set and version; --no-cache ignores the cache.

\b
Exit codes: 0 every file passes, 1 a file fails a rule at --fail-level,
2 usage error or a file that cannot be read at all.
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="preflight")
def cli() -> None:
    """Check Tavus face-training media locally, before you upload it.

    Run `preflight check FILE...` on a training video or headshot image; `preflight rules`
    lists the rule sets and what they check. `preflight record` guides a take in the browser;
    `preflight serve` offers the checks over HTTP; `preflight submit` sends a file to Tavus.
    """


@cli.command(epilog=CHECK_EXAMPLES)
@click.argument("paths", nargs=-1, required=True, metavar="PATHS_OR_URLS...")
@click.option("--rules", metavar="NAME|FILE",
              help="Rule set: a built-in name (phoenix-4, phoenix-4.5, phoenix-3, image) or a TOML file. "
                   "Default: phoenix-4 for videos, image for images.")
@click.option("--format", "fmt", type=click.Choice(list(RENDERERS)), default="text", show_default=True,
              help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report to this file (the terminal still gets a text summary).")
@click.option("--report", "html", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.html",
              help="Also write a self-contained visual HTML report (frames with face boxes, timelines).")
@click.option("--fail-level", type=click.Choice(["error", "warning"]),
              help="Lowest severity that fails a file.  [default: error, or the project's fail-level]")
@click.option("--quick", is_flag=True, help="Metadata and key frames only: skip the end-to-end decode (several times faster).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), metavar="N",
              help="Files checked at once, in worker processes.  [default: one per core, fewer if memory is short]")
@click.option("--no-cache", "no_cache", is_flag=True, help="Analyse every file again; neither read nor write the cache.")
@click.option("--config", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Project settings file (default: the nearest preflight.toml or pyproject.toml [tool.preflight]).")
@click.option("--lfs-pointers", type=click.Choice(["fail", "skip"]),
              help="What a Git LFS pointer file (media not fetched) does to the run.  [default: fail, or the project's]")
@click.option("--tavus", "tavus", is_flag=True,
              help="Images: also run Tavus's own image check (needs TAVUS_API_KEY; sends each image to Tavus).")
@click.option("--scheduler", envvar="PREFLIGHT_SCHEDULER", metavar="ADDRESS",
              help="Run the checks on a Dask cluster (tcp://HOST:8786; needs avatar-preflight[dask]). Workers must reach "
                   "the files: URLs, s3://, or the same paths on a shared file system.")
@click.option("--public-urls-only", is_flag=True,
              help="Refuse links to loopback, private, link-local and other non-public addresses (checked before "
                   "connecting, and at every redirect), as `preflight serve` does; links are read through a local copy.")
@click.option("-q", "--quiet", is_flag=True, help="Only show files that fail; no progress bar.")
@click.option("-v", "--verbose", is_flag=True, help="Also list the rules that passed.")
@click.option("--api-url", metavar="URL", help=f"With --tavus: API base URL (default: $TAVUS_API_URL or {DEFAULT_URL}).")
def check(paths: tuple[str, ...], rules: str | None, fmt: str, output: Path | None, html: Path | None,
          fail_level: str | None, quick: bool, jobs: int | None, no_cache: bool, config: Path | None,
          lfs_pointers: LfsPolicy | None, tavus: bool, scheduler: str | None, public_urls_only: bool, quiet: bool,
          verbose: bool, api_url: str | None) -> int:
    """Check training videos and headshot images against a rule set.

    PATHS_OR_URLS are files, directories (walked for video and image files), https:// links, and
    s3://BUCKET/KEY objects or s3://BUCKET/PREFIX/ prefixes (every media object under it; AWS
    credentials as for submit). A link is checked the way Tavus will download it (url.* rules) and
    read without a full download.
    """
    render = RenderOptions(color=_color(sys.stdout), quiet=quiet, verbose=verbose)
    options = check_cmd.CheckOptions(rules, fail_level, quick, config, lfs_pointers, cache=not no_cache, jobs=jobs,
                                     tavus=_connection(api_url) if tavus else None, scheduler=scheduler,
                                     url_guard=_url_guard() if public_urls_only else None)
    out = check_cmd.Output(fmt, output, html, render)
    show = not quiet and sys.stderr.isatty()
    if not gc.get_freeze_count():  # once: the collector need not walk the start-up objects again (~1.5 %)
        gc.freeze()
    inputs: list[Path | str] = [p if is_remote(p) else Path(p) for p in paths]
    return check_cmd.run(inputs, options, out, lambda s: click.echo(s, nl=False, color=render.color),
                         _ProgressBar.decoding if show else None, _ProgressBar.files if show else None)


@cli.command(epilog="""\b
Examples:
  preflight fix phone.mov                 # writes phone.fixed.mp4 beside it
  preflight fix headshot.png -o ok.jpg
  preflight fix clip.mp4 --dry-run        # show the plan only

\b
Exit codes: 0 the fixed file passes, 1 problems remain that no fix covers
(listed: they need a new recording), 2 bad input or usage.
""")
@click.argument("src", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the fixed file (default: INPUT.fixed.mp4 / .jpg beside it).")
@click.option("--rules", metavar="NAME|FILE", help="Rule set to check against (as for check).")
@click.option("--dry-run", is_flag=True, help="Show the plan; write nothing.")
def fix(src: Path, output: Path | None, rules: str | None, dry_run: bool) -> int:
    """Write a fixed copy of a video or headshot: re-encode, turn upright, constant frame rate,
    normalise loudness, flatten and reframe images. Never touches INPUT; never generative.
    """
    from preflight.commands import fix as fix_cmd

    progress = _ProgressBar if sys.stderr.isatty() else None
    return fix_cmd.run(src, fix_cmd.FixOptions(output, rules, dry_run, progress), lambda s: click.echo(s, nl=False))


class _Named(click.ParamType[str, Any]):
    """A model, or a video rule set, as the rule files name them (read when the option is used)."""

    def __init__(self, what: str) -> None:
        self.name = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from preflight.judge.ruleset import models

        known = models() if self.name == "model" else {v: v for v in models().values()}
        if value not in known:
            self.fail(f"{value!r} is not a {self.name}: use one of {', '.join(known)}", param, ctx)
        return str(value)


def _url_guard() -> Any:
    from preflight.judge.ruleset import max_upload_bytes
    from preflight.remote.guard import UrlGuard

    return UrlGuard(max_bytes=max_upload_bytes())


def _connection(api_url: str | None) -> Connection:
    from preflight.run.environment import from_environment

    setup = from_environment(api_url=api_url)
    if not setup.has_key:
        raise UsageError("TAVUS_API_KEY is not set: export your key from the Tavus Developer Portal (API Keys)")
    return setup.connection


_api_url = click.option("--api-url", metavar="URL", help=f"API base URL (default: $TAVUS_API_URL or {DEFAULT_URL}).")


@cli.command()
@click.argument("face_id")
@click.option("--wait", is_flag=True, help="Poll (politely, with backoff) until training completes or fails "
              "(phoenix-4.5: until tuning completes or fails).")
@_api_url
def status(face_id: str, wait: bool, api_url: str | None) -> int:
    """Show a face's training status (needs TAVUS_API_KEY).

    A phoenix-4.5 face is `completed` once its watermarked preview is ready; tuning then goes on
    (finetune_status), and --wait follows it to the end. Exit 0 while training or when done, 1 when
    training failed or (phoenix-4.5) tuning failed (the preview stays usable).
    """
    from preflight.commands import api as api_cmd

    bar = _TrainingBar(face_id) if wait and sys.stderr.isatty() else None
    return api_cmd.status(_connection(api_url), face_id, wait, lambda s: click.echo(s, nl=False), bar=bar)


@cli.command()
@click.option("--search", metavar="TEXT", help="Only voice names containing TEXT (case-insensitive).")
@_api_url
def voices(search: str | None, api_url: str | None) -> int:
    """List the stock voice names usable as --voice-name for image training (needs TAVUS_API_KEY)."""
    from preflight.commands import api as api_cmd

    return api_cmd.voices(_connection(api_url), search, lambda s: click.echo(s, nl=False))


@cli.command(epilog="""\b
Examples:
  export TAVUS_API_KEY=... PREFLIGHT_BUCKET=my-bucket
  preflight submit training.mp4 --name "Ana"          # check, upload, create the face
  preflight submit headshot.jpg --voice-name anna --auto-fix-image
  preflight submit training.mp4 --dry-run             # everything but the upload and the POST
  preflight submit https://cdn.example.com/take3.mp4  # already online: checked, then sent as it is
  preflight submit s3://my-bucket/takes/take3.mp4     # already in S3: presigned (--expires), not uploaded
""")
@click.argument("src", metavar="FILE|URL")
@click.option("--name", help="The face's name (default: the file name). Keep it short and plain ASCII.")
@click.option("--model", type=_Named("model"), default="phoenix-4", show_default=True,
              help="The Tavus model (the rule files name them: phoenix-4, phoenix-4.5, phoenix-3).")
@click.option("--voice-name", metavar="SLUG", help="A stock voice (required for images; see `preflight voices`).")
@click.option("--auto-fix-image", is_flag=True, help="Ask Tavus to fix the image's framing (framing errors become warnings).")
@click.option("--callback-url", metavar="URL", help="Tavus calls this URL when training ends.")
@click.option("--property", "properties", multiple=True, metavar="K=V", help="Extra properties, e.g. background_green_screen=true.")
@click.option("--bucket", envvar="PREFLIGHT_BUCKET", help="S3 bucket (default: $PREFLIGHT_BUCKET).")
@click.option("--prefix", default="preflight", show_default=True, help="Key prefix inside the bucket.")
@click.option("--s3-endpoint", envvar="PREFLIGHT_S3_ENDPOINT", metavar="URL", help="An S3-compatible endpoint.")
@click.option("--expires", default="24h", show_default=True, help="Presigned URL lifetime, 24h to 7d.")
@click.option("--wait", is_flag=True, help="Follow training until it completes or fails.")
@click.option("--force", is_flag=True, help="Submit even if the check fails.")
@click.option("--resubmit", is_flag=True,
              help="Create another face even though this file, name and model made one before (billed again).")
@click.option("--skip-tavus-validation", is_flag=True,
              help="Images: do not run Tavus's own image check (POST /v2/faces/image-validation) first.")
@click.option("--dry-run", is_flag=True, help="Do everything but the upload and the POST; print the request.")
@click.option("--fix", "fix_first", is_flag=True, help="Run `preflight fix` first and upload the fixed file.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@_api_url
def submit(src: str, name: str | None, model: str, voice_name: str | None, auto_fix_image: bool,
           callback_url: str | None, properties: tuple[str, ...], bucket: str | None, prefix: str,
           s3_endpoint: str | None, expires: str, wait: bool, force: bool, resubmit: bool,
           skip_tavus_validation: bool, dry_run: bool, fix_first: bool,
           fmt: str, api_url: str | None) -> int:
    """Check FILE, upload it to S3, and create a Tavus face from a presigned URL (needs TAVUS_API_KEY
    and AWS credentials from boto3's usual places). An https:// URL or an s3:// object is checked where
    it is and submitted without an upload."""
    from preflight.commands import submit as submit_cmd

    conn = _connection(api_url)
    options = submit_cmd.SubmitOptions(
        bucket=bucket or "", name=name, model=model, voice_name=voice_name, auto_fix_image=auto_fix_image,
        callback_url=callback_url, properties=_properties(properties), prefix=prefix, expires=expires, wait=wait,
        force=force, resubmit=resubmit, dry_run=dry_run, tavus_validation=not skip_tavus_validation,
        s3_endpoint=s3_endpoint, fix=fix_first,
        upload_progress=_upload_bar if sys.stderr.isatty() else None,
        status_bar=_TrainingBar("training") if wait and sys.stderr.isatty() else None)
    source = src if is_remote(src) else Path(src)
    return submit_cmd.run(source, options, conn, lambda s: click.echo(s, nl=False), fmt)


def _upload_bar(total: int) -> Callable[[int], None]:
    bar: Any = click.progressbar(length=total, label="uploading", file=sys.stderr, width=30)
    bar.__enter__()
    sent = [0]

    def update(n: int) -> None:
        bar.update(n)
        sent[0] += n
        if sent[0] >= total:
            bar.__exit__(None, None, None)
    return update


def _properties(pairs: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--property {pair!r}: expected KEY=VALUE")
        out[key] = {"true": True, "false": False}.get(value.lower(), value)
    return out


class _TrainingBar:
    """Training progress (0-100 %) on stderr while a face is followed; drawn from its first update."""

    def __init__(self, label: str) -> None:
        self.label = f"training {label}"
        self.bar: Any = None
        self.done = 0

    def update(self, percent: float) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=100, label=self.label, file=sys.stderr, width=30, show_eta=False)
            self.bar.__enter__()
        step = int(percent) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@cli.command(epilog="""\b
Examples:
  preflight serve                                   # http://127.0.0.1:8000, loopback only
  PREFLIGHT_SERVE_TOKEN=... preflight serve --host 0.0.0.0 --port 8080 --allow-host checks.example.com
  curl --data-binary @take.mp4 'http://127.0.0.1:8000/v1/checks?name=take.mp4&wait=true'
  curl -H 'content-type: application/json' -d '{"url": "https://cdn.example.com/take.mp4"}' \\
       http://127.0.0.1:8000/v1/checks
  PREFLIGHT_SERVE_SECRET=... PREFLIGHT_SERVE_TOKEN=... preflight serve --host 0.0.0.0 \\
       --database postgresql://preflight@db:5432/preflight --blobs s3://media/preflight   # one of many nodes

\b
The API is described at /openapi.json; see the README's "As a service".
""")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; other than loopback only with PREFLIGHT_SERVE_TOKEN set.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--data", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Jobs (SQLite) and spooled uploads.  [default: the state folder's serve/]")
@click.option("--max-upload-mb", type=click.IntRange(min=1),
              help="Largest body accepted; larger ones get 413.  [default: Tavus's limit, the rule set's file.size: "
                   "750 MB]")
@click.option("--allow-private-urls", is_flag=True,
              help="Fetch links (and callbacks) to loopback and private networks: for a trusted network only.")
@click.option("--scheduler", metavar="ADDRESS", help="Run the jobs on a Dask cluster (tcp://HOST:8786).")
@click.option("--workers", type=click.IntRange(min=1), help="Analyses at once.  [default: one per core]")
@click.option("--guidance-workers", type=click.IntRange(min=1),
              help="Guidance frames analysed at once (a pool of their own).  [default: one per core]")
@click.option("--max-queue", default=64, show_default=True, type=click.IntRange(min=1),
              help="Jobs waiting beyond this get 429 with Retry-After.")
@click.option("--keep-hours", default=24.0, show_default=True, type=click.FloatRange(min=0),
              help="Finished jobs and their files are removed after this long.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Answer requests whose Host is NAME (a proxy's public name), besides the address listened "
                   "on; repeatable. Others get 403.")
@click.option("--allow-s3-bucket", "allow_s3_buckets", multiple=True, metavar="NAME",
              help="Read s3://NAME/… addresses callers send, with this server's AWS credentials; repeatable. "
                   "None by default: s3:// from callers is refused.")
@click.option("--max-spool-gb", default=20.0, show_default=True, type=click.FloatRange(min=0.001),
              help="Uploads waiting and arriving, together; beyond it new uploads get 507 with Retry-After.")
@click.option("--stop-grace-s", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="On SIGTERM, running jobs get this long to finish; the rest are handed back to the queue.")
@click.option("--drain-s", default=5.0, show_default=True, type=click.FloatRange(min=0),
              envvar="PREFLIGHT_SERVE_DRAIN_S",
              help="From SIGTERM, /readyz answers 503 for this long while requests are still served, so that a "
                   "load balancer stops sending before the node stops listening.")
@click.option("--database", metavar="URL", envvar="PREFLIGHT_DATABASE_URL",
              help="Where the service keeps its state: sqlite:///PATH or postgresql://USER@HOST:PORT/DB (one "
                   "database for all nodes; set PREFLIGHT_SERVE_SECRET too).  [default: SQLite under --data]")
@click.option("--database-pool", default=8, show_default=True, type=click.IntRange(min=1),
              help="Connections this node keeps to PostgreSQL at most (nodes x pool <= max_connections).")
@click.option("--blobs", metavar="s3://BUCKET/PREFIX", envvar="PREFLIGHT_BLOBS",
              help="Where uploads, takes and reports are kept: an S3 bucket every node reads "
                   "(PREFLIGHT_S3_ENDPOINT for one that is not AWS).  [default: under --data]")
@click.option("--lease-s", default=30.0, show_default=True, type=click.FloatRange(min=1),
              help="A running job's lease, renewed while it runs: a node silent this long loses its jobs to the "
                   "others.")
@click.option("--node", default="", envvar="PREFLIGHT_NODE", metavar="NAME",
              help="This node's name in the database.  [default: the host's name and the data folder's]")
def serve(host: str, port: int, data: Path | None, max_upload_mb: int, allow_private_urls: bool,
          scheduler: str | None, workers: int | None, max_queue: int, keep_hours: float,
          allow_hosts: tuple[str, ...], allow_s3_buckets: tuple[str, ...], max_spool_gb: float,
          stop_grace_s: float, drain_s: float, database: str | None, database_pool: int, blobs: str | None,
          lease_s: float, node: str, guidance_workers: int | None) -> int:
    """Serve the checks over HTTP for backends in any language (needs avatar-preflight[serve]).

    POST a file (or a JSON {"url": ...}) to /v1/checks and get the same report `preflight check
    --format json` gives. Authentication: PREFLIGHT_SERVE_TOKEN (Bearer); without it the service binds
    only to loopback. Jobs survive a restart (SQLite under --data). On many machines: every node with
    the same --database postgresql://…, --blobs s3://… and PREFLIGHT_SERVE_SECRET (README: "Run on
    many machines").
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("preflight serve needs its extra: pip install 'avatar-preflight[serve]'") from None
    from preflight.commands import serve as serve_cmd
    from preflight.state.dirs import state_dir
    from preflight.serve.config import ServeConfig

    config = ServeConfig(data=data or state_dir() / "serve", host=host, port=port,
                         token=os.environ.get("PREFLIGHT_SERVE_TOKEN") or None, max_upload_mb=max_upload_mb,
                         allow_private_urls=allow_private_urls, scheduler=scheduler, workers=workers or 0,
                         max_queue=max_queue, keep_hours=keep_hours, allow_hosts=allow_hosts,
                         allow_s3_buckets=allow_s3_buckets, max_spool_gb=max_spool_gb, stop_grace_s=stop_grace_s,
                         drain_s=drain_s, database=database or None, database_pool=database_pool, blobs=blobs or None,
                         lease_s=lease_s, node=node, guidance_workers=guidance_workers or 0)
    return serve_cmd.run(config, lambda s: click.echo(s, nl=False))


@cli.command(epilog="""\b
Examples:
  preflight record                      # opens the recorder in your browser; takes land here
  preflight record --rules phoenix-3 --out takes/
  preflight record --no-browser --port 8123   # print the address only

\b
Open the address with ?speak_s=5&listen_s=5 for a short rehearsal take.
""")
@click.option("--rules", default="phoenix-4", show_default=True, type=_Named("video rule set"),
              help="The video rule set the take is guided and checked by.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="Port on 127.0.0.1.  [default: a free one]")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where each take lands: the recording, the fixed MP4 and its report JSON.")
@click.option("--no-browser", is_flag=True, help="Only print the recorder's address.")
@click.option("--allow-private-urls", is_flag=True,
              help="Let links to check and callbacks reach loopback and private hosts (as `serve` does).")
def record(rules: str, port: int, out: Path, no_browser: bool, allow_private_urls: bool) -> int:
    """Record a training video in the browser, guided live against the rule set (needs
    avatar-preflight[serve]): framing and light hints while you frame and record, a teleprompter for
    the speaking part and a countdown for the silent part, then the fixed MP4 and its report.

    Nothing leaves this machine until you press Submit (which needs TAVUS_API_KEY and PREFLIGHT_BUCKET).
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise UsageError("preflight record needs its extra: pip install 'avatar-preflight[serve]'") from None
    from preflight.commands import record as record_cmd

    return record_cmd.run(rules, port, out, not no_browser, lambda s: click.echo(s, nl=False), allow_private_urls)


@cli.command("cache")
@click.option("--clear", is_flag=True, help="Forget every cached result.")
def cache_command(clear: bool) -> int:
    """Show where check results are cached and how many there are, or clear them.

    Results are keyed by file content, the effective rule set and the preflight version, so a stale
    result is never served; clearing is only needed to reclaim the space.
    """
    import sqlite3

    from preflight.state.cache import ResultCache
    from preflight.state.dirs import cache_dir

    folder = cache_dir()
    try:
        cache = ResultCache.open(folder)
    except (OSError, sqlite3.Error) as err:
        raise UsageError(f"the cache at {folder} cannot be opened: {err}") from None
    try:
        if clear:
            click.echo(f"cleared {cache.clear()} cached results from {folder}")
        else:
            count, size = cache.stats()
            click.echo(f"{folder}: {count} cached results, {size / 1e6:.1f} MB")
    finally:
        cache.close()
    return 0


@cli.command()
@click.argument("name", required=False, metavar="[NAME|FILE|RULE_ID]")
def rules(name: str | None) -> int:
    """List the rule sets, show one rule set's rules and thresholds, or explain one rule.

    \b
    Examples:
      preflight rules                 # the built-in rule sets
      preflight rules phoenix-3       # its rules, thresholds, fix hints and sources
      preflight rules video.fps       # what the rule checks and why
    """
    from preflight.commands import rules as rules_cmd

    click.echo(rules_cmd.show(name), nl=False)
    return 0


def _color(stream: object) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


class _ProgressBar:
    """A progress bar on stderr for long media work (decoding, encoding), shown only past a few seconds."""

    def __init__(self, label: str, unit: float = 0.1, min_total: float = 5) -> None:
        self.label = label
        self.scale = 1 / unit  # bar steps per unit of progress
        self.min_total = min_total  # shorter work gets no bar
        self.bar: Any = None
        self.done = 0

    @classmethod
    def decoding(cls, path: Path | Remote) -> _ProgressBar:
        return cls(f"decoding {path.name}")

    @classmethod
    def files(cls, count: int) -> _ProgressBar:
        return cls(f"checking {count} files", unit=1, min_total=2)

    def __call__(self, now: float, total: float | None) -> None:
        if not total or total < self.min_total:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=int(total * self.scale), label=self.label, file=sys.stderr, width=30)
            self.bar.__enter__()
        step = min(int(now * self.scale), self.bar.length) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.bar.length - self.done)
            self.bar.__exit__(None, None, None)


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the command line itself: one command, then this process exits
        from preflight.run import mode

        mode.ONE_COMMAND = True
    try:
        code = cli.main(args=list(argv) if argv is not None else None, prog_name="preflight", standalone_mode=False)
        return int(code or 0)
    except click.exceptions.Exit as exit_:
        return int(exit_.exit_code)
    except click.ClickException as err:
        err.show()
        return EXIT_UNUSABLE
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("preflight: interrupted", err=True)
        return EXIT_INTERRUPTED
    except PreflightError as err:
        click.echo(f"preflight: error: {err}", err=True)
        return err.exit_code
    except Exception as err:  # a bug: one line for the user, the traceback in a log file
        if os.environ.get("PREFLIGHT_DEBUG"):
            raise
        from preflight.state import crashlog
        from preflight.remote import redact

        log = crashlog.write(traceback.format_exc())
        where = f"details in {log}" if log is not None else "the log could not be written"
        message = redact.text(" ".join(f"{type(err).__name__}: {err}".split()))
        click.echo(f"preflight: internal error: {message} ({where}; set PREFLIGHT_DEBUG=1 to see the traceback)",
                   err=True)
        return EXIT_UNUSABLE
