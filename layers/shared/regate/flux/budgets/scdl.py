"""SCDL « Budget » 0.8.3 (``scdl/budget``): the 22 columns, the cells of a budget line, the CSV writer
(the project's dialect: UTF-8 without BOM, comma, CRLF) and the one validation call.

Conventions (to be repeated in the dataset description): ``BGT_CONTNAT`` is the chapter and
``BGT_NATURE`` the account, as TOTEM and the existing SCDL budget files do (the schema's descriptions swap
the words); a CFU is written ``compte administratif`` (the schema has no CFU value; the CFU replaces the CA);
amounts are the seven TOTEM amounts as they are, with 2 decimals (empty when the file has none).
A file holds one SIREN and one exercice: every budget (principal, annexes: several SIRETs, or one SIRET
and several ``CodBud``) and every stage kept by :func:`regate.flux.budgets.selection.latest_sealed`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import IO, Any

from regate.flux.budgets.model import ETAPE_ORDRE, BudgetLine
from regate.scdl.csvfile import CRLF, quote_cell

SCHEMA_NAME = "scdl/budget"
SCHEMA_VERSION = "0.8.3"
#: short names of ``regate validate --schema`` for this schema (``budget`` → ``scdl/budget`` 0.8.3, the
#: version the pipeline writes; ``budget@0.8.2`` or ``scdl/budget`` pick another bundled version explicitly)
CLI_SCHEMA_NAMES: tuple[str, ...] = ("budget", "budgets")

#: (SCDL column, BudgetLine field), in schema order
_COLUMNS: tuple[tuple[str, str], ...] = (
    ("BGT_NATDEC", "natdec"),
    ("BGT_ANNEE", "annee"),
    ("BGT_SIRET", "siret"),
    ("BGT_NOM", "nom"),
    ("BGT_CONTNAT", "contnat"),
    ("BGT_CONTNAT_LABEL", "contnat_label"),
    ("BGT_NATURE", "nature"),
    ("BGT_NATURE_LABEL", "nature_label"),
    ("BGT_FONCTION", "fonction"),
    ("BGT_FONCTION_LABEL", "fonction_label"),
    ("BGT_OPERATION", "operation"),
    ("BGT_SECTION", "section"),
    ("BGT_OPBUDG", "opbudg"),
    ("BGT_CODRD", "codrd"),
    ("BGT_MTREAL", "mt_real"),
    ("BGT_MTBUDGPREC", "mt_budg_prec"),
    ("BGT_MTRARPREC", "mt_rar_prec"),
    ("BGT_MTPROPNOUV", "mt_prop_nouv"),
    ("BGT_MTPREV", "mt_prev"),
    ("BGT_CREDOUV", "cred_ouv"),
    ("BGT_MTRAR3112", "mt_rar3112"),
    ("BGT_ARTSPE", "artspe"),
)
SCDL_BUDGET_COLUMNS: tuple[str, ...] = tuple(column for column, _ in _COLUMNS)
_FIELDS: tuple[str, ...] = tuple(name for _, name in _COLUMNS)
_HEADER = ",".join(SCDL_BUDGET_COLUMNS) + CRLF


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return quote_cell(str(value))


def scdl_cells(line: BudgetLine) -> list[str]:
    """The 22 cells of one line, in schema order (already quoted where the dialect requires)."""
    return [_cell(getattr(line, name)) for name in _FIELDS]


def budget_sort_key(line: BudgetLine) -> tuple[Any, ...]:
    """Stable order in a file: budget (SIRET, CodBud, name), stage, decision date, document, line."""
    return (
        line.siret,
        line.cod_bud or "",
        line.nom,
        ETAPE_ORDRE[line.etape],
        line.date_decision.isoformat() if line.date_decision else "",
        line.date_scellement.isoformat() if line.date_scellement else "",
        line.document_id or "",
        line.ligne,
    )


def write_budget_csv_to(stream: IO[bytes], lines: Iterable[BudgetLine]) -> int:
    """Write header + lines (in the given order) to a binary stream; returns the number of lines."""
    # pydantic keeps field values in __dict__; getattr per cell costs more
    return write_budget_rows_to(stream, (line.__dict__ for line in lines))


def write_budget_rows_to(stream: IO[bytes], rows: Iterable[Mapping[str, Any]]) -> int:
    """The same writer over mappings with the line fields (the API's rows read back from Parquet)."""
    stream.write(_HEADER.encode("utf-8"))
    count = 0
    batch: list[str] = []
    fields = _FIELDS
    for values in rows:
        cells = []
        for name in fields:
            value = values[name]
            if value is None:
                cells.append("")
            elif type(value) is str:
                cells.append(quote_cell(value))
            elif type(value) is int:
                cells.append(str(value))
            else:
                cells.append(f"{value:.2f}")  # Decimal amounts
        batch.append(",".join(cells))
        count += 1
        if len(batch) >= 4096:
            stream.write((CRLF.join(batch) + CRLF).encode("utf-8"))
            batch.clear()
    if batch:
        stream.write((CRLF.join(batch) + CRLF).encode("utf-8"))
    return count


def write_budget_csv(lines: Iterable[BudgetLine], *, sort: bool = True) -> bytes:
    """CSV bytes of the lines, sorted by :func:`budget_sort_key` unless ``sort=False``."""
    ordered = sorted(lines, key=budget_sort_key) if sort else lines
    buffer = io.BytesIO()
    write_budget_csv_to(buffer, ordered)
    return buffer.getvalue()


def group_by_siren_annee(lines: Iterable[BudgetLine]) -> dict[tuple[str, int], list[BudgetLine]]:
    """Lines per file: ``(SIREN, exercice)`` → lines (``scdl/budgets/{siren}/{annee}.csv``)."""
    groups: dict[tuple[str, int], list[BudgetLine]] = {}
    for line in lines:
        groups.setdefault((line.siren, line.annee), []).append(line)
    return groups


def budget_files(conversions: Iterable[Any]) -> dict[tuple[str, int], bytes]:
    """The SCDL files of a set of converted documents: ``(SIREN, exercice)`` → CSV bytes.

    ``conversions`` are :class:`regate.flux.budgets.convert.Conversion` (anything with ``metadata`` and
    ``lignes``), in a stable order; only the latest sealed version per (budget, stage) is kept
    (:func:`regate.flux.budgets.selection.latest_sealed`). Not validated here: see
    :func:`validate_budget_csv`.
    """
    from regate.flux.budgets.selection import latest_sealed

    kept = latest_sealed(conversions, metadata=lambda conversion: conversion.metadata).gardes
    lines = [line for conversion in kept for line in conversion.lignes]
    return {key: write_budget_csv(group) for key, group in sorted(group_by_siren_annee(lines).items())}


def validate_budget_csv(data: bytes, *, strict: bool = True) -> Any:
    """The one validation call for budget files: the project's validator with the bundled schema.

    Today ``regate.scdl.validator.validate_csv`` (generic Table Schema engine, strict SCDL mode by
    default); the schema-driven validator package replacing it keeps this entry point's contract
    (bytes in, a report with ``valid``/``errors``/``warnings`` out).
    """
    from regate.scdl.schema import load_schema
    from regate.scdl.validator import validate_csv

    return validate_csv(data, load_schema(SCHEMA_NAME, SCHEMA_VERSION), strict=strict)
