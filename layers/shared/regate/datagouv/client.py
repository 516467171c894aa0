"""udata API v1 client (data.gouv.fr and regional udata portals).

One retry policy for every call (:class:`regate.http.RetryingSession`): 429 waits ``Retry-After`` /
``X-RateLimit-Reset``, 502/503/504 and timeouts back off, 400/401/403/404/410 come back at once.
Files above ``chunk_threshold`` are sent with udata's chunked upload protocol.

With ``dry_run=True`` every write is recorded in :attr:`DatagouvClient.planned` and NOT sent; reads still
go out so the plan reflects the portal's real state. Write methods then return placeholder objects
whose ids start with ``dry-run-``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from regate.clock import Clock
from regate.datagouv.models import (
    AuthError,
    DatagouvError,
    Dataset,
    MalformedResponse,
    Me,
    Organization,
    Page,
    Resource,
    parse_model,
)
from regate.http import HttpError, RetryingSession, RetryPolicy
from regate.settings import Settings

#: Statuses worth retrying on udata: rate limiting and proxy errors (a 500 is a bug: report it).
DATAGOUV_RETRY_STATUSES = frozenset({429, 502, 503, 504})
DRY_RUN_PREFIX = "dry-run-"


@dataclass(frozen=True)
class PlannedCall:
    """A write the client would have sent (dry run)."""

    method: str
    path: str
    summary: str

    def __str__(self) -> str:
        return f"{self.method} {self.path}  {self.summary}".rstrip()


@dataclass
class DatagouvClient:
    """Typed access to the udata endpoints Rég@te needs. Dependencies are injected (session, clock)."""

    base_url: str
    api_key: str
    session: RetryingSession
    chunk_threshold: int = 50 * 1024 * 1024
    chunk_size: int = 20 * 1024 * 1024
    dry_run: bool = False
    planned: list[PlannedCall] = field(default_factory=list)
    writes: int = 0
    _dry_counter: int = 0

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        http: requests.Session | None = None,
        dry_run: bool = False,
    ) -> DatagouvClient:
        policy = RetryPolicy.from_settings(settings, retry_statuses=DATAGOUV_RETRY_STATUSES)
        return cls(
            base_url=settings.datagouv_url,
            api_key=settings.datagouv_api_key.get_secret_value(),
            session=RetryingSession(policy, http, clock),
            chunk_threshold=settings.datagouv_chunk_threshold_bytes,
            chunk_size=settings.datagouv_chunk_size_bytes,
            dry_run=dry_run,
        )

    # ------------------------------------------------------------------------- plumbing
    @property
    def api_root(self) -> str:
        return self.base_url.rstrip("/") + "/api/1"

    def _send(self, method: str, path: str, expected: tuple[int, ...], **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.api_key:
            headers["X-API-KEY"] = self.api_key
        headers.setdefault("Accept", "application/json")
        url = self.api_root + path
        try:
            response = self.session.request(method, url, headers=headers, **kwargs)
        except HttpError as exc:
            raise DatagouvError(f"{method} {path}: portal unreachable ({exc})") from exc
        if method != "GET":
            self.writes += 1
        if response.status_code in expected:
            return response
        body = _body(response)
        message = _error_text(body) or response.reason or ""
        text = f"{method} {path}: HTTP {response.status_code} {message}".strip()
        if response.status_code == 401:
            raise AuthError(f"data.gouv.fr rejected the API key ({message or 'unauthorized'})", 401, body)
        sentry = response.headers.get("X-Sentry-ID")
        if sentry:
            text += f" (X-Sentry-ID {sentry})"
        raise DatagouvError(text, response.status_code, body)

    def _json(self, method: str, path: str, expected: tuple[int, ...], **kwargs: Any) -> Any:
        response = self._send(method, path, expected, **kwargs)
        if response.status_code == 204:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponse(
                f"{method} {path}: HTTP {response.status_code} answer is not JSON", response.status_code
            ) from exc

    def _write_json(self, method: str, path: str, payload: Any, expected: tuple[int, ...]) -> Any:
        return self._json(
            method,
            path,
            expected,
            data=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json"},
        )

    def _plan(self, method: str, path: str, summary: str) -> str:
        self.planned.append(PlannedCall(method, "/api/1" + path, summary))
        self._dry_counter += 1
        return f"{DRY_RUN_PREFIX}{self._dry_counter}"

    # ---------------------------------------------------------------------------- reads
    def me(self) -> Me:
        """Cheap key check (401 → :class:`AuthError`)."""
        return parse_model(Me, self._json("GET", "/me/", (200,)), "GET /me/")

    def get_organization(self, id_or_slug: str) -> Organization:
        path = f"/organizations/{_seg(id_or_slug)}/"
        return parse_model(Organization, self._json("GET", path, (200,)), f"GET {path}")

    def find_organizations_by_siret(self, siret: str) -> list[Organization]:
        path = "/organizations/"
        payload = self._json("GET", path, (200,), params={"business_number_id": siret})
        return parse_model(Page[Organization], payload, f"GET {path}").data

    def get_dataset(self, dataset_id: str) -> Dataset | None:
        """The dataset, or None when it is unknown (404) or deleted (410)."""
        path = f"/datasets/{_seg(dataset_id)}/"
        try:
            payload = self._json("GET", path, (200,))
        except DatagouvError as exc:
            if exc.status in (404, 410):
                return None
            raise
        return parse_model(Dataset, payload, f"GET {path}")

    def iter_organization_datasets(self, org_id: str, page_size: int = 100) -> Iterator[Dataset]:
        """Every dataset of an organisation, private ones included (we are a member)."""
        path = f"/organizations/{_seg(org_id)}/datasets/"
        page = 1
        while True:
            payload = self._json("GET", path, (200,), params={"page": page, "page_size": page_size})
            parsed = parse_model(Page[Dataset], payload, f"GET {path}")
            yield from parsed.data
            if not parsed.next_page or not parsed.data:
                return
            page += 1

    # --------------------------------------------------------------------------- writes
    def create_dataset(self, payload: dict[str, Any]) -> Dataset:
        if self.dry_run:
            new_id = self._plan("POST", "/datasets/", f"create dataset {payload.get('title')!r}")
            return Dataset.model_validate({**payload, "id": new_id, "organization": None, "resources": []})
        data = self._write_json("POST", "/datasets/", payload, (201,))
        return parse_model(Dataset, data, "POST /datasets/")

    def update_dataset(self, dataset_id: str, payload: dict[str, Any]) -> Dataset | None:
        """PUT a partial update. ``private`` must be in the payload (udata guide, §4.3)."""
        if "private" not in payload:
            raise ValueError("a dataset PUT must always send 'private'")
        path = f"/datasets/{_seg(dataset_id)}/"
        if self.dry_run:
            self._plan("PUT", path, f"update dataset fields {sorted(payload)}")
            return None
        return parse_model(Dataset, self._write_json("PUT", path, payload, (200,)), f"PUT {path}")

    def upload_new(self, dataset_id: str, filename: str, data: bytes) -> Resource:
        """New hosted resource (201); the portal names it after ``filename``."""
        path = f"/datasets/{_seg(dataset_id)}/upload/"
        if self.dry_run:
            new_id = self._plan("POST", path, f"upload new file {filename} ({len(data)} bytes)")
            return Resource(id=new_id, title=filename, filetype="file")
        payload = self._upload(path, filename, data, (201,))
        return parse_model(Resource, payload, f"POST {path}")

    def upload_replace(self, dataset_id: str, resource_id: str, filename: str, data: bytes) -> Resource:
        """Replace the file of a hosted resource (200); the portal resets its title to ``filename``."""
        path = f"/datasets/{_seg(dataset_id)}/resources/{_seg(resource_id)}/upload/"
        if self.dry_run:
            self._plan("POST", path, f"replace file with {filename} ({len(data)} bytes)")
            return Resource(id=resource_id, title=filename, filetype="file")
        payload = self._upload(path, filename, data, (200, 201))
        return parse_model(Resource, payload, f"POST {path}")

    def create_remote_resource(self, dataset_id: str, payload: dict[str, Any]) -> Resource:
        path = f"/datasets/{_seg(dataset_id)}/resources/"
        body = {**payload, "filetype": "remote"}
        if self.dry_run:
            new_id = self._plan("POST", path, f"create remote resource {payload.get('title')!r}")
            return Resource.model_validate({**body, "id": new_id})
        return parse_model(Resource, self._write_json("POST", path, body, (201,)), f"POST {path}")

    def update_resource(self, dataset_id: str, resource_id: str, payload: dict[str, Any]) -> Resource | None:
        path = f"/datasets/{_seg(dataset_id)}/resources/{_seg(resource_id)}/"
        if self.dry_run:
            self._plan("PUT", path, f"update resource fields {sorted(payload)}")
            return None
        return parse_model(Resource, self._write_json("PUT", path, payload, (200,)), f"PUT {path}")

    def delete_resource(self, dataset_id: str, resource_id: str) -> None:
        path = f"/datasets/{_seg(dataset_id)}/resources/{_seg(resource_id)}/"
        if self.dry_run:
            self._plan("DELETE", path, "delete resource")
            return
        try:
            self._send("DELETE", path, (204,))
        except DatagouvError as exc:
            if exc.status not in (404, 410):  # already gone: the goal is reached
                raise

    # -------------------------------------------------------------------------- uploads
    def _upload(self, path: str, filename: str, data: bytes, expected: tuple[int, ...]) -> Any:
        if len(data) <= self.chunk_threshold:
            return self._json("POST", path, expected, files={"file": (filename, data, upload_mime(filename))})
        return self._upload_chunked(path, filename, data, expected)

    def _upload_chunked(self, path: str, filename: str, data: bytes, expected: tuple[int, ...]) -> Any:
        """udata chunked protocol: parts with uuid/partindex/…, then a final call without ``file``."""
        upload_id = str(uuid.uuid4())
        parts = [data[i : i + self.chunk_size] for i in range(0, len(data), self.chunk_size)]
        total = len(parts)
        offset = 0
        for index, part in enumerate(parts):
            fields = {
                "uuid": upload_id,
                "filename": filename,
                "partindex": str(index),
                "partbyteoffset": str(offset),
                "totalparts": str(total),
                "chunksize": str(len(part)),
            }
            answer = self._json(
                "POST", path, (200,), data=fields, files={"file": (filename, part, upload_mime(filename))}
            )
            if not isinstance(answer, dict) or answer.get("success") is not True:
                raise MalformedResponse(f"POST {path}: chunk {index} not acknowledged: {answer!r}")
            offset += len(part)
        final = {"uuid": upload_id, "filename": filename, "totalparts": str(total)}
        return self._json("POST", path, expected, data=final)


def upload_mime(filename: str) -> str:
    """Content type of an uploaded part, from the file name (CSV for the SCDL files, JSON for DECP)."""
    return {"csv": "text/csv", "json": "application/json"}.get(
        filename.rsplit(".", 1)[-1].lower(), "application/octet-stream"
    )


def sha1_hex(data: bytes) -> str:
    """The checksum udata computes for hosted files."""
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def _seg(value: str) -> str:
    return quote(value, safe="")


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]


def _error_text(body: Any) -> str:
    """udata's error bodies come in four shapes (§7); flatten them to one line."""
    if isinstance(body, dict):
        parts: list[str] = []
        if body.get("message"):
            parts.append(str(body["message"]))
        if body.get("error"):
            parts.append(str(body["error"]))
        if body.get("errors"):
            parts.append(json.dumps(body["errors"], ensure_ascii=False))
        return " ".join(parts)
    if isinstance(body, str):
        return body.strip().splitlines()[0][:200] if body.strip() else ""
    return ""
