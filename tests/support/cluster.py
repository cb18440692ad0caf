"""A real Dask cluster on 127.0.0.1 for the tests: a scheduler and two worker processes, started with
the `dask` command that the dask extra installs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import distributed

from tests.support.serve_process import free_port


class Cluster:
    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PREFLIGHT_CACHE_DIR": str(root / "worker-cache"), "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
        dask = str(Path(sys.executable).with_name("dask"))
        self.scheduler = self._start([dask, "scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                      "--no-dashboard", "--no-show"])
        self.workers = [self._start([dask, "worker", self.address, "--nthreads", "1", "--nworkers", "1",
                                     "--host", "127.0.0.1", "--no-dashboard", "--name", f"w{i}"]) for i in range(2)]
        with distributed.Client(self.address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)

    def _start(self, cmd: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(cmd, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def kill_worker(self, index: int) -> None:
        os.killpg(self.workers[index].pid, signal.SIGKILL)  # the worker and its nanny: gone for good

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
