"""Client of the Atexo « salle des marchés » (SDM) DECP API (``next-flows.md`` §B.3, §B.5).

* Token: ``GET {host}/api.php/ws/authentification/connexion/{login}/{password}`` → ``<ticket>…</ticket>``
  (XML). Bad credentials come back as an HTML page: anything but a ticket is an :class:`AtexoAuthError`.
  The password travels in the path, so URLs of that call never appear in an error, a log or a retry hook.
* Export: ``POST {host}/app.php/api/v1/donnees-essentielles/contrat/format-pivot`` with a JSON body
  (``token``, ``format=json``, ``version=v1``, ``siren``, ``date_notif_min``/``date_notif_max`` as
  ``DD-MM-YYYY``) → a DECP 2.0.x JSON document. No pagination: callers ask one month at a time, as Mégalis
  does to avoid the platform's timeouts on long ranges.

Every answer is checked before it is trusted: status (401 renews the token once, 403/404/400 are final, 429
and 5xx are retried by the project's one policy :class:`RetryingSession`), size (streamed, cut at
``max_response_bytes``), HTML or XML instead of JSON, malformed JSON — each an :class:`AtexoError` subclass
with a stable ``code``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from regate.clock import Clock, SystemClock, utc_iso
from regate.flux.marches.parse import DecpDocumentError, parse_decp_document
from regate.http.retry import HttpError, RetryingSession, RetryPolicy
from regate.settings import Settings

TOKEN_PATH = "/api.php/ws/authentification/connexion/{login}/{password}"
EXPORT_PATH = "/app.php/api/v1/donnees-essentielles/contrat/format-pivot"
MAX_TOKEN_BYTES = 4096
REJECTED_HEAD_BYTES = 4096
_TICKET = re.compile(
    r"^\s*(?:<\?xml[^>]{0,200}\?>\s*)?<ticket>\s*([A-Za-z0-9._~+/=-]{8,512})\s*</ticket>\s*$"
)
_CHUNK = 256 * 1024


class AtexoError(Exception):
    """A call to the SDM that failed for good; ``code`` is stable (reports), ``status`` the HTTP status."""

    code = "atexo_erreur"

    def __init__(
        self, message: str, status: int | None = None, code: str | None = None, *, head: bytes = b""
    ) -> None:
        super().__init__(message)
        self.status = status
        if code:
            self.code = code
        self.head = head[:REJECTED_HEAD_BYTES]
        self.sha256 = hashlib.sha256(head).hexdigest() if head else None


class AtexoAuthError(AtexoError):
    """Credentials refused or token not accepted after one renewal."""

    code = "authentification"


class AtexoForbiddenError(AtexoError):
    """403: the account may not export this buyer."""

    code = "acces_refuse"


class AtexoUnavailableError(AtexoError):
    """5xx, 429 or network failures that outlived the retries."""

    code = "indisponible"


class AtexoResponseError(AtexoError):
    """A 2xx (or unexpected) answer that is not what the API documents."""

    code = "reponse_invalide"


class AtexoTicket(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: SecretStr
    obtained_at: datetime


class ExportRequest(BaseModel):
    """One export call: a buyer (SIREN) and a range of notification dates (inclusive)."""

    model_config = ConfigDict(frozen=True)

    siren: str = Field(pattern=r"^[0-9]{9}$")
    date_min: date
    date_max: date

    @field_validator("date_max")
    @classmethod
    def _ordered(cls, value: date, info: Any) -> date:
        start = info.data.get("date_min")
        if start is not None and value < start:
            raise ValueError("date_max before date_min")
        return value

    def body(self, token: str) -> dict[str, str]:
        return {
            "token": token,
            "format": "json",
            "version": "v1",
            "siren": self.siren,
            "date_notif_min": self.date_min.strftime("%d-%m-%Y"),
            "date_notif_max": self.date_max.strftime("%d-%m-%Y"),
        }


class ExportAnswer(BaseModel):
    """An export answer that passed the checks: the bytes exactly as received, and what they hold."""

    model_config = ConfigDict(frozen=True)

    request: ExportRequest
    body: bytes = Field(repr=False)
    sha256: str
    content_type: str
    fetched_at: str
    marches: int
    concessions: int
    repairs: list[str] = Field(
        default_factory=list, description="Document-level defects the normaliser will repair"
    )


@dataclass(frozen=True)
class AtexoCredentials:
    login: str
    password: str

    def __repr__(self) -> str:  # never leak secrets in logs
        return f"AtexoCredentials(login={self.login!r}, password=***)"


class AtexoClient:
    """One SDM platform; takes its HTTP session and clock as dependencies."""

    def __init__(
        self,
        base_url: str,
        credentials: AtexoCredentials,
        session: RetryingSession,
        clock: Clock | None = None,
        *,
        max_response_bytes: int = 100 * 1024 * 1024,
        token_ttl_seconds: int = 1800,
        max_document_records: int = 500_000,
    ) -> None:
        if not base_url:
            raise AtexoError(
                "REGATE_ATEXO_URL is not set: where is the salle des marchés?", code="configuration"
            )
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.session = session
        self.clock = clock or SystemClock()
        self.max_response_bytes = max_response_bytes
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.max_document_records = max_document_records
        self._ticket: AtexoTicket | None = None
        self.token_calls = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock | None = None, session: RetryingSession | None = None
    ) -> AtexoClient:
        session = session or RetryingSession(RetryPolicy.from_settings(settings), clock=clock)
        return cls(
            settings.atexo_url,
            AtexoCredentials(settings.atexo_login, settings.atexo_password.get_secret_value()),
            session,
            clock,
            max_response_bytes=settings.atexo_max_response_bytes,
            token_ttl_seconds=settings.atexo_token_ttl_seconds,
            max_document_records=settings.marches_max_records_per_document,
        )

    # ------------------------------------------------------------------------------------ token
    def token(self, renew: bool = False) -> str:
        now = self.clock.now()
        if not renew and self._ticket is not None and now - self._ticket.obtained_at < self.token_ttl:
            return self._ticket.value.get_secret_value()
        if not self.credentials.login or not self.credentials.password:
            raise AtexoAuthError("REGATE_ATEXO_LOGIN / REGATE_ATEXO_PASSWORD are not set")
        path = TOKEN_PATH.format(
            login=quote(self.credentials.login, safe=""), password=quote(self.credentials.password, safe="")
        )
        shown = TOKEN_PATH.format(login=quote(self.credentials.login, safe=""), password="***")
        self.token_calls += 1
        # Same connection pool and policy, but no on_retry hook: it would be handed the URL (the password).
        quiet = RetryingSession(self.session.policy, session=self.session.session, clock=self.session.clock)
        try:
            response = quiet.get(self.base_url + path, stream=True)
        except (HttpError, requests.RequestException):
            # the exception text holds the URL, hence the password: not chained, not repeated
            raise AtexoUnavailableError(f"GET {shown}: platform unreachable") from None
        with response:
            if response.status_code in (401, 403):
                raise AtexoAuthError(
                    f"GET {shown}: HTTP {response.status_code}, credentials refused", response.status_code
                )
            if response.status_code >= 500 or response.status_code == 429:
                raise AtexoUnavailableError(f"GET {shown}: HTTP {response.status_code}", response.status_code)
            if response.status_code != 200:
                raise AtexoResponseError(
                    f"GET {shown}: HTTP {response.status_code}", response.status_code, "statut_inattendu"
                )
            body = _read_limited(response, MAX_TOKEN_BYTES, f"GET {shown}")
        text = body.decode("utf-8", errors="replace")
        match = _TICKET.match(text)
        if match is None:
            what = (
                "an HTML page"
                if "<html" in text[:500].lower() or "<!doctype" in text[:500].lower()
                else "no <ticket>"
            )
            raise AtexoAuthError(
                f"GET {shown}: {what} in the answer ({len(body)} bytes): credentials refused or wrong URL",
                200,
            )
        self._ticket = AtexoTicket(value=SecretStr(match.group(1)), obtained_at=now)
        return match.group(1)

    # ----------------------------------------------------------------------------------- export
    def export(self, request: ExportRequest) -> ExportAnswer:
        """The buyer's contracts notified in ``[date_min, date_max]``, checked; raises :class:`AtexoError`."""
        what = f"export {request.siren} {request.date_min}…{request.date_max}"
        response = self._post_export(request, self.token(), what)
        if response.status_code == 401:
            response.close()
            response = self._post_export(request, self.token(renew=True), what)
            if response.status_code == 401:
                response.close()
                raise AtexoAuthError(f"{what}: token refused twice (HTTP 401)", 401)
        with response:
            status = response.status_code
            if status == 403:
                raise AtexoForbiddenError(f"{what}: HTTP 403, the account may not export this buyer", 403)
            if status == 429 or status >= 500:
                raise AtexoUnavailableError(f"{what}: HTTP {status} after retries", status)
            if status == 404:
                raise AtexoResponseError(f"{what}: HTTP 404 (wrong REGATE_ATEXO_URL?)", 404, "introuvable")
            if status != 200:
                raise AtexoResponseError(f"{what}: HTTP {status}", status, "statut_inattendu")
            body = _read_limited(response, self.max_response_bytes, what)
            content_type = response.headers.get("Content-Type", "")
        try:
            parsed = parse_decp_document(
                body, max_bytes=self.max_response_bytes, max_records=self.max_document_records
            )
        except DecpDocumentError as exc:
            raise AtexoResponseError(f"{what}: {exc.message}", 200, exc.code, head=body) from None
        return ExportAnswer(
            request=request,
            body=body,
            sha256=hashlib.sha256(body).hexdigest(),
            content_type=content_type,
            fetched_at=utc_iso(self.clock.now()),
            marches=len(parsed.records["marche"]),
            concessions=len(parsed.records["contrat-concession"]),
            repairs=[r.code for r in parsed.repairs],
        )

    def _post_export(self, request: ExportRequest, token: str, what: str) -> requests.Response:
        try:
            return self.session.request(
                "POST", self.base_url + EXPORT_PATH, json=request.body(token), stream=True
            )
        except (HttpError, requests.RequestException) as exc:
            raise AtexoUnavailableError(f"{what}: platform unreachable ({type(exc).__name__})") from None


def _read_limited(response: requests.Response, limit: int, what: str) -> bytes:
    """The body, streamed; refuses (without reading on) an answer larger than ``limit``."""
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise AtexoResponseError(
            f"{what}: answer of {declared} bytes exceeds {limit}", response.status_code, "reponse_trop_grosse"
        )
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > limit:
                raise AtexoResponseError(
                    f"{what}: answer larger than {limit} bytes", response.status_code, "reponse_trop_grosse"
                )
            chunks.append(chunk)
    except requests.RequestException as exc:
        raise AtexoUnavailableError(f"{what}: answer cut ({type(exc).__name__})") from None
    return b"".join(chunks)
