"""Blobs in an S3 bucket (``--blobs s3://BUCKET/PREFIX``), which every node reads and writes: an upload
received by one node is checked by another, a take's chunks may each reach a different node, and
any node serves a fixed take or a report.

Large files go up in parts (boto3's managed transfer, 16 MiB parts, four at a time), every request
carrying a SHA-256 the server checks. A take's chunk is an object of its own, named by its number
and its digest, so two nodes given the same chunk never write over each other's bytes; the take is
assembled for its check by reading its chunks in order into one local file, a piece at a time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from preflight.errors import BlobsUnavailable
from preflight.serve.blobs.base import Blobs

PART = 16 * 1024 * 1024
PIECE = 1024 * 1024


class S3Blobs(Blobs):
    shared = True

    def __init__(self, bucket: str, prefix: str, endpoint: str | None, client: Any = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from preflight.upload.s3 import client as s3_client

        self.bucket, self.prefix, self.endpoint = bucket, prefix.strip("/"), endpoint
        self.shown = f"s3://{bucket}/{self.prefix}"
        self.s3 = client or s3_client(endpoint)
        self._errors = (BotoCoreError, ClientError)

    def child(self, name: str) -> S3Blobs:
        return S3Blobs(self.bucket, f"{self.prefix}/{name}" if self.prefix else name, self.endpoint, self.s3)

    def _key(self, key: str) -> str:
        if not key or key.startswith(("/", ".")) or ".." in key:
            raise ValueError(f"not a blob key: {key!r}")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _failed(self, err: BaseException) -> BlobsUnavailable:
        code = getattr(err, "response", {}).get("Error", {}).get("Code") if hasattr(err, "response") else None
        return BlobsUnavailable(f"the blobs at {self.shown} could not be reached ({code or type(err).__name__})")

    def check(self) -> None:
        """The bucket answers, with these credentials (at start: a wrong bucket is said at once)."""
        try:
            self.s3.head_bucket(Bucket=self.bucket)
        except self._errors as err:
            raise self._failed(err) from None

    def keep(self, key: str, path: Path, *, leave: bool = False) -> bool:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=4)
        try:
            self.s3.upload_file(str(path), self.bucket, self._key(key), Config=config,
                                ExtraArgs={"ChecksumAlgorithm": "SHA256"})
        except self._errors as err:
            raise self._failed(err) from None
        if leave:
            return False
        path.unlink(missing_ok=True)
        return True

    def put_bytes(self, key: str, data: bytes) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ChecksumAlgorithm="SHA256")
        except self._errors as err:
            raise self._failed(err) from None

    def _get(self, key: str) -> Any:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as err:
            if getattr(err, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise self._failed(err) from None

    def read(self, key: str) -> bytes | None:
        found = self._get(key)
        return bytes(found["Body"].read()) if found is not None else None

    def local(self, key: str, scratch: Path) -> Path:
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / Path(key).name
        try:
            self.s3.download_file(self.bucket, self._key(key), str(target))
        except self._errors as err:
            raise self._failed(err) from None
        return target

    def path(self, key: str) -> Path | None:
        return None

    def stream(self, key: str) -> tuple[int, Iterator[bytes]] | None:
        found = self._get(key)
        if found is None:
            return None
        body = found["Body"]

        def pieces() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(PIECE)
            finally:
                body.close()
        return int(found["ContentLength"]), pieces()

    def delete(self, key: str) -> None:
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self._key(key))
        except self._errors as err:
            raise self._failed(err) from None

    def delete_prefix(self, prefix: str) -> None:
        try:
            pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:
                found = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if found:
                    self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": found, "Quiet": True})
        except self._errors as err:
            raise self._failed(err) from None

    def create(self, key: str) -> None:
        pass  # a recording is its chunks, each an object of its own

    def append(self, key: str, seq: int, offset: int, data: bytes) -> str:
        chunk = f"{key}.chunks/{seq:06d}-{hashlib.sha256(data).hexdigest()[:16]}"
        self.put_bytes(chunk, data)
        return chunk

    def assemble(self, key: str, size: int, chunks: list[str], scratch: Path) -> Path:
        scratch.mkdir(parents=True, exist_ok=True)
        target = scratch / key
        with open(target, "wb") as out:
            for chunk in chunks:
                found = self._get(chunk)
                if found is None:
                    raise self._failed(FileNotFoundError(chunk))
                for piece in found["Body"].iter_chunks(PIECE):
                    out.write(piece)
        if target.stat().st_size != size:
            raise BlobsUnavailable(f"the take {key} came together as {target.stat().st_size} bytes, not the "
                                   f"{size} acknowledged")
        return target
