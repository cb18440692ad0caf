"""Batch checks in worker processes: the same report as one at a time, in the given order; a worker
that dies costs only its own files; the worker count respects cores, files and memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from preflight import batch
from preflight.cli import main
from tests.conftest import IMAGE_FILES_ONLY
from tests.media_factory import VideoSpec, make_image, make_video


def test_parallel_report_equals_the_serial_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(make_video(tmp_path / "a.mp4", VideoSpec(seconds=1.5))),
             str(make_image(tmp_path / "b.png", size=(300, 300))),
             str(make_video(tmp_path / "c.mov", VideoSpec(seconds=1.0, width=640, height=360))),
             str(make_image(tmp_path / "d.jpg"))]
    reports = []
    for jobs in ("1", "3"):
        code = main(["check", "--no-cache", "-j", jobs, "--rules", IMAGE_FILES_ONLY, "--format", "json", *files])
        reports.append((code, json.loads(capsys.readouterr().out)))
    (code1, serial), (code3, parallel) = reports
    assert code1 == code3 == 1
    assert [r["path"] for r in parallel["results"]] == files
    for a, b in zip(serial["results"], parallel["results"]):
        assert (a["verdict"], a["facts"], a["findings"]) == (b["verdict"], b["facts"], b["findings"])


def _work(n: int) -> int:
    if n == 2:
        os._exit(3)  # a crash in native code looks like this to the parent: the process is gone
    return n * 10


def test_a_dead_worker_costs_only_unfinished_files() -> None:
    results = dict(batch.run_parallel(_work, [1, 2, 3, 4], workers=1, crashed=lambda n: -n))
    assert set(results) == {1, 2, 3, 4}
    assert results[1] == 10 and results[2] == -2  # what finished before the crash is kept


def test_worker_count_is_bounded_by_files_cores_and_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "cores", lambda: 8)
    monkeypatch.setattr(batch, "available_memory", lambda: 64 * batch.PER_WORKER_BYTES)
    assert batch.worker_count(None, 3) == 3
    assert batch.worker_count(None, 100) == 8
    assert batch.worker_count(2, 100) == 2
    monkeypatch.setattr(batch, "available_memory", lambda: 3 * batch.PER_WORKER_BYTES + 1)
    assert batch.worker_count(None, 100) == 3
    monkeypatch.setattr(batch, "available_memory", lambda: 100)
    assert batch.worker_count(None, 100) == 1
