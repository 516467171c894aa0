"""An S3 stand-in in memory, for benchmarks: the boto3 client calls :class:`~regate.storage.ObjectStore`
and the capture make, answered from dicts under one lock, without HTTP, signing or XML.

Semantics kept (checked against moto by ``tests/integration/capture/test_capture_memory_s3.py``): versioned
buckets (every put a new version id, deletes leave a delete marker), ``ETag`` = quoted MD5 of the bytes,
user metadata, ``IfNoneMatch="*"`` / ``IfMatch`` conditional puts (412 ``PreconditionFailed``, 404 on an
``IfMatch`` to a missing key), errors raised as botocore ``ClientError`` with S3's codes, ``list_objects_v2``
(prefix, delimiter → ``CommonPrefixes``) and ``list_object_versions`` paginators. Not kept: multipart,
ACLs, Object Lock, storage classes — the capture never needs them.

Its point: a benchmark of code that talks to S3 measures that code, not a local S3 server's CPU
(moto on loopback costs milliseconds of Python per call and shares the machine's cores with the run).
"""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, BinaryIO

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class _Version:
    version_id: str
    body: bytes | None  # None = delete marker
    etag: str = ""
    content_type: str = "binary/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    last_modified: datetime = field(default_factory=lambda: datetime.now(UTC))


