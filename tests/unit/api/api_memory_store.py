"""An in-memory stand-in for the curated bucket (no S3 at all) for the API unit tests."""

from __future__ import annotations

import hashlib
import io
from typing import Any


class MemoryClient:
    """The two S3 calls the dataset layer makes (LIST is done by MemoryStore), on a dict."""

    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.gets = 0

    def get_object(self, Bucket: str, Key: str, IfMatch: str | None = None) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.gets += 1
        body = self.objects.get(Key)
        if body is None:
            raise ClientError(
                {"Error": {"Code": "NoSuchKey"}, "ResponseMetadata": {"HTTPStatusCode": 404}}, "Get"
            )
        if IfMatch is not None and IfMatch.strip('"') != hashlib.md5(body).hexdigest():
            raise ClientError(
                {"Error": {"Code": "PreconditionFailed"}, "ResponseMetadata": {"HTTPStatusCode": 412}}, "Get"
            )
        return {"Body": io.BytesIO(body)}


class MemoryStore:
    """Duck-typed ``ObjectStore`` over a dict (ETag = MD5 as on S3 single-part uploads)."""

    bucket = "memory"

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.client = MemoryClient(self.objects)
        self.listed: list[str] = []

    def put_if_changed(self, key: str, body: bytes, content_type: str = "", metadata: Any = None) -> None:
        self.objects[key] = body

    def list_objects(self, prefix: str) -> list[dict[str, Any]]:
        self.listed.append(prefix)
        return [
            {"Key": k, "ETag": f'"{hashlib.md5(v).hexdigest()}"', "Size": len(v)}
            for k, v in sorted(self.objects.items())
            if k.startswith(prefix)
        ]
