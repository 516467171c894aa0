"""SCDL « Délibérations » 2.1.5: the typed row, its CSV cells, the stable order and the validated writer.

The row model is typed (dates, integers) so producers cannot put a ``15/10/2017`` in a date column; the
conformity rules that span cells (SIRET checksum, vote arithmetic, nomenclature…) are the validator's job,
run on the exact bytes about to be written: "every CSV is validated before it is written".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel, ConfigDict

from regate.scdl.csvfile import write_csv
from regate.scdl.validator import ScdlValidationError, validate_deliberations_csv

SCHEMA_NAME = "scdl/deliberations"
SCHEMA_VERSION = "2.1.5"

SCDL_DELIBERATIONS_COLUMNS: tuple[str, ...] = (
    "COLL_NOM",
    "COLL_SIRET",
    "DELIB_ID",
    "DELIB_DATE",
    "DELIB_MATIERE_CODE",
    "DELIB_MATIERE_NOM",
    "DELIB_OBJET",
    "BUDGET_ANNEE",
    "BUDGET_NOM",
    "PREF_ID",
    "PREF_DATE",
    "VOTE_EFFECTIF",
    "VOTE_REEL",
    "VOTE_POUR",
    "VOTE_CONTRE",
    "VOTE_ABSTENTION",
    "DELIB_URL",
)

__all__ = [
    "SCDL_DELIBERATIONS_COLUMNS",
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "ScdlDeliberationRow",
    "ScdlValidationError",
    "clean_objet",
    "deliberation_sort_key",
    "write_deliberations_csv",
]


class ScdlDeliberationRow(BaseModel):
    """One line of a délibérations file; field names are the SCDL column names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    COLL_NOM: str
    COLL_SIRET: str
    DELIB_ID: str
    DELIB_DATE: date
    DELIB_MATIERE_CODE: str
    DELIB_MATIERE_NOM: str
    DELIB_OBJET: str
    BUDGET_ANNEE: str | None = None
    BUDGET_NOM: str | None = None
    PREF_ID: str | None = None
    PREF_DATE: date | None = None
    VOTE_EFFECTIF: int | None = None
    VOTE_REEL: int | None = None
    VOTE_POUR: int | None = None
    VOTE_CONTRE: int | None = None
    VOTE_ABSTENTION: int | None = None
    DELIB_URL: str | None = None

    def cells(self) -> list[str]:
        """The 17 CSV cells in schema order: ``""`` for None, ISO dates, plain integers."""
        out: list[str] = []
        for name in SCDL_DELIBERATIONS_COLUMNS:
            value = getattr(self, name)
            if value is None:
                out.append("")
            elif isinstance(value, date):
                out.append(value.isoformat())
            else:
                out.append(str(value))
        return out


def deliberation_sort_key(row: ScdlDeliberationRow) -> tuple[str, ...]:
    """Stable total order: decision date, DELIB_ID, then every cell (ties never depend on input order)."""
    return (row.DELIB_DATE.isoformat(), row.DELIB_ID, *row.cells())


def write_deliberations_csv(rows: Iterable[ScdlDeliberationRow]) -> bytes:
    """Sorted, validated CSV bytes; raises :class:`ScdlValidationError` (with its report) if invalid."""
    ordered = sorted(rows, key=deliberation_sort_key)
    data = write_csv(SCDL_DELIBERATIONS_COLUMNS, [row.cells() for row in ordered])
    report = validate_deliberations_csv(data, strict=True)
    if not report.valid:
        raise ScdlValidationError(report)
    return data


# Line breaks, tabs and other C0/C1 controls (incl. U+2028/2029) become one space; NBSP and narrow NBSP
# (French typography) and every printable character (’ œ € emoji) are kept as they are.
_BREAKS_RE = re.compile(r"[\x00-\x20\x7f\x85\u2028\u2029]+")


def clean_objet(text: str) -> str:
    """``DELIB_OBJET`` on one line: CR/LF and runs of spaces collapsed to one space, ends trimmed."""
    return _BREAKS_RE.sub(" ", text).strip(" ")