def _error(code: str, status: int, operation: str, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class MemoryS3:
    """The subset of a boto3 S3 client Rég@te's capture uses; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, dict[str, list[_Version]]] = {}  # bucket → key → versions, oldest first
        self.calls: dict[str, int] = {}

    # ------------------------------------------------------------------------------ buckets
    def create_bucket(self, Bucket: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            self._buckets.setdefault(Bucket, {})
        return {}

    def put_bucket_versioning(self, Bucket: str, **_: Any) -> dict[str, Any]:
        self._bucket(Bucket, "PutBucketVersioning")  # always versioned
        return {}

    def _bucket(self, name: str, operation: str) -> dict[str, list[_Version]]:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        try:
            return self._buckets[name]
        except KeyError:
            raise _error("NoSuchBucket", 404, operation) from None

    def _current(self, bucket: str, key: str, operation: str, version_id: str | None = None) -> _Version:
        versions = self._bucket(bucket, operation).get(key, [])
        if version_id:
            for version in versions:
                if version.version_id == version_id:
                    return version
            raise _error("NoSuchVersion", 404, operation)
        if not versions or versions[-1].body is None:
            # HEAD answers a bare 404; GET says NoSuchKey (as S3 and moto do)
            raise _error("404" if operation == "HeadObject" else "NoSuchKey", 404, operation)
        return versions[-1]

    # ------------------------------------------------------------------------------ objects
    def head_object(self, Bucket: str, Key: str, VersionId: str | None = None) -> dict[str, Any]:
        with self._lock:
            version = self._current(Bucket, Key, "HeadObject", VersionId)
        return self._describe(version)

    def get_object(self, Bucket: str, Key: str, VersionId: str | None = None) -> dict[str, Any]:
        with self._lock:
            version = self._current(Bucket, Key, "GetObject", VersionId)
        assert version.body is not None
        return {**self._describe(version), "Body": io.BytesIO(version.body)}

    @staticmethod
    def _describe(version: _Version) -> dict[str, Any]:
        assert version.body is not None
        return {
            "ETag": version.etag,
            "VersionId": version.version_id,
            "ContentLength": len(version.body),
            "ContentType": version.content_type,
            "Metadata": dict(version.metadata),
            "LastModified": version.last_modified,
        }

    def put_object(
        self,
        Bucket: str,
        Key: str,
        Body: bytes | BinaryIO = b"",
        ContentType: str = "binary/octet-stream",
        Metadata: dict[str, str] | None = None,
        IfMatch: str | None = None,
        IfNoneMatch: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        body = Body if isinstance(Body, bytes) else Body.read()
        etag = f'"{hashlib.md5(body, usedforsecurity=False).hexdigest()}"'
        with self._lock:
            versions = self._bucket(Bucket, "PutObject").setdefault(Key, [])
            live = versions[-1] if versions and versions[-1].body is not None else None
            if IfNoneMatch == "*" and live is not None:
                raise _error("PreconditionFailed", 412, "PutObject")
            if IfMatch is not None:
                if live is None:
                    raise _error("NoSuchKey", 404, "PutObject")
                if live.etag != IfMatch:
                    raise _error("PreconditionFailed", 412, "PutObject")
            version = _Version(uuid.uuid4().hex, body, etag, ContentType, {**(Metadata or {})})
            versions.append(version)
        return {"ETag": etag, "VersionId": version.version_id}

    def delete_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        with self._lock:
            versions = self._bucket(Bucket, "DeleteObject").setdefault(Key, [])
            marker = _Version(uuid.uuid4().hex, None)
            versions.append(marker)
        return {"DeleteMarker": True, "VersionId": marker.version_id}

    def upload_fileobj(
        self,
        Fileobj: BinaryIO,
        Bucket: str,
        Key: str,
        ExtraArgs: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        self.put_object(Bucket=Bucket, Key=Key, Body=Fileobj.read(), **(ExtraArgs or {}))

    def download_fileobj(
        self,
        Bucket: str,
        Key: str,
        Fileobj: BinaryIO,
        ExtraArgs: dict[str, Any] | None = None,
        **_: Any,
    ) -> None:
        Fileobj.write(self.get_object(Bucket=Bucket, Key=Key, **(ExtraArgs or {}))["Body"].read())

    # ------------------------------------------------------------------------------ listings
    def get_paginator(self, operation: str) -> _Paginator:
        if operation not in {"list_objects_v2", "list_object_versions"}:
            raise NotImplementedError(f"MemoryS3 has no paginator for {operation}")
        return _Paginator(self, operation)

    def _snapshot(self, bucket: str, operation: str) -> list[tuple[str, list[_Version]]]:
        with self._lock:
            return [(k, list(v)) for k, v in sorted(self._bucket(bucket, operation).items())]


class _Paginator:
    def __init__(self, s3: MemoryS3, operation: str) -> None:
        self.s3 = s3
        self.operation = operation

    def paginate(
        self,
        Bucket: str,
        Prefix: str = "",
        Delimiter: str = "",
        PaginationConfig: dict[str, Any] | None = None,
        **_: Any,
    ) -> Iterator[dict[str, Any]]:
        page_size = int((PaginationConfig or {}).get("PageSize", 1000))
        entries = [(k, v) for k, v in self.s3._snapshot(Bucket, "List") if k.startswith(Prefix)]
        if self.operation == "list_objects_v2":
            entries = [(k, v) for k, v in entries if v[-1].body is not None]
        prefixes: list[str] = []
        if Delimiter:
            kept = []
            for key, versions in entries:
                cut = key.find(Delimiter, len(Prefix))
                if cut < 0:
                    kept.append((key, versions))
                elif (common := key[: cut + len(Delimiter)]) not in prefixes:
                    prefixes.append(common)
            entries = kept
        for start in range(0, max(len(entries), 1), page_size):
            chunk = entries[start : start + page_size]
            page: dict[str, Any] = {"KeyCount": len(chunk), "IsTruncated": start + page_size < len(entries)}
            if start == 0 and prefixes:
                page["CommonPrefixes"] = [{"Prefix": p} for p in prefixes]
            if self.operation == "list_objects_v2":
                if chunk:
                    page["Contents"] = [_content(k, v[-1]) for k, v in chunk]
            else:
                page["Versions"] = [
                    {**_content(k, v), "VersionId": v.version_id, "IsLatest": i == len(vs) - 1}
                    for k, vs in chunk
                    for i, v in reversed(list(enumerate(vs)))
                    if v.body is not None
                ]
                page["DeleteMarkers"] = [
                    {"Key": k, "VersionId": v.version_id, "IsLatest": i == len(vs) - 1}
                    for k, vs in chunk
                    for i, v in reversed(list(enumerate(vs)))
                    if v.body is None
                ]
            yield page


def _content(key: str, version: _Version) -> dict[str, Any]:
    assert version.body is not None
    return {
        "Key": key,
        "Size": len(version.body),
        "ETag": version.etag,
        "LastModified": version.last_modified,
    }
