"""``format=csv|parquet`` exports: their own route, a bounded set of stored exports, 413 beyond.

Exports are served by ``/v1/exports/deliberations.{csv,parquet}`` (same filters as
``/v1/deliberations``, which answers ``format=csv|parquet`` with a 307 to it), so API Gateway can give them
their own, lower throttle (``ApiExportThrottling*`` in the template): an export costs far more than a page.

* An export whose body fits a Lambda response (``api_inline_export_max_bytes``, 5 MB; Parquet travels
  base64-encoded) is answered inline.
* A larger one is stored only when it is one of a small fixed set — the whole dataset, one year, one
  collectivité, one collectivité-year, in the default order — under the content-addressed key
  :func:`regate.storage.layout.public_export_key` (data version + filters + sort + format), and answered
  302 to a short-lived presigned URL. That set is bounded by the data (an empty or small selection is
  never stored), so anonymous clients cannot make the API write one object per distinct query string.
  A stored export is written once (create-only) and found again by a HEAD, without recomputing; a data
  change gives a new key, so an export never serves acts withdrawn since. ``public/exports/`` expires
  after 2 days (bucket lifecycle rule).
* Any other large export is refused with a 413 naming the fixed exports and the SCDL files.

The export is written to a local file first, so its size is known before anything is read into memory.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from pydantic import Field

from regate.api.errors import ApiError
from regate.api.params import FiltresActes, SortKey
from regate.storage.store import SHA256_META, ObjectStore

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
FORMATS = tuple(CONTENT_TYPES)
#: Order of the stored exports (the default ``sort`` of ``/v1/deliberations``).
STORED_SORT: SortKey = "-delib_date"


class ExportParams(FiltresActes):
    """``GET /v1/exports/deliberations.{csv,parquet}``: the filters of ``/v1/deliberations`` and its sort."""

    sort: SortKey = Field(default=STORED_SORT, description="Tri (`-` = décroissant) ; départage par acte_id")


def export_path(fmt: str) -> str:
    return f"/v1/exports/deliberations.{fmt}"


def file_name(fmt: str) -> str:
    return f"deliberations.{fmt}"


def stored_shape(filtres: Any, sort: str) -> str | None:
    """Which of the fixed exports this request is (``None``: not one, never stored)."""
    if sort != STORED_SORT or len(filtres.sirens) > 1:
        return None
    narrowed = filtres.date_min or filtres.date_max or filtres.matiere or filtres.tokens
    if narrowed or filtres.publie is not None:
        return None
    if filtres.sirens and filtres.annee is not None:
        return "collectivite-annee"
    if filtres.sirens:
        return "collectivite"
    return "annee" if filtres.annee is not None else "tout"


def too_large(size: int, limit: int, fmt: str) -> ApiError:
    """413: a large export that is not one of the fixed ones."""
    mb = 1_000_000
    return ApiError(
        413,
        f"Export trop volumineux pour une réponse directe ({size / mb:.1f} Mo, maximum {limit / mb:.1f} Mo). "
        "Restreignez les filtres, ou utilisez un export complet (stocké) : "
        f"{export_path(fmt)} sans filtre, avec seulement `annee`, seulement `siren` (un SIREN), ou "
        "`siren` + `annee`, dans l'ordre par défaut ; ou les fichiers SCDL "
        "/v1/deliberations/{siren}/{annee}.csv et /v1/deliberations/all/{annee}.csv.",
        details={"taille": size, "maximum": limit},
    )


def payload_size(length: int, fmt: str) -> int:
    """Bytes an export body takes in the Lambda response: Parquet travels base64-encoded (4/3)."""
    return length if fmt == "csv" else 4 * ((length + 2) // 3)


@contextmanager
def scratch_file(directory: Path, fmt: str) -> Iterator[Path]:
    """A private temporary path for one export, removed afterwards whatever happens."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f".export-{uuid.uuid4().hex}.{fmt}"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


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


def store_export(store: ObjectStore, key: str, body: bytes | Path, fmt: str, checked: bool = False) -> bool:
    """Write ``body`` (bytes or a local file) under ``key`` unless an object is there; ``True`` if written.

    ``checked``: the caller has just looked (:func:`stored_length`) and found nothing, so no second HEAD.
    Create-only (``If-None-Match: *``): two concurrent requests for the same export leave one
    version, and since the key is content-addressed the one that lost wrote the same bytes anyway."""
    if not checked and stored_length(store, key) is not None:
        return False
    digest = _sha256(body)
    args: dict[str, Any] = {
        "Bucket": store.bucket,
        "Key": key,
        "ContentType": CONTENT_TYPES[fmt],
        "ContentDisposition": f'attachment; filename="{file_name(fmt)}"',
        "Metadata": {SHA256_META: digest},
        "IfNoneMatch": "*",
    }
    try:
        if isinstance(body, Path):
            with open(body, "rb") as handle:
                store.client.put_object(Body=handle, ContentLength=os.path.getsize(body), **args)
        else:
            store.client.put_object(Body=body, **args)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in {"PreconditionFailed", "ConditionalRequestConflict"} or status in {409, 412}:
            return False
        raise
    return True


def presigned_export_url(store: ObjectStore, key: str, name: str, expires_in: int) -> str:
    """Short-lived GET URL; S3 answers it as an attachment with the export's type, like the inline path."""
    fmt = name.rsplit(".", 1)[-1]
    params: dict[str, Any] = {
        "Bucket": store.bucket,
        "Key": key,
        "ResponseContentDisposition": f'attachment; filename="{name}"',
        "ResponseContentType": CONTENT_TYPES.get(fmt, "application/octet-stream"),
    }
    return store.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)


def _sha256(body: bytes | Path) -> str:
    if isinstance(body, bytes):
        return hashlib.sha256(body).hexdigest()
    digest = hashlib.sha256()
    with open(body, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
