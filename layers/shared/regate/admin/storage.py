"""Back-office objects on S3: optimistic concurrency with ETags, and the append-only audit log.

No lost update, no lock service: every change reads the object (value + ETag), checks the ETag the client
says it saw, and writes with ``If-Match: <etag>`` (or ``If-None-Match: *`` when there was none). S3 refuses
the second of two concurrent writers (412), who gets :class:`Conflict` with the state that won — a human
decision taken on a stale view is never applied silently, nor retried behind the user's back.

Audit entries are written after their change, create-only (``If-None-Match: *``) under a fresh
time-ordered key, optionally under Object Lock; nothing in the API can rewrite or delete one. If the audit
write fails after the change, the entry is logged in full (``AUDIT_WRITE_FAILED``, alarm) and the caller
answers 500: the change is applied, its trace is not lost.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Generic, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ValidationError

from regate.admin.models import AuditEntry, Auteur, Trace
from regate.clock import Clock, SystemClock
from regate.storage import layout
from regate.storage.store import ObjectStore, PreconditionFailed, dumps_canonical

logger = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)
#: ``expected`` meaning "the client saw no object" (HTTP ``If-None-Match: *``).
ABSENT = "*"


class Conflict(Exception):
    """The object is not (any more) at the ETag the client saw; ``current`` is what won."""

    def __init__(self, key: str, current: Current) -> None:
        super().__init__(key)
        self.key = key
        self.current = current


class AuditWriteFailed(Exception):
    """The change is applied but its audit entry could not be stored (it is in the logs)."""


@dataclass(frozen=True)
class Current(Generic[T]):
    """An object as read: ``value`` None with an ``etag`` = present but unreadable (see ``problem``)."""

    value: T | None
    etag: str | None
    version_id: str | None = None
    problem: str | None = None

    @property
    def exists(self) -> bool:
        return self.etag is not None


@dataclass(frozen=True)
class Written(Generic[T]):
    value: T
    etag: str
    modifie: bool
    audit: AuditEntry | None


def normalize_etag(value: str | None) -> str | None:
    """``abc`` / ``"abc"`` → ``"abc"`` (S3's form); ``*`` stays ``*``; weak ETags are not ETags here."""
    if value is None:
        return None
    value = value.strip()
    if value == ABSENT:
        return ABSENT
    if value.startswith("W/"):
        raise ValueError("ETag faible refusé : utilisez l'ETag renvoyé par l'API")
    value = value.strip('"')
    if not value or any(c in value for c in '",\\ '):
        raise ValueError("ETag illisible")
    return f'"{value}"'


class DecisionStore:
    """Reads and writes the back-office objects of the curated bucket, and the audit log."""

    def __init__(
        self,
        curated: ObjectStore,
        audit: ObjectStore | None = None,
        *,
        clock: Clock | None = None,
        retention_days: int = 0,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.curated = curated
        self.audit = audit or curated
        self.clock = clock or SystemClock()
        self.retention_days = retention_days
        self.new_id = new_id

    # ---------------------------------------------------------------------------------- reads
    def read(self, key: str, model: type[T]) -> Current[T]:
        try:
            response = self.curated.client.get_object(Bucket=self.curated.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
                return Current(None, None)
            raise
        body = response["Body"].read()
        etag, version = response.get("ETag"), response.get("VersionId")
        try:
            return Current(model.model_validate_json(body), etag, version)
        except ValidationError as exc:
            return Current(None, etag, version, problem=f"objet illisible : {exc.error_count()} erreur(s)")

    def read_last_good(self, key: str, model: type[T], max_versions: int = 20) -> Current[T]:
        """The current object, or when unreadable its newest readable S3 version (``problem`` says so)."""
        current = self.read(key, model)
        if current.value is not None or not current.exists:
            return current
        for version in self.curated.list_versions(key)[1 : max_versions + 1]:
            try:
                body = self.curated.get_bytes(key, version_id=version["VersionId"])
                value = model.model_validate_json(body)
            except (ValidationError, ClientError):
                continue
            return Current(
                value,
                current.etag,
                version["VersionId"],
                problem=f"{current.problem} ; version précédente {version['VersionId']} appliquée",
            )
        return current

    # --------------------------------------------------------------------------------- change
    def change(
        self,
        key: str,
        model: type[T],
        *,
        expected: str | None,
        auteur: Auteur,
        request_id: str | None,
        client_request_id: str | None,
        build: Callable[[T | None, Trace], T],
        describe: Callable[[T | None, T, Trace], AuditEntry],
        same: Callable[[T, T], bool] | None = None,
    ) -> Written[T]:
        """Apply ``build`` to the object at ``key`` if it is still at ``expected`` (``"*"``: absent).

        ``expected=None`` skips the client check (the write itself stays conditional on what was read).
        An identical payload writes nothing and appends no audit entry (idempotent replays).
        """
        current = self.read(key, model)
        if expected is not None and expected != (current.etag or ABSENT):
            raise Conflict(key, current)
        now = self.clock.now()
        trace = Trace(
            modifie_par=auteur,
            modifie_le=now,
            audit_id=self.new_id(),
            request_id=request_id,
            client_request_id=client_request_id,
        )
        new = build(current.value, trace)
        unchanged = same or (lambda a, b: a.payload() == b.payload())  # type: ignore[attr-defined]
        if current.value is not None and current.etag and unchanged(current.value, new):
            return Written(current.value, current.etag, False, None)
        body = dumps_canonical(new.model_dump(mode="json"))
        try:
            put = self.curated.put_conditional(key, body, if_match=current.etag)
        except PreconditionFailed:
            raise Conflict(key, self.read(key, model)) from None
        entry = describe(current.value, new, trace).model_copy(update={"version_id": put.version_id})
        self.append(entry)
        return Written(new, put.etag or "", True, entry)

    # ---------------------------------------------------------------------------------- audit
    def append(self, entry: AuditEntry) -> str:
        """Create the entry's object; never overwrites (``If-None-Match: *``), retried on transient errors."""
        key = layout.admin_audit_key(entry.horodatage, entry.siren, entry.id)
        body = dumps_canonical(entry.model_dump(mode="json"))
        extra = {}
        if self.retention_days > 0:
            extra = {
                "ObjectLockMode": "COMPLIANCE",
                "ObjectLockRetainUntilDate": entry.horodatage + timedelta(days=self.retention_days),
            }
        last: Exception | None = None
        for attempt in range(3):
            try:
                self.audit.put_conditional(key, body, if_match=None, extra=extra)
                return key
            except PreconditionFailed as exc:  # same key twice: ids are random, so this is a replay bug
                last = exc
                break
            except (ClientError, BotoCoreError) as exc:
                last = exc
                time.sleep(0.2 * (attempt + 1))
        logger.error(
            "AUDIT_WRITE_FAILED",
            extra={"audit_key": key, "audit_entry": entry.model_dump(mode="json"), "error": str(last)},
        )
        raise AuditWriteFailed(key) from last

    def journal(
        self,
        *,
        sirens: frozenset[str] | None,
        since: date,
        until: date,
        limit: int,
        cursor: str | None,
        visible: Callable[[AuditEntry], bool],
        max_reads: int = 2000,
    ) -> tuple[list[AuditEntry], str | None]:
        """Entries newest first between two days (inclusive), for these SIRENs (``None``: all).

        One LIST per month; the SIREN is in the key, so other collectivités' entries are skipped without
        being read. ``cursor`` is the last key of the previous page."""
        after = decode_cursor(cursor)[1] if cursor else None
        out: list[AuditEntry] = []
        reads = 0
        last_read: str | None = None
        month = date(until.year, until.month, 1)
        while month >= date(since.year, since.month, 1):
            keys = []
            for key in self.audit.list_keys(layout.admin_audit_month_prefix(month)):
                parsed = layout.parse_admin_audit_key(key)
                if parsed is None or not since <= parsed[0].date() <= until:
                    continue
                if (sirens is not None and parsed[1] not in sirens) or (after is not None and key >= after):
                    continue
                keys.append(key)
            for key in sorted(keys, reverse=True):
                if reads >= max_reads and last_read is not None:
                    return out, encode_cursor(last_read)  # read budget spent: resume after the last read
                reads += 1
                last_read = key
                try:
                    entry = AuditEntry.model_validate_json(self.audit.get_bytes(key))
                except (ValidationError, ClientError):
                    logger.error("Entrée de journal illisible", extra={"audit_key": key})
                    continue
                if visible(entry):
                    out.append(entry)
                    if len(out) >= limit:
                        return out, encode_cursor(key)
            month = (month - timedelta(days=1)).replace(day=1)
        return out, None


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """A journal cursor (the last key returned, base64url) → (its time, the key)."""
    try:
        key = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)).decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise ValueError("curseur illisible") from exc
    parsed = layout.parse_admin_audit_key(key)
    if parsed is None:
        raise ValueError("curseur illisible")
    return parsed[0], key


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii").rstrip("=")
