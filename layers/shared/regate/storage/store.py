"""Object storage over any S3-compatible endpoint, with the writes the principles require.

* :meth:`ObjectStore.put_if_changed` never creates a new S3 version for identical content
  (idempotency: replays and re-captures leave the bucket as it was).
* :meth:`ObjectStore.put_conditional` is an optimistic write (``If-Match`` / ``If-None-Match``) used to
  serialise read-modify-write cycles on shared files without a lock service.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from regate.settings import Settings

SHA256_META = "sha256"


def make_s3_client(settings: Settings) -> Any:
    """An S3 client for AWS (empty endpoint) or any S3-compatible endpoint (path-style addressing)."""
    config = Config(
        retries={"max_attempts": settings.s3_max_attempts, "mode": "standard"},
        s3={"addressing_style": "path"} if settings.s3_endpoint_url else {},
        connect_timeout=10,
        read_timeout=60,
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region,
        config=config,
    )


@dataclass(frozen=True)
class PutResult:
    key: str
    written: bool
    version_id: str | None
    sha256: str
    etag: str | None = None  # of the object written (None when nothing was written)


class PreconditionFailed(Exception):
    """A conditional write lost the race: re-read and retry."""


class ObjectStore:
    """One bucket, seen through the operations Rég@te needs."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    # ------------------------------------------------------------------------------ reads
    def get_bytes(self, key: str, version_id: str | None = None) -> bytes:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        return self.client.get_object(**kwargs)["Body"].read()

    def get_with_etag(self, key: str) -> tuple[bytes, str] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        return response["Body"].read(), response["ETag"]

    def get_json(self, key: str, default: Any = None) -> Any:
        found = self.get_with_etag(key)
        if found is None:
            return default
        return json.loads(found[0])

    def head(self, key: str) -> dict[str, Any] | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise

    def exists(self, key: str) -> bool:
        return self.head(key) is not None

    def list_keys(self, prefix: str) -> Iterator[str]:
        for item in self.list_objects(prefix):
            yield item["Key"]

    def list_objects(self, prefix: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            yield from page.get("Contents", [])

    def list_versions(self, key: str) -> list[dict[str, Any]]:
        """All versions of exactly ``key`` (newest first)."""
        paginator = self.client.get_paginator("list_object_versions")
        versions: list[dict[str, Any]] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            versions.extend(v for v in page.get("Versions", []) if v["Key"] == key)
        return versions

    def download_to(self, key: str, fileobj: IO[bytes], version_id: str | None = None) -> None:
        extra = {"VersionId": version_id} if version_id else None
        self.client.download_fileobj(self.bucket, key, fileobj, ExtraArgs=extra)

    # ----------------------------------------------------------------------------- writes
    def put_if_changed(
        self,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> PutResult:
        """Write ``body`` unless the current object already holds exactly these bytes."""
        digest = hashlib.sha256(body).hexdigest()
        current = self.head(key)
        if current is not None and _current_sha256(current) == digest:
            return PutResult(key, False, current.get("VersionId"), digest)
        meta = {SHA256_META: digest, **(metadata or {})}
        response = self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, Metadata=meta
        )
        return PutResult(key, True, response.get("VersionId"), digest)

    def put_conditional(
        self,
        key: str,
        body: bytes,
        if_match: str | None,
        content_type: str = "application/json",
        extra: dict[str, Any] | None = None,
    ) -> PutResult:
        """Write only if the object is still at ``if_match`` (or absent when ``if_match`` is None).

        Raises :class:`PreconditionFailed` when another writer got there first (or the object it expected
        was deleted meanwhile). ``extra``: more ``put_object`` arguments (e.g. Object Lock retention).
        """
        digest = hashlib.sha256(body).hexdigest()
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
            "Metadata": {SHA256_META: digest},
            **(extra or {}),
        }
        if if_match is None:
            kwargs["IfNoneMatch"] = "*"
        else:
            kwargs["IfMatch"] = if_match
        try:
            response = self.client.put_object(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in {"PreconditionFailed", "ConditionalRequestConflict"} or status in {409, 412}:
                raise PreconditionFailed(key) from exc
            if if_match is not None and _is_missing(exc):  # If-Match on a key deleted meanwhile: 404
                raise PreconditionFailed(key) from exc
            raise
        return PutResult(key, True, response.get("VersionId"), digest, response.get("ETag"))

    def put_json_if_changed(self, key: str, value: Any) -> PutResult:
        return self.put_if_changed(key, dumps_canonical(value), content_type="application/json")

    def delete(self, key: str) -> bool:
        """Delete (a delete marker on versioned buckets); ``False`` if there was nothing."""
        if self.head(key) is None:
            return False
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def copy_if_changed(self, source: ObjectStore, source_key: str, key: str, content_type: str) -> PutResult:
        """Copy an object from another store, skipping identical content."""
        return self.put_if_changed(key, source.get_bytes(source_key), content_type=content_type)


def dumps_canonical(value: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, UTF-8, no ASCII escaping): same value, same bytes."""
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1, default=str) + "\n").encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _current_sha256(head: dict[str, Any]) -> str | None:
    return (head.get("Metadata") or {}).get(SHA256_META)


def _is_missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
