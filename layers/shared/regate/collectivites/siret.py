"""Siège SIRET of a collectivité from the public "recherche d'entreprises" API, cached in curated.

No offline registry package carries the siège SIRET, so when the operator config does not give it we ask
``GET {base_url}/search?q=<siren>`` (``results[].siege.siret``). The API is optional: short timeout, few
attempts, and every answer — found or not — is cached at ``layout.siret_cache_key(siren)`` with its date, so
a down API is not hammered and tests/demo never need the network.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import requests
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from regate.clock import Clock, SystemClock, utc_iso
from regate.collectivites.config import normalize_siren, normalize_siret
from regate.http.retry import HttpError, RetryingSession, RetryPolicy
from regate.storage import layout
from regate.storage.store import ObjectStore

logger = Logger(service="regate", child=True)

SOURCE = "recherche-entreprises"


class SiretCacheEntry(BaseModel):
    """``_cache/siret/{siren}.json``: one resolution attempt's outcome (a miss is cached too)."""

    model_config = ConfigDict(extra="ignore")

    siren: str
    siret: str | None
    status: Literal["found", "not_found", "invalid_answer", "error"]
    checked_at: datetime
    source: str = SOURCE
    detail: str | None = None

    @field_validator("checked_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        """Naive dates (hand-edited cache) are taken as UTC so comparisons never fail."""
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class _Siege(BaseModel):
    model_config = ConfigDict(extra="ignore")
    siret: str | None = None


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")
    siren: str | None = None
    siege: _Siege | None = None


class _SearchAnswer(BaseModel):
    """The part of the API's answer we rely on (the rest is ignored, so new fields never break us)."""

    model_config = ConfigDict(extra="ignore")
    results: list[_Result]


def default_session(timeout: float, clock: Clock | None = None) -> RetryingSession:
    """Few attempts and short waits: the API is a nice-to-have, never worth stalling a run for."""
    policy = RetryPolicy(
        max_attempts=2, backoff_base=0.2, backoff_max=1.0, max_retry_after=2.0, timeout=timeout
    )
    return RetryingSession(policy=policy, clock=clock)


class SiretResolver:
    """SIREN → siège SIRET via cache, then the API; ``None`` when unknown or unreachable (never raises)."""

    def __init__(
        self,
        store: ObjectStore | None,
        session: RetryingSession | None,
        enabled: bool,
        base_url: str,
        clock: Clock | None = None,
        *,
        timeout: float = 3.0,
        hit_ttl: timedelta = timedelta(days=90),
        miss_ttl: timedelta = timedelta(days=1),
        circuit_break: timedelta = timedelta(minutes=10),
    ) -> None:
        self.store = store
        self.session = session
        self.enabled = enabled
        self.base_url = base_url.rstrip("/")
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self.hit_ttl = hit_ttl
        self.miss_ttl = miss_ttl
        self.circuit_break = circuit_break
        self._memo: dict[str, str | None] = {}
        self._down_until: datetime | None = None
        self.api_calls = 0  # resolutions that reached the API (tests and reports)

    def resolve(self, siren: str) -> str | None:
        """The siège SIRET of ``siren``, or ``None``. Fresh cache entries (hits and misses) are trusted."""
        siren_ok = normalize_siren(siren) if isinstance(siren, str) else None
        if siren_ok is None:
            return None
        if siren_ok in self._memo:
            return self._memo[siren_ok]
        now = self.clock.now()
        cached = self._read_cache(siren_ok)
        if cached is not None and self._fresh(cached, now):
            self._memo[siren_ok] = cached.siret
            return cached.siret
        if (
            not self.enabled
            or self.session is None
            or (self._down_until is not None and now < self._down_until)
        ):
            # Stale cache beats nothing when the API cannot be asked.
            return cached.siret if cached is not None else None
        entry = self._ask(siren_ok, now)
        if entry.status == "error":
            self._down_until = now + self.circuit_break
            if cached is not None and cached.siret:
                entry = cached  # keep the old good answer; do not overwrite it with an outage
            else:
                self._write_cache(entry)
        else:
            self._write_cache(entry)
        self._memo[siren_ok] = entry.siret
        return entry.siret

    # -------------------------------------------------------------------------- internals
    def _fresh(self, entry: SiretCacheEntry, now: datetime) -> bool:
        ttl = self.hit_ttl if entry.siret else self.miss_ttl
        return now - entry.checked_at < ttl

    def _ask(self, siren: str, now: datetime) -> SiretCacheEntry:
        def entry(status: Any, siret: str | None = None, detail: str | None = None) -> SiretCacheEntry:
            return SiretCacheEntry(siren=siren, siret=siret, status=status, checked_at=now, detail=detail)

        self.api_calls += 1
        if self.session is None:  # guarded by the caller; keeps type checkers honest
            return entry("error", detail="no HTTP session")
        try:
            response = self.session.get(f"{self.base_url}/search", params={"q": siren}, timeout=self.timeout)
        except (HttpError, requests.RequestException) as exc:
            logger.warning("recherche d'entreprises unreachable", extra={"siren": siren, "error": str(exc)})
            return entry("error", detail=f"unreachable: {exc}"[:300])
        if response.status_code != 200:
            status = "not_found" if response.status_code == 404 else "error"
            return entry(status, detail=f"HTTP {response.status_code}")
        try:
            answer = _SearchAnswer.model_validate(response.json())
        except (ValueError, ValidationError) as exc:
            return entry("invalid_answer", detail=f"unexpected answer: {str(exc)[:200]}")
        for result in answer.results:
            if result.siren != siren:
                continue  # full-text search may rank another unit first
            raw = result.siege.siret if result.siege else None
            siret = normalize_siret(raw, siren) if raw else None
            if siret is None:
                return entry("invalid_answer", detail=f"siege.siret {raw!r} is not a valid SIRET of {siren}")
            return entry("found", siret=siret)
        return entry("not_found", detail="no result with this SIREN")

    def _read_cache(self, siren: str) -> SiretCacheEntry | None:
        if self.store is None:
            return None
        try:
            data = self.store.get_json(layout.siret_cache_key(siren))
            return SiretCacheEntry.model_validate(data) if data is not None else None
        except (ValueError, ValidationError, json.JSONDecodeError):
            return None  # a damaged cache entry is just a miss; it will be rewritten
        except (ClientError, BotoCoreError) as exc:
            logger.warning("SIRET cache unreadable", extra={"siren": siren, "error": str(exc)})
            return None

    def _write_cache(self, entry: SiretCacheEntry) -> None:
        if self.store is None:
            return
        body = entry.model_dump(mode="json")
        body["checked_at"] = utc_iso(entry.checked_at)
        try:
            self.store.put_json_if_changed(layout.siret_cache_key(entry.siren), body)
        except (ClientError, BotoCoreError) as exc:  # a cache is an optimisation: never fail the caller
            logger.warning("SIRET cache not written", extra={"siren": entry.siren, "error": str(exc)})
