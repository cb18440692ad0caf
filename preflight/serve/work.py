"""What a worker process does for one job: everything through the run layer, nothing printed.

A check job gives the ``preflight.report/1`` document of its one file (the same verdict and findings
``preflight check --format json`` gives), under the name the caller gave, and its HTML report. A face
job runs the submit pipeline. Both run under a time limit: a hung analysis ends its worker, which
costs only this job.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any


LINK_LIMIT_S = 2 * (120.0 + 750)  # batch.seconds_for of a 750 MB link: read as it is decoded, so twice


def warm_up() -> int:
    """Check a tiny picture and a tiny clip once per worker process, at start-up, so that what an
    analysis loads on first use (PyAV, OpenCV, the face detectors and landmark models, the rule sets)
    is loaded before the first job: measured, a worker's first headshot took 1.4 s instead of 0.1 s."""
    import os
    import tempfile

    import av
    import numpy as np
    from PIL import Image

    from preflight.run.checks import CheckOptions, build_report

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


def run_check(source: str, remote: bool, name: str, params: dict[str, Any], copies: str) -> dict[str, Any]:
    from preflight.remote.guard import UrlGuard
    from preflight.render import html
    from preflight.render.options import RenderOptions
    from preflight.report import Report
    from preflight.run import batch
    from preflight.run.checks import CheckOptions, build_report

    guard = UrlGuard(allow=tuple(params.get("allow", ())), max_bytes=int(params.get("max_bytes", 750_000_000)))
    options = CheckOptions(rules=params.get("rules"), quick=bool(params.get("quick")), url_guard=guard,
                           copies=Path(copies))
    target: Path | str = source if remote else Path(source)
    if params.get("time_limit", True):  # not on Dask: its worker processes are Dask's own
        # a link's length is not known before it is fetched: the limit of the longest link Tavus takes
        limit = batch.seconds_for(Path(source)) if not remote else LINK_LIMIT_S
        with batch.time_limit(limit):
            report = build_report([target], options)
    else:
        report = build_report([target], options)
    if len(report.results) != 1:
        raise RuntimeError(f"the check gave {len(report.results)} results for one input")
    shown = replace(report.results[0], path=name)
    one = Report([shown], report.fail_level)
    return {"verdict": shown.verdict, "report": json.loads(one.to_json()),
            "html": html.render(one, RenderOptions()), "internal": shown.internal, "traceback": shown.traceback}


def run_face(source: str, remote: bool, name: str, params: dict[str, Any], api_key: str, api_url: str) -> dict[str, Any]:
    from preflight.api.connection import Connection
    from preflight.run.submit import SubmitOptions, submit

    options = SubmitOptions(**params["submit"])
    target: Path | str = source if remote else Path(source)
    outcome = submit(target, options, Connection(api_key, api_url))
    check = outcome.check.to_dict() if outcome.check is not None else None
    if check is not None:
        check["path"] = name
    return {"verdict": "pass" if outcome.face is not None else (outcome.stopped or "error"),
            "face": outcome.to_dict(), "check": check, "message": outcome.message}
