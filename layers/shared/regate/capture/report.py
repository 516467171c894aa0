"""The capture run report: what was captured, left unchanged, skipped or failed, and why.

Written where the operator asked (``--report run.json``) and always at ``run_report_key("capture")`` in the
raw bucket, so the last run can be inspected without access to the machine that ran it.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr

from regate.clock import Clock, utc_iso
from regate.storage.layout import run_report_key
from regate.storage.store import ObjectStore, dumps_canonical


class ReportItem(BaseModel):
    """One document (or one entity/flux when ``id_d`` is None) and what happened to it."""

    id_e: str
    id_d: str | None = None
    flux: str
    reason: str | None = Field(default=None, description="Machine-readable code for skipped items and errors")
    message: str | None = Field(default=None, description="Human explanation (errors)")
    source: Literal["pull", "push"] | None = None
    origin: str | None = Field(default=None, description="Inbox key of a pushed ZIP")


Outcome = Literal["captured", "unchanged", "skipped", "errors", "warnings", "removed"]


class RunReport(BaseModel):
    """``warnings``: captured with a problem (a file Pastell says does not exist); ``removed``: documents
    found deleted in Pastell (their act is withdrawn); ``interrupted``: why the run stopped early
    (``delai_du_run`` = its deadline, ``interrompu`` = the operator)."""

    stage: str = "capture"
    started_at: str
    finished_at: str | None = None
    captured: list[ReportItem] = Field(default_factory=list)
    unchanged: list[ReportItem] = Field(default_factory=list)
    skipped: list[ReportItem] = Field(default_factory=list)
    errors: list[ReportItem] = Field(default_factory=list)
    warnings: list[ReportItem] = Field(default_factory=list)
    removed: list[ReportItem] = Field(default_factory=list)
    interrupted: str | None = None
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @classmethod
    def start(cls, clock: Clock, stage: str = "capture") -> RunReport:
        return cls(stage=stage, started_at=utc_iso(clock.now()))

    def add(self, outcome: Outcome, item: ReportItem) -> None:
        """Thread-safe: documents are captured concurrently."""
        with self._lock:
            getattr(self, outcome).append(item)

    def finish(self, clock: Clock) -> RunReport:
        """Stamp the end; items sorted, so the saved report does not depend on which thread went first."""
        self.finished_at = utc_iso(clock.now())
        with self._lock:
            for name in ("captured", "unchanged", "skipped", "errors", "warnings", "removed"):
                getattr(self, name).sort(key=_item_order)
        return self

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, int]:
        """Counts; ``warnings`` and ``removed`` only when there are some (stable output otherwise)."""
        counts = {name: len(getattr(self, name)) for name in ("captured", "unchanged", "skipped", "errors")}
        for name in ("warnings", "removed"):
            if getattr(self, name):
                counts[name] = len(getattr(self, name))
        return counts

    def to_json_bytes(self) -> bytes:
        return dumps_canonical(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_none=True)
        for name in ("warnings", "removed"):
            if not data.get(name):
                data.pop(name, None)
        return data

    def save(self, store: ObjectStore) -> None:
        store.put_if_changed(
            run_report_key(self.stage), self.to_json_bytes(), content_type="application/json"
        )


def _item_order(item: ReportItem) -> tuple[str, ...]:
    return (item.id_e, item.flux, item.id_d or "", item.reason or "", item.message or "")
