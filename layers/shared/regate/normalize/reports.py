"""The normalisation run report: what was written, withheld, pending, quarantined, withdrawn, refused, why.

Saved as JSON with ``--report`` and at ``_state/runs/normalize/latest.json`` in the curated bucket.
"""

from __future__ import annotations

import threading
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr

from regate.storage import layout
from regate.storage.store import ObjectStore, dumps_canonical


class ActeItem(BaseModel):
    """One act in a report list."""

    id_e: str
    id_d: str
    siren: str | None = None
    annee: int | None = None
    numero: str | None = None
    decision: str | None = None
    motif: str | None = None
    reason: str | None = None
    message: str | None = None


class PartitionItem(BaseModel):
    siren: str
    annee: int
    acts: int
    public_acts: int
    scdl_rows: int
    csv_changed: bool
    files_written: list[str] = Field(default_factory=list)
    files_deleted: list[str] = Field(default_factory=list)
    attempts: int = 1


class WarningItem(BaseModel):
    code: str
    message: str
    id_e: str | None = None
    id_d: str | None = None


class RunReport(BaseModel):
    """Thread-safe accumulation (workers add items concurrently)."""

    stage: str = "normalize"
    mode: Literal["normalize", "rebuild", "event"] = "normalize"
    started_at: str = ""
    finished_at: str | None = None
    documents_seen: int = 0
    documents_skipped: int = 0
    acts_normalised: int = 0
    rows_written: int = Field(default=0, description="SCDL rows in the CSV files this run (re)wrote")
    files_written: list[str] = Field(default_factory=list)
    files_deleted: list[str] = Field(default_factory=list)
    partitions: list[PartitionItem] = Field(default_factory=list)
    published: list[ActeItem] = Field(default_factory=list)
    withheld: list[ActeItem] = Field(default_factory=list)
    pending: list[ActeItem] = Field(default_factory=list)
    quarantined: list[ActeItem] = Field(default_factory=list)
    withdrawn: list[ActeItem] = Field(default_factory=list)
    warnings: list[WarningItem] = Field(default_factory=list)
    errors: list[WarningItem] = Field(
        default_factory=list,
        description="Inputs refused whole (an operator file or flux definition that cannot be read: its "
        "last good version was used, or decisions were withheld); `regate normalize` then exits 1",
    )
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def add(self, attribute: str, item: BaseModel) -> None:
        with self._lock:
            getattr(self, attribute).append(item)

    def count(self, attribute: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, attribute, getattr(self, attribute) + n)

    def files(self, written: list[str], deleted: list[str]) -> None:
        with self._lock:
            self.files_written.extend(written)
            self.files_deleted.extend(deleted)

    def sorted_copy(self) -> RunReport:
        """A copy with every list in a stable order (parallel runs append in any order)."""
        data = self.model_dump()
        for name in ("files_written", "files_deleted"):
            data[name] = sorted(set(data[name]))
        for name in ("published", "withheld", "pending", "quarantined", "withdrawn", "warnings", "errors"):
            data[name] = sorted(data[name], key=lambda i: (i.get("id_e") or "", i.get("id_d") or "", str(i)))
        data["partitions"] = sorted(data["partitions"], key=lambda p: (p["siren"], p["annee"]))
        return RunReport.model_validate(data)


def save_report(curated: ObjectStore, report: RunReport) -> str:
    key = layout.run_report_key(report.stage)
    curated.put_if_changed(
        key, dumps_canonical(report.model_dump(mode="json")), content_type="application/json"
    )
    return key
