"""Upload a file to S3 (or an S3-compatible store) so that nothing partial is ever presented as done.

- Content-addressed: the key is ``<prefix>/<sha256>.<ext>``; when an object with that key and the same
  SHA-256 (kept in its metadata) exists, nothing is sent again.
- Verified: every part carries a SHA-256 checksum that the server checks, and the completion sends them
  all again; the object's size is checked at the end.
- Resumable: the upload ID and the parts already stored are kept in a local state file, written after
  every part; the next run continues from there. A stale upload that cannot be resumed is aborted.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from preflight.state.digest import sha256_of
from preflight.errors import UploadError

__all__ = ["PART_SIZE", "Uploaded", "client", "credentials", "Uploader", "object_key", "sha256_of"]

PART_SIZE = 8 * 1024 * 1024
Progress = Callable[[int], None]  # bytes just sent


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    key: str
    size: int
    sha256: str
    sent_bytes: int  # 0 when the object was already there
    resumed_parts: int


def client(endpoint: str | None = None) -> Any:
    """An S3 client with SigV4, path-style addressing for an S3-compatible ``endpoint``, and the
    credentials read now from boto3's usual places (a session of its own, not boto3's process-wide
    default: a library caller may change AWS_* between calls)."""
    import boto3
    from botocore.config import Config

    config = Config(signature_version="s3v4", s3={"addressing_style": "path"} if endpoint else {})
    return boto3.session.Session().client("s3", endpoint_url=endpoint, config=config)


def credentials(s3: Any) -> Any:
    """The credentials a client signs with (for their expiry), or None when it cannot say."""
    try:
        return s3._request_signer._credentials
    except AttributeError:
        return None


def object_key(prefix: str, sha256: str, path: Path) -> str:
    name = f"{sha256}{path.suffix.lower()}"
    return f"{prefix.strip('/')}/{name}" if prefix.strip("/") else name


class Uploader:
    def __init__(self, client: Any, state_dir: Path, *, part_size: int = PART_SIZE, concurrency: int = 4) -> None:
        self.s3, self.state_dir = client, state_dir
        self.part_size, self.concurrency = part_size, concurrency
        self._lock = threading.Lock()

    def upload(self, path: Path, bucket: str, prefix: str, sha256: str | None = None,
               progress: Progress | None = None) -> Uploaded:
        sha = sha256 or sha256_of(path)
        key, size = object_key(prefix, sha, path), path.stat().st_size
        try:
            if self._already_there(bucket, key, sha, size):
                return Uploaded(bucket, key, size, sha, 0, 0)
            return self._multipart(path, bucket, key, sha, size, progress)
        except ClientError as err:
            info = err.response.get("Error", {})
            code, message = str(info.get("Code")), info.get("Message")
            if code in ("403", "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"):
                message = f"{message or 'Forbidden'}: check the AWS credentials and the bucket's permissions"
            raise UploadError(f"S3 refused the upload to {bucket}: {code}: {message}") from None
        except BotoCoreError as err:
            raise UploadError(f"cannot reach S3: {type(err).__name__}: {err}") from None

    # --- steps ----------------------------------------------------------------------------------

    def _already_there(self, bucket: str, key: str, sha: str, size: int) -> bool:
        """The object is stored with this content already. AWS answers a HEAD of a missing object with
        403, not 404, to a user who may not list the bucket (PutObject and GetObject only, as a least
        privilege policy grants): that means "not known to be there", so the upload goes ahead."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "403", "AccessDenied"):
                return False
            raise
        return bool(head.get("ContentLength") == size and head.get("Metadata", {}).get("sha256") == sha)

    def _multipart(self, path: Path, bucket: str, key: str, sha: str, size: int, progress: Progress | None
                   ) -> Uploaded:
        state = self._resume_or_start(bucket, key, sha, path)
        count = max(1, -(-size // self.part_size))
        todo = [n for n in range(1, count + 1) if str(n) not in state["parts"]]
        resumed = count - len(todo)
        sent = [0]

        def send(number: int) -> None:
            offset = (number - 1) * self.part_size
            with open(path, "rb") as fh:
                fh.seek(offset)
                body = fh.read(self.part_size)
            checksum = base64.b64encode(hashlib.sha256(body).digest()).decode()
            reply = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=state["upload_id"], PartNumber=number,
                                        Body=body, ChecksumSHA256=checksum)
            with self._lock:
                state["parts"][str(number)] = {"ETag": reply["ETag"], "ChecksumSHA256": checksum}
                self._save(sha, state)
                sent[0] += len(body)
            if progress is not None:
                progress(len(body))

        pool = ThreadPoolExecutor(max_workers=self.concurrency)
        try:
            for future in [pool.submit(send, n) for n in todo]:
                future.result()
        except BaseException:  # the first failure (or Ctrl-C) stops the rest; the state file keeps what was stored
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown()
        parts = [{"PartNumber": int(n), **p} for n, p in sorted(state["parts"].items(), key=lambda kv: int(kv[0]))]
        self.s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=state["upload_id"],
                                          MultipartUpload={"Parts": parts})
        head = self.s3.head_object(Bucket=bucket, Key=key)
        if head.get("ContentLength") != size:
            raise UploadError(f"the stored object has {head.get('ContentLength')} bytes, the file {size}")
        self._state_path(sha).unlink(missing_ok=True)
        return Uploaded(bucket, key, size, sha, sent[0], resumed)

    def _resume_or_start(self, bucket: str, key: str, sha: str, path: Path) -> dict[str, Any]:
        saved = self._load(sha)
        if saved and saved.get("bucket") == bucket and saved.get("key") == key \
                and saved.get("part_size") == self.part_size and self._still_open(saved):
            return saved
        if saved:  # a stale upload we will not resume: do not leave its parts behind
            try:
                self.s3.abort_multipart_upload(Bucket=saved["bucket"], Key=saved["key"], UploadId=saved["upload_id"])
            except ClientError:
                pass
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        reply = self.s3.create_multipart_upload(Bucket=bucket, Key=key, Metadata={"sha256": sha},
                                                ContentType=content_type, ChecksumAlgorithm="SHA256")
        state = {"bucket": bucket, "key": key, "upload_id": reply["UploadId"], "part_size": self.part_size,
                 "parts": {}}
        self._save(sha, state)
        return state

    def _still_open(self, saved: dict[str, Any]) -> bool:
        """The server still has the upload; keep only the parts it really stored (ETags agree)."""
        try:
            listed = self.s3.list_parts(Bucket=saved["bucket"], Key=saved["key"], UploadId=saved["upload_id"])
        except ClientError:
            return False
        stored = {str(p["PartNumber"]): p["ETag"] for p in listed.get("Parts", [])}
        saved["parts"] = {n: p for n, p in saved["parts"].items() if stored.get(n) == p["ETag"]}
        return True

    # --- the state file ---------------------------------------------------------------------------

    def _state_path(self, sha: str) -> Path:
        return self.state_dir / f"upload-{sha}.json"

    def _load(self, sha: str) -> dict[str, Any] | None:
        try:
            data = json.loads(self._state_path(sha).read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and "upload_id" in data and "parts" in data else None

    def _save(self, sha: str, state: dict[str, Any]) -> None:
        from preflight.state.statefiles import write_json

        write_json(self._state_path(sha), state)
