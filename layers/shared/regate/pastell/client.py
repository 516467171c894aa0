"""A read-only Pastell API v2 client for the harvester (pastell-api.md §2–§12).

Every call goes through :class:`regate.http.retry.RetryingSession` (429 honours ``Retry-after``, 5xx and
timeouts back off, 401 is never retried: it would burn the 5-logins-per-minute budget). Every JSON answer is
checked before use: HTML error pages, malformed JSON, the "HTTP 200 with an error body" Pastell returns when
it cannot encode non-UTF-8 data, wrong types and missing ids all raise :class:`PastellResponseError` with a
message saying what was wrong and where.

Every call is bounded (:class:`PastellLimits`): a wall-clock deadline per call, never later than the run's
(``run_deadline``), and a byte cap on every body, read as a stream (JSON answers, error bodies and files
alike), so a slow, huge or endless answer ends in bounded time and memory. A ``Retry-after`` longer than the
cap or than the run's remaining time raises :class:`PastellRateLimitedError` instead of sleeping.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import quote

import requests
from pydantic import BaseModel, ValidationError

from regate.http.errors import HttpError
from regate.http.limits import (
    BodyTooLarge,
    Deadline,
    DeadlineExceeded,
    RetryAfterTooLong,
    iter_body,
    read_body,
)
from regate.http.retry import RetryingSession
from regate.pastell.models import DocumentDetail, DocumentRow, Entite
from regate.settings import Settings

#: Act + annexes are limited to 150 MB by Pastell (``threshold_size: 157286400``); a little margin.
MAX_FILE_BYTES = 160 * 1024 * 1024
#: Pastell's answer when a file slot is empty (404) or set but missing on disk (400) — pastell-api.md §9.
FILE_MISSING_MESSAGE = "Ce fichier n'existe pas"
_ERROR_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class PastellLimits:
    """Bounds of every call (defaults = the settings' defaults)."""

    call_deadline_seconds: float = 120.0
    json_max_bytes: int = 64 * 1024 * 1024
    file_deadline_seconds: float = 900.0
    file_max_bytes: int = MAX_FILE_BYTES
    max_pages: int = 10000

    @classmethod
    def from_settings(cls, settings: Settings) -> PastellLimits:
        return cls(
            call_deadline_seconds=settings.http_deadline_seconds,
            json_max_bytes=settings.http_max_json_bytes,
            file_deadline_seconds=settings.pastell_file_deadline_seconds,
            file_max_bytes=settings.pastell_max_file_bytes,
            max_pages=settings.pastell_max_pages,
        )


class PastellError(Exception):
    """A Pastell call that failed for good; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class PastellAuthError(PastellError):
    """401: wrong credentials or disabled account. Never retried (login rate limit)."""


class PastellForbiddenError(PastellError):
    """403: the account lacks a right (``droit``), typically ``<flux>:edition`` for details and files."""

    def __init__(self, message: str, status: int | None = None, url: str = "", droit: str = "") -> None:
        super().__init__(message, status, url)
        self.droit = droit


class PastellNotFoundError(PastellError):
    """404: unknown entity, document, file slot or route."""


class PastellResponseError(PastellError):
    """A 2xx answer whose body is not what the API documents (HTML, bad JSON, error body, wrong types)."""


class PastellTooLargeError(PastellResponseError):
    """An answer larger than its byte cap (JSON or file): refused, never read whole."""


class PastellPaginationError(PastellResponseError):
    """A listing that cannot be trusted to be complete (page limit reached, offset ignored)."""


class PastellTimeoutError(PastellError):
    """The call, or the run it belongs to, reached its wall-clock deadline."""


class PastellRateLimitedError(PastellError):
    """429 with a ``Retry-after`` beyond the cap or the run's remaining time: not waited for."""

    def __init__(self, message: str, retry_after: float, url: str = "") -> None:
        super().__init__(message, 429, url)
        self.retry_after = retry_after


class PastellFileMissingError(PastellError):
    """``Ce fichier n'existe pas`` (404 empty slot, 400 slot set but file gone): a permanent condition."""


@dataclass(frozen=True)
class PastellAuth:
    """HTTP Basic (``user``/``password``) or Bearer (``token``, Pastell ≥ 4.0); the token wins."""

    user: str = ""
    password: str = ""
    token: str = ""

    def header(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.user:
            raw = f"{self.user}:{self.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
        return {}

    @classmethod
    def from_settings(cls, settings: Settings) -> PastellAuth:
        return cls(
            user=settings.pastell_user,
            password=settings.pastell_password.get_secret_value(),
            token=settings.pastell_token.get_secret_value(),
        )

    def __repr__(self) -> str:  # never leak secrets in logs
        kind = "bearer" if self.token else ("basic" if self.user else "none")
        return f"PastellAuth({kind}, user={self.user!r})"


@dataclass(frozen=True)
class DownloadedFile:
    name: str
    sha256: str
    size: int
    content_type: str


_DROIT = re.compile(r"droit=([^,\s]+)")


class PastellClient:
    """Read-only access to one Pastell platform (``base_url`` = Pastell root; ``/api/v2/`` is added)."""

    def __init__(
        self,
        base_url: str,
        auth: PastellAuth,
        session: RetryingSession,
        limits: PastellLimits | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api/v2"
        self.auth = auth
        self.session = session
        self.limits = limits or PastellLimits()
        #: No call outlives this (set by a capture run: its own deadline).
        self.run_deadline = Deadline.never()

    @classmethod
    def from_settings(cls, settings: Settings, session: RetryingSession) -> PastellClient:
        if not settings.pastell_url:
            raise PastellError("REGATE_PASTELL_URL is not set: where is Pastell?")
        return cls(
            settings.pastell_url,
            PastellAuth.from_settings(settings),
            session,
            PastellLimits.from_settings(settings),
        )

    # ------------------------------------------------------------------------------ routes
    def entites(self) -> list[Entite]:
        """``GET /entite``: every entity visible to the account (with descendants)."""
        payload = self._get_json("/entite")
        return _validate_list(payload, Entite, "GET /entite")

    def flux_definition(self, flux: str) -> dict[str, Any]:
        """``GET /flux/{flux}`` as received (a ``field_id → properties`` object)."""
        try:
            payload = self._get_json(f"/flux/{quote(flux, safe='')}")
        except PastellError as exc:
            # Pastell answers an unknown flux with a generic 400 "Type X introuvable" (§4).
            if exc.status == 400 and "introuvable" in str(exc):
                raise PastellNotFoundError(str(exc), 404, exc.url) from exc
            raise
        if not isinstance(payload, dict):
            raise PastellResponseError(
                f"GET /flux/{flux}: expected a JSON object, got {type(payload).__name__}"
            )
        return payload

    def list_documents(
        self,
        id_e: str,
        flux: str,
        *,
        offset: int = 0,
        limit: int = 100,
        etat_transit: str | None = None,
        state_begin: str | None = None,
        state_end: str | None = None,
        lastetat: str | None = None,
        tri: str | None = None,
    ) -> list[DocumentRow]:
        """One page of ``GET /entite/{id_e}/document`` sorted ascending (stable under state changes)."""
        params: dict[str, str] = {"type": flux, "offset": str(offset), "limit": str(limit), "sens_tri": "ASC"}
        if tri:
            params["tri"] = tri
        if etat_transit:
            params["etatTransit"] = etat_transit
            if state_begin:
                params["state_begin"] = state_begin
            if state_end:
                params["state_end"] = state_end
        if lastetat:
            params["lastetat"] = lastetat
        path = f"/entite/{quote(id_e, safe='')}/document"
        payload = self._get_json(path, params=params)
        return _validate_list(payload, DocumentRow, f"GET {path}")

    def iter_documents(
        self, id_e: str, flux: str, page_size: int = 100, max_pages: int | None = None, **filters: Any
    ) -> Iterator[DocumentRow]:
        """Every listed document, each ``id_d`` once, paging until an **empty** page.

        A short page does not end the listing: a proxy or a version capping the page size answers fewer
        rows than asked although more follow, so the next offset is the number of rows received so far.
        A non-empty page bringing no new id (an ignored offset) or more than ``max_pages`` pages raise
        :class:`PastellPaginationError` after yielding what was read: the caller must not treat the
        listing as complete. With ``etatTransit`` a document that entered the state twice is listed
        twice (§7): de-duplicated here.
        """
        limit_pages = max_pages or self.limits.max_pages
        seen: set[str] = set()
        offset = 0
        where = f"GET /entite/{id_e}/document?type={flux}"
        for _page_number in range(limit_pages):
            page = self.list_documents(id_e, flux, offset=offset, limit=page_size, **filters)
            if not page:
                return
            new = [row for row in page if row.id_d not in seen]
            if not new:
                raise PastellPaginationError(
                    f"{where}: page at offset {offset} brings no new document (offset ignored by the "
                    "server or a proxy?): the listing cannot be trusted to be complete",
                    None,
                    where,
                )
            for row in new:
                if row.id_d not in seen:
                    seen.add(row.id_d)
                    yield row
            offset += len(page)
        raise PastellPaginationError(
            f"{where}: more than {limit_pages} pages (REGATE_PASTELL_MAX_PAGES): listing stopped at "
            f"{len(seen)} documents",
            None,
            where,
        )

    def detail_raw(self, id_e: str, id_d: str) -> tuple[dict[str, Any], DocumentDetail]:
        """The detail as received (to store) and its validated view (to use)."""
        path = f"/entite/{quote(id_e, safe='')}/document/{quote(id_d, safe='')}"
        payload = self._get_json(path)
        if not isinstance(payload, dict):
            raise PastellResponseError(f"GET {path}: expected a JSON object, got {type(payload).__name__}")
        try:
            detail = DocumentDetail.model_validate(payload)
        except ValidationError as exc:
            raise PastellResponseError(f"GET {path}: unexpected document detail: {_brief(exc)}") from exc
        if detail.info.id_d != id_d:
            raise PastellResponseError(
                f"GET {path}: answered for document {detail.info.id_d!r}, not {id_d!r}"
            )
        return payload, detail

    def download_file(
        self, id_e: str, id_d: str, field: str, num: int, sink: IO[bytes], max_bytes: int | None = None
    ) -> DownloadedFile:
        """Stream ``…/file/{field}/{num}`` into ``sink`` (never whole in memory); returns sha256 and size.

        Raises :class:`PastellFileMissingError` when Pastell says the file does not exist (§9).
        """
        document = f"/entite/{quote(id_e, safe='')}/document/{quote(id_d, safe='')}"
        path = f"{document}/file/{quote(field, safe='')}/{int(num)}"
        limit = max_bytes if max_bytes is not None else self.limits.file_max_bytes
        deadline = self.run_deadline.within(self.limits.file_deadline_seconds)
        response = self._send(path, deadline=deadline)
        try:
            if response.status_code >= 400:
                message = _error_message(response, deadline)
                if response.status_code in (400, 404) and FILE_MISSING_MESSAGE.lower() in message.lower():
                    raise PastellFileMissingError(
                        f"GET {path}: {response.status_code} {message}", response.status_code, path
                    )
                self._raise_for_status(response, path, deadline, message)
            digest = hashlib.sha256()
            size = 0
            for chunk in iter_body(response, deadline, limit, f"GET {path}"):
                size += len(chunk)
                digest.update(chunk)
                sink.write(chunk)
            name = _content_disposition_name(response.headers.get("Content-Disposition", ""))
            return DownloadedFile(name, digest.hexdigest(), size, response.headers.get("Content-Type", ""))
        except BodyTooLarge as exc:
            raise PastellTooLargeError(f"GET {path}: file larger than {exc.limit} bytes", None, path) from exc
        except DeadlineExceeded as exc:
            raise PastellTimeoutError(f"GET {path}: download too slow ({exc})", None, path) from exc
        except (HttpError, requests.RequestException) as exc:
            raise PastellError(f"GET {path}: download interrupted: {exc}", None, path) from exc
        finally:
            response.close()

    # --------------------------------------------------------------------------- plumbing
    def _send(
        self, path: str, params: dict[str, str] | None = None, deadline: Deadline | None = None
    ) -> requests.Response:
        """Send a GET (always streamed: bodies are read by :func:`iter_body`, bounded)."""
        url = self.api_url + path
        deadline = deadline or self.run_deadline.within(self.limits.call_deadline_seconds)
        try:
            return self.session.get(
                url, params=params, headers=self.auth.header(), stream=True, deadline=deadline
            )
        except RetryAfterTooLong as exc:
            raise PastellRateLimitedError(
                f"GET {path}: {exc} — this (entity, flux) is retried by the next run", exc.retry_after, path
            ) from exc
        except DeadlineExceeded as exc:
            raise PastellTimeoutError(f"GET {path}: {exc}", None, path) from exc
        except HttpError as exc:
            raise PastellError(f"GET {path}: Pastell unreachable after retries ({exc})", None, path) from exc

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        deadline = self.run_deadline.within(self.limits.call_deadline_seconds)
        response = self._send(path, params, deadline)
        try:
            self._raise_for_status(response, path, deadline)
            try:
                body = read_body(response, deadline, self.limits.json_max_bytes, f"GET {path}")
            except BodyTooLarge as exc:
                raise PastellTooLargeError(
                    f"GET {path}: answer larger than {exc.limit} bytes (REGATE_HTTP_MAX_JSON_BYTES)",
                    None,
                    path,
                ) from exc
            except DeadlineExceeded as exc:
                raise PastellTimeoutError(f"GET {path}: answer too slow ({exc})", None, path) from exc
            except HttpError as exc:
                raise PastellError(f"GET {path}: answer interrupted ({exc})", None, path) from exc
            return _decode_json(body, response.headers.get("Content-Type", ""), path)
        finally:
            response.close()

    def _raise_for_status(
        self, response: requests.Response, path: str, deadline: Deadline, message: str | None = None
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        if message is None:
            message = _error_message(response, deadline)
        if status == 401:
            raise PastellAuthError(
                f"GET {path}: 401 {message} — check REGATE_PASTELL_USER/REGATE_PASTELL_PASSWORD or "
                "REGATE_PASTELL_TOKEN (not retried: Pastell allows 5 login attempts per minute)",
                status,
                path,
            )
        if status == 403:
            found = _DROIT.search(message)
            droit = found.group(1) if found else ""
            hint = (
                f"the Pastell account needs the right '{droit}' on this entity"
                if droit
                else "the Pastell account lacks a right on this entity"
            )
            if droit.endswith(":edition"):
                hint += (
                    " (Pastell requires <flux>:edition to read document details and files, not only lecture)"
                )
            raise PastellForbiddenError(f"GET {path}: 403 {message} — {hint}", status, path, droit)
        if status == 404:
            raise PastellNotFoundError(f"GET {path}: 404 {message}", status, path)
        if status == 429:
            raise PastellError(
                f"GET {path}: 429 rate limited even after waiting Retry-after ({message})", status, path
            )
        raise PastellError(f"GET {path}: HTTP {status} {message}", status, path)


def _decode_json(body: bytes, content_type: str, path: str) -> Any:
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise PastellResponseError(
            f"GET {path}: got an HTML page instead of JSON (proxy or login page?): {body[:120]!r}"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PastellResponseError(f"GET {path}: answer is not UTF-8 ({exc})") from exc
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PastellResponseError(f"GET {path}: malformed JSON ({exc.msg} at char {exc.pos})") from exc
    except (ValueError, RecursionError) as exc:  # e.g. a 5000-digit number, absurd nesting
        raise PastellResponseError(f"GET {path}: unreadable JSON ({type(exc).__name__})") from exc
    if isinstance(payload, dict) and payload.get("status") == "error":
        # Pastell answers 200 + error body when it cannot encode non-UTF-8 data (§2).
        raise PastellResponseError(
            f"GET {path}: Pastell returned an error with HTTP 200: {payload.get('error-message')}"
        )
    return payload


def _validate_list(payload: Any, model: type[BaseModel], where: str) -> list[Any]:
    if not isinstance(payload, list):
        raise PastellResponseError(f"{where}: expected a JSON array, got {type(payload).__name__}")
    rows = []
    for index, item in enumerate(payload):
        try:
            rows.append(model.model_validate(item))
        except ValidationError as exc:
            raise PastellResponseError(f"{where}: item {index} is invalid: {_brief(exc)}") from exc
    return rows


def _brief(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()[:5]
    )


def _error_message(response: requests.Response, deadline: Deadline) -> str:
    """The ``error-message`` of an error body, read with a small cap (an error page can be endless too)."""
    try:
        body = read_body(response, deadline, _ERROR_BODY_BYTES, "error body")
    except HttpError:
        return f"(unreadable error body, HTTP {response.status_code})"
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(payload, dict) and "error-message" in payload:
        return str(payload["error-message"])
    return str(payload)[:200]


_FILENAME = re.compile(r"""filename\*?=(?:UTF-8'')?"?([^";]+)"?""", re.IGNORECASE)


def _content_disposition_name(header: str) -> str:
    found = _FILENAME.search(header or "")
    return found.group(1).strip() if found else ""


def make_pastell_session(
    settings: Settings, clock: Any = None, pool_size: int | None = None
) -> RetryingSession:
    """A retrying session whose pool fits the listings and the downloads in flight at once."""
    from requests.adapters import HTTPAdapter

    from regate.http.retry import RetryPolicy

    size = pool_size or settings.pastell_concurrency + settings.pastell_listing_concurrency
    http = requests.Session()
    adapter = HTTPAdapter(pool_connections=size, pool_maxsize=size)
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    # A harvest never sleeps through a long Retry-after: the pair fails for this run (next run retries).
    policy = RetryPolicy.from_settings(settings, fail_on_long_retry_after=True)
    return RetryingSession(policy, http, clock)
