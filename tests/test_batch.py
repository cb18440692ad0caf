"""Batch checks in worker processes: the same report as one at a time, in the given order; a worker
that dies costs only its own files; the worker count respects cores, files and memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from preflight.run import batch
from preflight.cli import main
from tests.conftest import IMAGE_FILES_ONLY
from tests.support.media_factory import VideoSpec, make_image, make_video


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


@pytest.mark.parametrize("workers", [1, 2])
def test_a_dead_worker_costs_only_the_file_that_killed_it(workers: int) -> None:
    """Every other file, including the one sharing the dead pool, gets its real result: only the file
    that killed a worker twice (the second time alone) is reported as crashing it."""
    results = dict(batch.run_parallel(_work, [1, 2, 3, 4, 5], workers=workers, crashed=lambda n: -n))
    assert results == {1: 10, 2: -2, 3: 30, 4: 40, 5: 50}


def _two_crashers(n: int) -> int:
    if n in (1, 3):
        os._exit(3)
    if n == 2:  # still running when a job beside it crashes
        import time

        time.sleep(1.0)
    return n * 10


def test_two_crashers_never_cost_an_innocent_job() -> None:
    """A suspect runs truly alone: nothing is started beside it. (Before the one pool, job 2, a suspect
    after job 1's crash, ran again beside job 3, the second crasher, and was blamed for both.)"""
    for _ in range(3):
        results = dict(batch.run_parallel(_two_crashers, [1, 2, 3, 4, 5], workers=2, crashed=lambda n: -n))
        assert results == {1: -1, 2: 20, 3: -3, 4: 40, 5: 50}


def _flaky(n: int) -> int:
    """Kills its worker the first time it sees job 3 (an out-of-memory kill, say), works the second."""
    marker = Path(os.environ.get("PREFLIGHT_TEST_ATTEMPTS", "/nonexistent")) / f"{n}.seen"
    if n == 3 and not marker.exists():
        marker.touch()
        os._exit(9)
    return n


def test_a_file_that_killed_one_worker_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFLIGHT_TEST_ATTEMPTS", str(tmp_path))  # a job runs in the environment it was sent from
    results = dict(batch.run_parallel(_flaky, [1, 2, 3, 4], workers=2, crashed=lambda n: -n))
    assert results == {1: 1, 2: 2, 3: 3, 4: 4}


def _hang(n: int) -> int:
    with batch.time_limit(1.0 if n == 2 else 60.0):
        if n == 2:
            import time

            time.sleep(30)  # a deadlocked decoder: the watchdog ends the worker
        return n


def test_a_hung_worker_is_ended_and_reported() -> None:
    import time

    started = time.monotonic()
    results = dict(batch.run_parallel(_hang, [1, 2, 3], workers=2, crashed=lambda n: -n))
    assert results == {1: 1, 2: -2, 3: 3}
    assert time.monotonic() - started < 20


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


ALONE = """
import json, os, signal, sys, threading, time

from preflight.run import mode, pool

mode.ONE_COMMAND = True  # as the command line sets it


def work(n):
    if n == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)  # a decoder's native crash
    if n == "hang":
        time.sleep(30)
    if n == "raise":
        raise ValueError("a bug in the work")
    bars = pool.relay_bars()
    bar = bars("decoding")
    for i in range(3):
        bar(i + 1, 3)
        time.sleep(0.15)
    bar.close()
    return {"child": os.getpid(), "parent": os.getppid(), "threads": threading.active_count()}


class Bar:
    def __init__(self, label):
        drawn.append(["open", label])

    def __call__(self, now, total):
        drawn.append(["update", now, total])

    def close(self):
        drawn.append(["close"])


out = {"forks_alone": pool.forks_alone()}
drawn = []
out["result"] = pool.run_one(work, "ok", limit_s=10, bars=lambda label: Bar(label))
out["drawn"] = drawn
for case, limit in (("crash", 10), ("hang", 1), ("raise", 10)):
    started = time.monotonic()
    try:
        pool.run_one(work, case, limit_s=limit)
        out[case] = "returned"
    except pool.Crashed:
        out[case] = "Crashed"
    except ValueError as err:
        out[case] = f"ValueError: {err}"
    out[case + "_s"] = round(time.monotonic() - started, 1)
out["me"] = os.getpid()
out["pools"] = len(pool._shared)
print(json.dumps(out))
"""


def test_one_job_of_the_command_line_runs_in_a_forked_child_and_a_crash_is_only_its_own() -> None:
    """On the command line (one command, no other thread), a single job runs in a child forked from the
    process itself (no fork server and no pool started): its result and its progress come back, a
    native crash or a hang past its limit is Crashed, a bug in the work is that exception."""
    import subprocess
    import sys

    from tests.conftest import REPO

    done = subprocess.run([sys.executable, "-c", ALONE], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["forks_alone"] is True and out["pools"] == 0  # no pool was started for it
    assert out["result"]["parent"] == out["me"] and out["result"]["child"] != out["me"]
    assert out["drawn"][0] == ["open", "decoding"] and ["update", 3, 3] in out["drawn"] and out["drawn"][-1] == ["close"]
    assert out["crash"] == "Crashed" and out["hang"] == "Crashed" and out["hang_s"] < 5
    assert out["raise"] == "ValueError: a bug in the work"
