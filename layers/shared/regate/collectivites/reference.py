"""The shipped collectivités reference table (SIREN → name, INSEE code, kind, population, point).

Built offline by ``scripts/build_refdata.py`` (``make refdata``) from pinned registry packages, so nothing
here needs the network. SIREN ↔ INSEE is always a table lookup: an INSEE code is never derived from a SIREN
(communes nouvelles have ``200…`` SIRENs, overseas codes differ).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import threading
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from regate.collectivites.models import Collectivite

DATA_DIR = Path(__file__).resolve().parent / "data"
DATA_FILE_NAME = "collectivites.csv.gz"
META_FILE_NAME = "refdata.json"
REFERENCE_COLUMNS: tuple[str, ...] = (
    "siren",
    "kind",
    "nature",
    "code_insee",
    "nom",
    "population",
    "departement",
    "region",
    "epci_siren",
    "lon",
    "lat",
    "cog",
)
_KINDS = {"commune", "epci", "departement", "region", "autre"}


class ReferenceDataError(ValueError):
    """The reference file is unreadable or inconsistent (a packaging bug, not operator input)."""


class ReferenceData:
    """Read-only lookup by SIREN (and by INSEE code); models are built lazily and memoised."""

    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, rows: Iterable[Mapping[str, str]], meta: Mapping[str, Any] | None = None) -> None:
        self.meta: dict[str, Any] = dict(meta or {})
        self._rows: dict[str, dict[str, str]] = {}
        self._by_insee: dict[str, str] = {}
        for row in rows:
            siren = (row.get("siren") or "").strip()
            kind = (row.get("kind") or "").strip()
            if not siren or kind not in _KINDS:
                raise ReferenceDataError(f"bad reference row: {dict(row)!r}")
            if siren in self._rows:
                raise ReferenceDataError(f"duplicate SIREN in reference data: {siren}")
            clean = {column: (row.get(column) or "").strip() for column in REFERENCE_COLUMNS}
            self._rows[siren] = clean
            if clean["code_insee"] and kind == "commune":
                self._by_insee[clean["code_insee"]] = siren
        self._models: dict[str, Collectivite] = {}

    # ------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, data_path: Path, meta_path: Path | None = None) -> ReferenceData:
        """Load a gzip CSV built by the script; checks it against the sha256 recorded in the meta file."""
        raw = data_path.read_bytes()
        meta: dict[str, Any] = {}
        if meta_path is not None and meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            expected = meta.get("sha256")
            if expected and hashlib.sha256(raw).hexdigest() != expected:
                raise ReferenceDataError(f"{data_path.name} does not match the sha256 in {meta_path.name}")
        text = gzip.decompress(raw).decode("utf-8") if data_path.suffix == ".gz" else raw.decode("utf-8")
        reader = csv.DictReader(io.StringIO(text))
        missing = set(REFERENCE_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ReferenceDataError(f"{data_path.name} lacks columns {sorted(missing)}")
        return cls(reader, meta)

    @classmethod
    def load_default(cls) -> ReferenceData:
        """The shipped table, loaded once per process (Lambda containers reuse it across invocations)."""
        with cls._default_lock:
            return _load_default()

    # ------------------------------------------------------------------------- lookups
    @property
    def vintage(self) -> int | None:
        """COG year of the codes (they change every 1 January)."""
        cog = self.meta.get("cog")
        return int(cog) if cog is not None else None

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, siren: object) -> bool:
        return isinstance(siren, str) and siren in self._rows

    def get(self, siren: str) -> Collectivite | None:
        if siren not in self._rows:
            return None
        model = self._models.get(siren)
        if model is None:
            model = self._models[siren] = self._build(self._rows[siren])
        return model

    def by_insee(self, code_insee: str) -> Collectivite | None:
        """The current commune with this INSEE code (COG vintage of the table)."""
        siren = self._by_insee.get(code_insee)
        return self.get(siren) if siren else None

    def all(self) -> list[Collectivite]:
        """Every entry, sorted by SIREN."""
        return [model for siren in sorted(self._rows) if (model := self.get(siren)) is not None]

    def sirens(self) -> Iterator[str]:
        return iter(sorted(self._rows))

    def _build(self, row: dict[str, str]) -> Collectivite:
        epci_siren = row["epci_siren"] or None
        epci_row = self._rows.get(epci_siren) if epci_siren else None
        return Collectivite(
            siren=row["siren"],
            nom=row["nom"],
            siret=None,  # no offline source for the siège SIRET: config or recherche d'entreprises
            code_insee=row["code_insee"] or None,
            kind=row["kind"],  # type: ignore[arg-type]  (checked in __init__)
            population=int(row["population"]) if row["population"] else None,
            lon=float(row["lon"]) if row["lon"] else None,
            lat=float(row["lat"]) if row["lat"] else None,
            departement=row["departement"] or None,
            epci_siren=epci_siren,
            epci_nom=epci_row["nom"] if epci_row else None,
            region=row["region"] or None,
            nature=row["nature"] or None,
            cog=int(row["cog"]) if row["cog"] else self.vintage,
        )


@cache
def _load_default() -> ReferenceData:
    return ReferenceData.load(DATA_DIR / DATA_FILE_NAME, DATA_DIR / META_FILE_NAME)
