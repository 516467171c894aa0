"""Deterministic Parquet for the curated datasets (``actes/`` and ``public/actes/``).

Same records ⇒ same bytes: rows are sorted, writer options are fixed, no timestamps or free-form
metadata are written, so a rebuild produces byte-identical files and ``put_if_changed`` writes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from regate.normalize.decision import PUBLIC_DECISIONS
from regate.normalize.records import ActeRecord
from regate.storage.datasets import ACTES_SCHEMA, PUBLIC_ACTES_SCHEMA

_DATE_COLUMNS = {f.name for f in ACTES_SCHEMA if pa.types.is_date32(f.type)}
#: column names resolved once (iterating a pyarrow schema builds Field objects: slow per row)
_NAMES = {id(ACTES_SCHEMA): ACTES_SCHEMA.names, id(PUBLIC_ACTES_SCHEMA): PUBLIC_ACTES_SCHEMA.names}


def _sort_key(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["delib_date"], row["delib_id"], row["acte_id"])


def _typed(row: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _NAMES.get(id(schema)) or schema.names:
        value = row.get(name)
        if name in _DATE_COLUMNS and isinstance(value, str):
            value = date.fromisoformat(value)
        out[name] = value
    return out


def _int_bounds(kind: pa.DataType) -> tuple[int, int]:
    bits = kind.bit_width
    if pa.types.is_unsigned_integer(kind):
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


#: Counts can never be negative, whatever the storage type allows.
NON_NEGATIVE_COLUMNS = frozenset(
    {"vote_effectif", "vote_reel", "vote_pour", "vote_contre", "vote_abstention", "annee", "nature"}
)


def _column_rules() -> dict[str, tuple[str, bool, int, int]]:
    """name → (kind, nullable, low, high), read once from the schema (Field lookups are slow per row)."""
    rules: dict[str, tuple[str, bool, int, int]] = {}
    for f in ACTES_SCHEMA:
        if pa.types.is_integer(f.type):
            low, high = _int_bounds(f.type)
            rules[f.name] = ("int", f.nullable, max(low, 0) if f.name in NON_NEGATIVE_COLUMNS else low, high)
        elif pa.types.is_date32(f.type):
            rules[f.name] = ("date", f.nullable, 0, 0)
        elif pa.types.is_boolean(f.type):
            rules[f.name] = ("bool", f.nullable, 0, 0)
        elif pa.types.is_string(f.type):
            rules[f.name] = ("str", f.nullable, 0, 0)
        else:  # pragma: no cover - a new column type must get a rule here
            raise TypeError(f"no row rule for {f.name}: {f.type}")
    return rules


_RULES = _column_rules()


def column_value_problem(name: str, value: Any, min_year: int, max_year: int) -> str | None:
    """Why ``value`` cannot go into column ``name`` of ``actes/`` (``None`` when it fits).

    The rules come from the Arrow schema itself (int8/int32 bounds, nullability, types), so a value the
    Parquet writer would refuse is caught per act, before it can fail a whole partition; dates must also
    fall within [min_year, max_year]; strings must be encodable as UTF-8 (no lone surrogate).
    """
    kind, nullable, low, high = _RULES[name]
    if value is None:
        return None if nullable else f"{name} absent"
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return f"{name} = {value!r} n'est pas un entier"
        if not low <= value <= high:
            return f"{name} = {value} hors de [{low}, {high}]"
    elif kind == "date":
        try:
            day = date.fromisoformat(value) if isinstance(value, str) else value
        except ValueError:
            return f"{name} = {value!r} n'est pas une date"
        if not isinstance(day, date):
            return f"{name} = {value!r} n'est pas une date"
        if not min_year <= day.year <= max_year:
            return f"{name} = {day.isoformat()} hors de {min_year}–{max_year}"
    elif kind == "bool":
        if not isinstance(value, bool):
            return f"{name} = {value!r} n'est pas un booléen"
    elif not isinstance(value, str):
        return f"{name} = {value!r} n'est pas une chaîne"
    else:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"{name} : caractère non encodable en UTF-8 ({exc.reason}, position {exc.start})"
    return None


def row_problem(row: dict[str, Any], min_year: int, max_year: int) -> str | None:
    """Why this ``actes/`` row would fail the partition's Parquet files (``None`` when they accept it).

    Column by column against :data:`_RULES` (the public schema is a subset of the internal one); the
    partition build still contains any act the writer refuses (:mod:`regate.normalize.partitions`).
    """
    for name in _RULES:
        problem = column_value_problem(name, row.get(name), min_year, max_year)
        if problem:
            return problem
    return None


def actes_table(records: Iterable[ActeRecord], public: bool) -> pa.Table:
    """The Arrow table of one partition: every act (internal) or only public ones, public columns only."""
    schema = PUBLIC_ACTES_SCHEMA if public else ACTES_SCHEMA
    rows = [r.row for r in records if not public or r.decision.decision in PUBLIC_DECISIONS]
    rows.sort(key=_sort_key)
    return pa.Table.from_pylist([_typed(r, schema) for r in rows], schema=schema)


def parquet_bytes(table: pa.Table) -> bytes:
    """Serialise with fixed options (zstd, statistics, one row group per 64k rows)."""
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        compression="zstd",
        compression_level=3,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=65536,
        version="2.6",
        data_page_version="1.0",
        store_schema=True,
    )
    return sink.getvalue()
