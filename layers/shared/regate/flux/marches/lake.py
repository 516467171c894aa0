"""The flat tables of the published contracts as yearly Parquet files in the curated bucket (the API reads
them with DuckDB): ``public/marches/contrats/annee={annee}/data.parquet`` and its ``titulaires`` twin.

Deterministic bytes (rows sorted by :func:`regate.flux.marches.table.rows_from`, fixed writer options), so an
unchanged year is never rewritten. pyarrow is imported lazily (it ships with the normalize function only).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from regate.flux.marches import table
from regate.flux.marches.normalize import Normalized
from regate.storage import layout

PARQUET_CONTENT_TYPE = "application/vnd.apache.parquet"


def parquet_bytes(rows: Iterable[BaseModel], model: type[BaseModel]) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table.to_arrow(rows, model), buffer, compression="zstd", write_statistics=True)
    return buffer.getvalue()


def table_files(normalized: Normalized) -> dict[str, bytes]:
    """Key → Parquet bytes, one contrats and one titulaires file per year that has a published contract."""
    contrats, titulaires = table.rows_from(normalized.published)
    by_year: dict[int, tuple[list[Any], list[Any]]] = {}
    for row in contrats:
        by_year.setdefault(row.annee, ([], []))[0].append(row)
    for holder in titulaires:
        by_year.setdefault(holder.annee, ([], []))[1].append(holder)
    files: dict[str, bytes] = {}
    for annee, (rows, holders) in sorted(by_year.items()):
        if not rows:
            continue
        files[layout.marches_table_key("contrats", annee)] = parquet_bytes(rows, table.ContratRow)
        files[layout.marches_table_key("titulaires", annee)] = parquet_bytes(holders, table.TitulaireRow)
    return files
