"""What a worker process does for one job: everything through the run layer, nothing printed.

A check job gives the ``preflight.report/1`` document of its one file (the same verdict and findings
``preflight check --format json`` gives), under the name the caller gave, and its HTML report. A face
job runs the submit pipeline. Both run in the crash-isolation pool under the time limit ``time_limit``
gives: a hung analysis ends its worker, which costs only this job. Every link (a check's, a face's, an
image read) goes through the URL guard, and an ``s3://`` address only to a bucket the server allows.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from preflight.run.pool import already_isolated


def warm_up() -> int:
    """Check a tiny picture and a tiny clip once per worker process, at start-up, so that what an
    analysis loads on first use (PyAV, OpenCV, the face detectors and landmark models, the rule sets)
    is loaded before the first job: measured, a worker's first headshot took 1.4 s instead of 0.1 s."""
    import os
    import tempfile

    import av
    import numpy as np
    from PIL import Image

    from preflight.run.check_run import CheckOptions, build_report

    with tempfile.TemporaryDirectory(prefix="preflight-warm-") as tmp:
        picture = Path(tmp) / "warm.jpg"
        Image.new("RGB", (96, 96), (120, 100, 90)).save(picture)
        clip = Path(tmp) / "warm.mp4"
        with av.open(str(clip), "w") as out:
            stream = out.add_stream("mpeg4", rate=10)
            stream.width = stream.height = 96
            stream.pix_fmt = "yuv420p"
            for i in range(10):
                frame = av.VideoFrame.from_ndarray(np.full((96, 96, 3), 20 * i, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        for path in (picture, clip):  # one at a time: a single file is checked in this process itself
            build_report([path], CheckOptions(cache=False))
    return os.getpid()


def time_limit(kind: str, source: str, remote: bool) -> float:
    """How long one job may run before its worker is ended as hung: the batch's limit for the file
    (a link: for the longest link Tavus takes), and for a face the upload and Tavus's answers on top."""
    from preflight.run import batch

    # a link's length is not known before it is fetched: the limit of the longest link Tavus takes
    limit = batch.seconds_for_link(None) if remote else batch.seconds_for(Path(source))
    if kind == "take":  # fixed, then checked: the check's limit twice, the encode on top
        return 2 * limit + TAKE_EXTRA_S
    return limit + (FACE_EXTRA_S if kind == "face" else 0.0)


FACE_EXTRA_S = 900.0  # a 750 MB upload at ~1 MB/s, the presign check and Tavus's API calls
TAKE_EXTRA_S = 300.0  # a take's fix (an encode) on top of its check


def run_check(source: str, remote: bool, name: str, params: dict[str, Any], copies: str) -> dict[str, Any]:
    from preflight.model.report import Report
    from preflight.render import html
    from preflight.render.options import RenderOptions
    from preflight.run.check_run import CheckOptions, build_report

    options = CheckOptions(rules=params.get("rules"), quick=bool(params.get("quick")), url_guard=_guard(params),
                           copies=Path(copies))
    target: Path | str = source if remote else Path(source)
    with already_isolated():  # a pool's worker or a Dask worker: measured here, not in a nested pool
        report = build_report([target], options)
    if len(report.results) != 1:
        raise RuntimeError(f"the check gave {len(report.results)} results for one input")
    shown = shown_as(report.results[0], source, name)
    one = Report([shown], report.fail_level)
    return {"verdict": shown.verdict, "report": json.loads(one.to_json()),
            "html": html.render(one, RenderOptions()), "internal": shown.internal, "traceback": shown.traceback}


def _guard(params: dict[str, Any]) -> Any:
    from preflight.remote.guard import UrlGuard

    return UrlGuard(allow=tuple(params.get("allow", ())), max_bytes=int(params["max_bytes"]),
                    s3_buckets=tuple(params.get("s3_buckets", ())))


def shown_as(result: Any, source: str, name: str) -> Any:
    """A result under the caller's name: the server's own path of the spooled file appears nowhere in
    it (not as its path, not inside its error message)."""
    from preflight.model.report import FileResult

    assert isinstance(result, FileResult)
    error = result.error.replace(source, name) if result.error else result.error
    return replace(result, path=name, error=error)


def run_face(source: str, remote: bool, name: str, params: dict[str, Any], api_key: str, api_url: str,
             copies: str) -> dict[str, Any]:
    from preflight.api.connection import Connection
    from preflight.run.submit import SubmitOptions, submit

    options = SubmitOptions(**params["submit"], url_guard=_guard(params), copies=Path(copies))
    target: Path | str = source if remote else Path(source)
    with already_isolated():
        outcome = submit(target, options, Connection(api_key, api_url))
    check = outcome.check.to_dict() if outcome.check is not None else None
    if check is not None:
        check["path"] = name
        if check.get("error"):
            check["error"] = str(check["error"]).replace(source, name)
    message = outcome.message.replace(source, name)
    return {"verdict": "pass" if outcome.face is not None else (outcome.stopped or "error"),
            "face": outcome.to_dict(), "check": check, "message": message}


def run_take(source: str, params: dict[str, Any], api_key: str, api_url: str) -> dict[str, Any]:
    """A recorded take: fixed into an H.264/AAC MP4 beside it, checked, and, when its capture session
    allows a submit, sent through the submit pipeline (the outcome in ``submitted``): the pipeline
    checks the fixed take again and stops there when it fails, so nothing failing is uploaded."""
    from preflight.serve.work.take import finish_take, submit_fixed

    with already_isolated():
        done = finish_take(Path(source), str(params["rules"]))
        results = done["report"].get("results") or [{}]
        verdict = str(results[0].get("verdict") or "error")
        done["verdict"] = verdict
        if params.get("submit") is not None and done.get("fixed"):
            from preflight.api.connection import Connection

            done["submitted"] = submit_fixed(Path(done["fixed"]), str(params["rules"]), params["submit"],
                                             Connection(api_key, api_url))
    return done
