"""Face detection on the real corpus: candidate detectors compared, and preflight's verdicts per file.

    python benchmarks/bench_faces.py [--corpus ../shared/corpus]

Part 1 compares detectors on the corpus images whose MANIFEST face count is a plain number (44 of
them), each image upright and scaled so its longest side is 800 px: exact counts and mean time per
image. Part 2 runs preflight's own analysis (the built-in rule sets' settings) on every image and
video and prints detected vs expected face counts and the face.count verdict.

Expected verdicts for videos: MANIFEST count "1" → pass; a plain other number, a range or "(varies)"
→ fail; "0 (+1 anime)"-style entries (a drawn face) are not scored, either verdict is defensible.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageOps

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from preflight.media.analyze import analyze  # noqa: E402
from preflight.judge.engine import judge  # noqa: E402
from preflight.judge.ruleset import load  # noqa: E402

Detector = Callable[[np.ndarray[Any, Any]], int]


def candidates() -> dict[str, Detector]:
    import dlib

    hog = dlib.get_frontal_face_detector()
    cascades = {name: cv2.CascadeClassifier(cv2.data.haarcascades + f"haarcascade_frontalface_{name}.xml")
                for name in ("default", "alt2")}
    from preflight.media import blazeface

    def both(g: np.ndarray[Any, Any]) -> int:
        near = blazeface.detect(g, blazeface.SHORT_RANGE, 0.5)
        far = blazeface.detect(g, blazeface.FULL_RANGE, 0.5)
        return len(near) + sum(not any(_overlap(f, n) for n in near) for f in far)

    return {
        "blazeface short range (grey)": lambda g: len(blazeface.detect(g, blazeface.SHORT_RANGE, 0.5)),
        "blazeface full range (grey)": lambda g: len(blazeface.detect(g, blazeface.FULL_RANGE, 0.5)),
        "blazeface short + full (grey)": both,
        "opencv haar default": lambda g: len(cascades["default"].detectMultiScale(g, 1.1, 5, minSize=(20, 20))),
        "opencv haar alt2": lambda g: len(cascades["alt2"].detectMultiScale(g, 1.1, 5, minSize=(20, 20))),
        "dlib hog, no upsampling": lambda g: len(hog.run(g, 0, 0.0)[0]),
        "dlib hog, 1 upsampling (preflight)": lambda g: len(hog.run(g, 1, 0.0)[0]),
    }


def _overlap(a: Any, b: Any) -> bool:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return w > 0 and h > 0 and w * h > min(a.w * a.h, b.w * b.h) / 3


def upright_gray(path: Path, side: int = 800) -> np.ndarray[Any, Any]:
    im = ImageOps.exif_transpose(Image.open(path)).convert("L")
    scale = side / max(im.size)
    if scale < 1:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.BILINEAR)
    return np.asarray(im)


def compare_detectors(corpus: Path, rows: list[dict[str, str]]) -> None:
    clear = [r for r in rows if r["kind"] == "image" and re.fullmatch(r"\d+", r["faces_visible"])]
    images = [(r["file"], upright_gray(corpus / r["file"]), int(r["faces_visible"])) for r in clear]
    print(f"Part 1: detectors on {len(images)} corpus images with a clear face count (longest side 800 px)")
    print(f"{'detector':<36} {'exact':>7} {'ms/image':>9}  misses")
    for name, detect in candidates().items():
        exact, spent, misses = 0, 0.0, []
        for fname, gray, expected in images:
            start = time.perf_counter()
            found = detect(gray)
            spent += time.perf_counter() - start
            exact += found == expected
            if found != expected:
                misses.append(f"{fname} {found}/{expected}")
        print(f"{name:<36} {exact:>3}/{len(images):<3} {1000 * spent / len(images):>9.1f}  {'; '.join(misses[:4])}"
              + (f" (+{len(misses) - 4})" if len(misses) > 4 else ""))


def expected_video_verdict(faces_visible: str) -> str | None:
    if faces_visible == "1":
        return "pass"
    if re.fullmatch(r"0 \(\+1 (anime|cartoon.*)\)", faces_visible):
        return None  # a drawn face: not scored
    return "fail"


def verdicts(corpus: Path, rows: list[dict[str, str]], video_rules: str = "phoenix-4") -> None:
    print(f"\nPart 2: preflight's face.count on every corpus image and video (videos: {video_rules})")
    rulesets = {"image": load("image"), "video": load(video_rules)}
    scored = right = good_failed = 0
    image_total = image_right = 0
    for r in rows:
        if r["kind"] not in ("image", "video"):
            continue
        start = time.perf_counter()
        facts = analyze(corpus / r["file"], settings_for=lambda kind: rulesets[kind].analysis)
        spent = time.perf_counter() - start
        finding = next(f for f in judge(facts, rulesets[facts.kind]) if f.rule == "face.count")
        fv = r["faces_visible"]
        if r["kind"] == "image":
            expected = int(fv) if fv.isdigit() else None
            ok = None if expected is None else facts.face_count == expected
            if ok is not None:
                image_total += 1
                image_right += ok
        else:
            want = expected_video_verdict(fv)
            ok = None if want is None else finding.outcome == want
            if ok is not None:
                scored += 1
                right += ok
        if fv == "1" and finding.outcome == "fail":
            good_failed += 1
        mark = "  " if ok is None else ("ok" if ok else "XX")
        print(f"{mark} {r['kind']:<5} {r['file'][:44]:<44} expected {fv[:22]:<22} found {facts.face_count!s:>3} "
              f"(max {facts.face_count_max!s:>3})  face.count {finding.outcome:<4} {spent:5.2f} s")
    print(f"\nimages: {image_right}/{image_total} exact counts ({image_right / max(image_total, 1):.1%})")
    print(f"videos: {right}/{scored} face.count verdicts right")
    print(f"single-person files failing face.count: {good_failed}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    ap.add_argument("--detectors-only", action="store_true", help="part 1 only")
    ap.add_argument("--verdicts-only", action="store_true", help="part 2 only")
    ap.add_argument("--video-rules", default="phoenix-4", help="the rule set (name or file) videos are analysed with")
    args = ap.parse_args()
    manifest = args.corpus / "MANIFEST.tsv"
    if not manifest.is_file():
        raise SystemExit(f"no corpus at {args.corpus} (expected {manifest})")
    with open(manifest, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not args.verdicts_only:
        compare_detectors(args.corpus, rows)
    if not args.detectors_only:
        verdicts(args.corpus, rows, args.video_rules)


if __name__ == "__main__":
    main()
