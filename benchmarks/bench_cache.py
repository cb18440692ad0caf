"""Re-checking unchanged files: `preflight check` on N files, cold (empty cache) and warm, side by side
with `sha256sum` over the same files (what a cache keyed by content would pay without the stat memo).

    python benchmarks/bench_cache.py [--files 200] [--videos 40] [--runs 3]

Generates N distinct files into benchmarks/out/cache-set/ (N - videos JPEG headshot-sized images of
noise, and short 720p H.264 clips of ffmpeg's testsrc2 with a different hue each), then times, as fresh
processes with a private cache directory:
  cold:  preflight check DIR --quiet           (analyses everything, fills the cache)
  warm:  the same again                        (every result from the cache)
  hash:  sha256sum FILES                       (the baseline)
The warm figure is the median of --runs runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

OUT = Path(__file__).resolve().parent / "out" / "cache-set"


def make_set(files: int, videos: int) -> list[Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    paths = []
    rng = np.random.default_rng(1)
    for i in range(files - videos):
        path = OUT / f"headshot-{i:03d}.jpg"
        if not path.exists():
            base = np.linspace(40, 220, 800, dtype=np.float32)[None, :, None].repeat(800, 0).repeat(3, 2)
            noise = rng.normal(0, 12, (800, 800, 3))
            Image.fromarray(np.clip(base + noise, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    for i in range(videos):
        path = OUT / f"clip-{i:03d}.mp4"
        if not path.exists():
            subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi",
                            "-i", "testsrc2=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=220",
                            "-t", "3", "-vf", f"hue=h={i * 7}", "-c:v", "libx264", "-preset", "ultrafast",
                            "-c:a", "aac", "-shortest", str(path)], check=True)
        paths.append(path)
    return paths


def wall(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--videos", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    paths = make_set(args.files, args.videos)
    size_mb = sum(p.stat().st_size for p in paths) / 1e6
    preflight = [sys.executable, "-m", "preflight", "check", "--quiet", str(OUT)]
    with tempfile.TemporaryDirectory() as cache:
        import os

        env = {**os.environ, "PREFLIGHT_CACHE_DIR": cache}
        cold = wall(preflight, env)
        time.sleep(2.5)  # let the files' hashes settle past the racy-mtime window (cache.py)
        wall(preflight, env)  # records the stat memo for files hashed too soon after being written
        warm = statistics.median(wall(preflight, env) for _ in range(args.runs))
    hashed = statistics.median(wall(["sha256sum", *map(str, paths)]) for _ in range(args.runs))
    print(f"{len(paths)} files ({len(paths) - args.videos} images, {args.videos} clips), {size_mb:.0f} MB")
    print(f"  cold check (empty cache): {cold:7.2f} s")
    print(f"  warm check (all cached):  {warm:7.2f} s   ({warm / len(paths) * 1000:.1f} ms per file)")
    print(f"  sha256sum of the files:   {hashed:7.2f} s   (warm / sha256sum = {warm / hashed:.2f}x)")


if __name__ == "__main__":
    main()
