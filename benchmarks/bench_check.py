"""Time `preflight check` against one plain ffmpeg decode of the same file, side by side.

    python benchmarks/bench_check.py [--seconds 60] [--size 1920x1080] [--codec h264] [--fps 30] [--runs 3]
                                     [--rules R] [--shapes] [--face] [FILE]

Without FILE it generates a 60 s 1080p30 H.264 + AAC test clip (ffmpeg's testsrc2 pattern, x264
preset veryfast, CRF 23: a realistic bitrate, not an easy all-black file) into benchmarks/out/.
``--face`` puts a real portrait in the middle of the pattern (tests/media/grace_hopper.jpg), so the
face search, tracking and landmark work is measured too.
``--shapes`` measures every shape phones and cameras record, one after the other: 1920x1080
landscape, 1080x1920 portrait in H.264 and in HEVC (x265 veryfast, CRF 26, tagged hvc1 as an iPhone
does), and 1080x1350 (4:5). A benchmark on one shape says nothing about the others.
Each command runs --runs times, the commands taking turns (so a slow spell of the machine hits all of
them); the median wall time is reported. Both sides run as fresh processes, so preflight's Python
start-up is included in its time. preflight runs with --no-cache: every run analyses the file (the
cached re-check is measured by bench_cache.py).

Baseline: `ffmpeg -v error -threads 0 -i FILE -f null -`, with the ffmpeg binary that imageio-ffmpeg
ships, which decodes the default video and audio streams, as preflight's full check does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import imageio_ffmpeg

OUT = Path(__file__).resolve().parent / "out"


def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


SHAPES = [("1920x1080", "h264"), ("1080x1920", "h264"), ("1080x1920", "hevc"), ("1080x1350", "h264")]
_ENCODERS = {"h264": ["-c:v", "libx264", "-crf", "23"], "hevc": ["-c:v", "libx265", "-crf", "26", "-tag:v", "hvc1"]}


FACE = Path(__file__).resolve().parents[1] / "tests" / "media" / "grace_hopper.jpg"


def make_clip(seconds: int, size: str, fps: int, codec: str = "h264", face: bool = False) -> Path:
    """testsrc2 with a sine tone; with ``face``, a real portrait (tests/media) 60 % of the frame's height
    in the middle, so the face search, tracking and landmarks do their work on every sample."""
    path = OUT / f"bench-{size}-{codec}-{fps}fps-{seconds}s{'-face' if face else ''}.mp4"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"generating {path.name} …", file=sys.stderr)
    height = int(size.split("x")[1])
    overlay = (["-loop", "1", "-i", str(FACE), "-filter_complex",
                f"[2:v]scale=-2:{height * 6 // 10}[p];[0:v][p]overlay=(W-w)/2:(H-h)/2:shortest=1[v]",
                "-map", "[v]", "-map", "1:a"] if face else [])
    subprocess.run([
        ffmpeg(), "-v", "error", "-y",
        "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}",
        "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000", *overlay,
        "-t", str(seconds), *_ENCODERS[codec], "-preset", "veryfast", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-b:a", "128k", "-movflags", "+faststart", str(path),
    ], check=True)
    return path


def once(cmd: list[str], ok_codes: tuple[int, ...] = (0, 1)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one run of ``cmd``: the largest peak (VmHWM) of any process in
    its session, read by a thread while they live (preflight analyses in worker processes that are not
    its own children, so the waited child's rusage would miss them). The wall time is taken when the
    process ends, not at the sampler's next reading (which rounded it up to the next 0.2 s)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while True:  # VmHWM is a high-water mark: any reading before a process ends catches its peak
            peak[0] = max(peak[0], session_peak_mb(proc.pid))
            if done.wait(0.1):
                return

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = proc.wait()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    if code not in ok_codes:
        raise SystemExit(f"{' '.join(cmd)} exited {code}")
    return elapsed, peak[0]


def session_peak_mb(session: int) -> float:
    """The largest VmHWM (MB) among the live processes of ``session`` (Linux /proc)."""
    peak = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # field 6 of /proc/PID/stat: the session id
                continue
            for line in (stat.parent / "status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except (OSError, IndexError, ValueError):
            continue
    return peak


def timed(cmds: list[list[str]], runs: int) -> list[tuple[float, float]]:
    """Median wall seconds and the largest peak RSS (MB) of each command, the commands taking turns."""
    results: list[list[tuple[float, float]]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            results[i].append(once(cmd))
    return [(statistics.median(t for t, _ in r), max(m for _, m in r)) for r in results]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("file", nargs="?", type=Path)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--codec", choices=sorted(_ENCODERS), default="h264")
    ap.add_argument("--rules", help="passed on to preflight check (e.g. a rule file with lighter [analysis])")
    ap.add_argument("--shapes", action="store_true", help="every shape in SHAPES, one after the other")
    ap.add_argument("--face", action="store_true", help="generated clips show a real face (tests/media)")
    args = ap.parse_args()
    if args.shapes:
        for size, codec in SHAPES:
            measure(make_clip(args.seconds, size, args.fps, codec, args.face), args)
            print()
    else:
        measure(args.file or make_clip(args.seconds, args.size, args.fps, args.codec, args.face), args)


def measure(clip: Path, args: argparse.Namespace) -> None:
    preflight = [sys.executable, "-m", "preflight", "check", "--quiet", "--no-cache",
                 *(["--rules", args.rules] if args.rules else [])]
    names = ["ffmpeg decode (baseline)", "preflight check", "preflight check --quick"]
    cmds = [[ffmpeg(), "-v", "error", "-threads", "0", "-i", str(clip), "-f", "null", "-"],
            [*preflight, str(clip)], [*preflight, "--quick", str(clip)]]
    rows = list(zip(names, timed(cmds, args.runs)))
    base = rows[0][1][0]
    print(f"file: {clip.name} ({clip.stat().st_size / 1e6:.1f} MB), median of {args.runs} runs, "
          f"{os.cpu_count()} CPUs")
    print(f"{'command':<28} {'seconds':>8} {'× baseline':>11} {'peak RSS':>10}")
    for name, (seconds, peak) in rows:
        print(f"{name:<28} {seconds:>8.2f} {seconds / base:>10.2f}× {peak:>7.0f} MB")


if __name__ == "__main__":
    main()
