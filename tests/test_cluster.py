"""``check --scheduler``: a real Dask cluster on 127.0.0.1 (a scheduler and two worker processes, started
with the `dask` command that `preflight[dask]` installs). Its reports match a local run's, and a
worker killed in the middle of a run costs nothing but time."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from preflight.cli import main
from tests.conftest import MEDIA
from tests.support.cluster import Cluster
from tests.support.serve_process import free_port
from tests.support.media_factory import VideoSpec, make_video

distributed = pytest.importorskip("distributed")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    media = tmp_path / "media"
    media.mkdir()
    for i in range(4):
        make_video(media / f"take{i}.mp4", VideoSpec(width=640, height=360, seconds=3 + i))
    (media / "face.jpg").write_bytes((MEDIA / "grace_hopper.jpg").read_bytes())
    return media


def report(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    code = main(["check", "--no-cache", "--format", "json", *args])
    out = capsys.readouterr()
    assert out.out, out.err
    return code, json.loads(out.out)["results"]


def summary(results: list[dict]) -> list[tuple[str, str, dict[str, str]]]:
    return [(r["path"], r["verdict"], {f["rule"]: f["outcome"] for f in r["findings"]}) for r in results]


def test_a_cluster_run_reports_what_a_local_run_does(cluster: Cluster, folder: Path, s3, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY

    s3.client().upload_file(str(folder / "take1.mp4"), BUCKET, "cluster/take1.mp4",
                            ExtraArgs={"ContentType": "video/mp4"})
    for name, value in (("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("PREFLIGHT_S3_ENDPOINT", s3.endpoint)):
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(folder.parent)  # relative paths: workers get absolute ones, the report keeps these
    inputs = ["media", f"s3://{BUCKET}/cluster/"]
    code_local, local = report(capsys, *inputs)
    code_cluster, remote = report(capsys, "--scheduler", cluster.address, *inputs)
    assert code_cluster == code_local
    assert summary(remote) == summary(local)
    assert [r["path"] for r in remote][:1] == ["media/face.jpg"] and len(remote) == 6


def test_a_worker_killed_mid_run_costs_only_time(cluster: Cluster, tmp_path: Path, capsys) -> None:
    media = tmp_path / "many"
    media.mkdir()
    for i in range(6):
        make_video(media / f"clip{i}.mp4", VideoSpec(width=1280, height=720, seconds=8))
    killed = threading.Event()

    def kill_when_busy() -> None:
        with distributed.Client(cluster.address, timeout="30s") as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                busy = [w for w, tasks in client.processing().items() if tasks]
                if len(busy) == 2:  # both workers are in the middle of a file
                    cluster.kill_worker(0)
                    killed.set()
                    return
                time.sleep(0.05)

    watcher = threading.Thread(target=kill_when_busy)
    watcher.start()
    code, results = report(capsys, "--scheduler", cluster.address, str(media))
    watcher.join()
    assert killed.is_set()
    assert len(results) == 6 and all(r["verdict"] in ("pass", "fail") for r in results), \
        [(r["path"], r["verdict"], r.get("error")) for r in results]


def test_no_scheduler_there_is_one_line_and_exit_2(capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from preflight.run import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT_S", 2)  # a closed port is tried again until the timeout: 10 s
    clip = make_video(tmp_path / "a.mp4", VideoSpec(seconds=1))
    code = main(["check", "--no-cache", "--scheduler", f"tcp://127.0.0.1:{free_port()}", str(clip)])
    err = capsys.readouterr().err
    assert code == 2 and "no Dask scheduler answers there" in err and "Traceback" not in err
