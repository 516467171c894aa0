"""Large ``format=csv|parquet`` exports: stored once in the curated bucket, served by presigned URL.

API Gateway + Lambda cap a response at 6 MB, so an export whose body would exceed
``api_inline_export_max_bytes`` is written under the content-addressed key
:func:`regate.storage.layout.public_export_key` (sha256 of data version, filters, sort and format) and
the API answers 302 to a short-lived presigned GET URL. The same request on the same data always names
the same object, so it is written once (never a second S3 version) and later requests skip the work;
a data change gives a new version hence a new key, so an export never serves acts withdrawn since.
Objects under ``public/exports/`` expire after 2 days (bucket lifecycle rule).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from regate.storage.store import ObjectStore, PreconditionFailed

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


def payload_size(length: int, fmt: str) -> int:
    """Bytes an export body takes in the Lambda response: Parquet travels base64-encoded (4/3)."""
    return length if fmt == "csv" else 4 * ((length + 2) // 3)


def stored_length(store: ObjectStore, key: str) -> int | None:
    """Size of an already stored export, ``None`` when absent or unknown.

    Under a prefix-scoped ``s3:ListBucket`` grant, AWS answers 403 (not 404) to a HEAD on a missing
    key: that is "unknown", and :func:`store_export` then relies on its create-only write."""
    try:
        found = store.head(key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code", "") in {"403", "AccessDenied", "Forbidden"}:
            return None
        raise
    return None if found is None else int(found.get("ContentLength", 0))


def store_export(store: ObjectStore, key: str, body: bytes, fmt: str, checked: bool = False) -> bool:
    """Write ``body`` under ``key`` unless an object is already there; ``True`` if this call wrote it.

    ``checked``: the caller has just looked (:func:`stored_length`) and found nothing, so no second HEAD.
    Create-only (``If-None-Match: *``): two concurrent requests for the same export leave one
    version, and since the key is content-addressed the one that lost wrote the same bytes anyway."""
    if not checked and stored_length(store, key) is not None:
        return False
    try:
        store.put_conditional(key, body, None, content_type=CONTENT_TYPES[fmt])
    except PreconditionFailed:
        return False
    return True


def presigned_export_url(store: ObjectStore, key: str, file_name: str, expires_in: int) -> str:
    """Short-lived GET URL; S3 answers it with ``Content-Disposition: attachment`` like the inline path."""
    params: dict[str, Any] = {
        "Bucket": store.bucket,
        "Key": key,
        "ResponseContentDisposition": f'attachment; filename="{file_name}"',
    }
    return store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)
