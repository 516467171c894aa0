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
_NOM_AT = REFERENCE_COLUMNS.index("nom")


class ReferenceDataError(ValueError):
    """The reference file is unreadable or inconsistent (a packaging bug, not operator input)."""


class ReferenceData:
    """Read-only lookup by SIREN (and by INSEE code); models are built lazily and memoised."""

    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, rows: Iterable[Mapping[str, str]], meta: Mapping[str, Any] | None = None) -> None:
        """Rows as mappings column → value (tests, tools); :meth:`load` takes a faster path for files."""
        self.meta: dict[str, Any] = dict(meta or {})
        self._rows: dict[str, tuple[str, ...]] = {}
        self._by_insee: dict[str, str] = {}
        self._models: dict[str, Collectivite] = {}
        self._ingest(tuple((row.get(c) or "").strip() for c in REFERENCE_COLUMNS) for row in rows)

    def _ingest(self, rows: Iterable[tuple[str, ...]]) -> None:
        siren_at, kind_at, insee_at = (REFERENCE_COLUMNS.index(c) for c in ("siren", "kind", "code_insee"))
        for row in rows:
            siren, kind = row[siren_at], row[kind_at]
            if not siren or kind not in _KINDS:
                raise ReferenceDataError(f"bad reference row: {row!r}")
            if siren in self._rows:
                raise ReferenceDataError(f"duplicate SIREN in reference data: {siren}")
            self._rows[siren] = row
            if kind == "commune" and row[insee_at]:
                self._by_insee[row[insee_at]] = siren

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
        try:
            text = gzip.decompress(raw).decode("utf-8") if data_path.suffix == ".gz" else raw.decode("utf-8")
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise ReferenceDataError(f"{data_path.name} is unreadable: {exc}") from exc
        reader = csv.reader(io.StringIO(text, newline=""))
        header = [name.strip() for name in next(reader, [])]
        missing = set(REFERENCE_COLUMNS) - set(header)
        if missing:
            raise ReferenceDataError(f"{data_path.name} lacks columns {sorted(missing)}")
        positions = [header.index(column) for column in REFERENCE_COLUMNS]
        width = len(header)
        table = cls((), meta)
        if positions == list(range(len(REFERENCE_COLUMNS))) and width == len(REFERENCE_COLUMNS):
            rows: Iterable[tuple[str, ...]] = (
                tuple(cells) for cells in reader if len(cells) == width or _bad(cells)
            )
        else:
            rows = (
                tuple(cells[i] for i in positions) for cells in reader if len(cells) == width or _bad(cells)
            )
        table._ingest(rows)
        return table

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

    def _build(self, values: tuple[str, ...]) -> Collectivite:
        row = dict(zip(REFERENCE_COLUMNS, values, strict=True))
        epci_siren = row["epci_siren"] or None
        epci_row = self._rows.get(epci_siren) if epci_siren else None
        return Collectivite(
            siren=row["siren"],
            nom=row["nom"],
            siret=None,  # no offline source for the siège SIRET: config or recherche d'entreprises
            code_insee=row["code_insee"] or None,
            kind=row["kind"],  # checked in _ingest
            population=int(row["population"]) if row["population"] else None,
            lon=float(row["lon"]) if row["lon"] else None,
            lat=float(row["lat"]) if row["lat"] else None,
            departement=row["departement"] or None,
            epci_siren=epci_siren,
            epci_nom=epci_row[_NOM_AT] if epci_row else None,
            region=row["region"] or None,
            nature=row["nature"] or None,
            cog=int(row["cog"]) if row["cog"] else self.vintage,
        )


def _bad(cells: list[str]) -> bool:
    """Blank lines are skipped; any other ragged row means a corrupted file."""
    if not any(cells):
        return False
    raise ReferenceDataError(f"ragged reference row: {cells!r}")


@cache
def _load_default() -> ReferenceData:
    return ReferenceData.load(DATA_DIR / DATA_FILE_NAME, DATA_DIR / META_FILE_NAME)
