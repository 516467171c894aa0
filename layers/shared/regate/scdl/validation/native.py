"""Native hot path of the validator: pyarrow's CSV reader and vectorised checks, certifying clean data.

The native path never writes an error. It *certifies* that the data rows of a file hold no row-level finding
at all — every cell casts, satisfies its constraints and its custom checks, no blank, ragged or oddly quoted
record — and then returns the number of data rows. For anything else (a single doubtful cell, a quote the
two parsers might read differently, a record pyarrow cannot split like ``csv.reader``…) it returns ``None``
and the validator runs the Python path on the whole file, so errors, their order, the error cap and the row
numbers come from one place only. Hence the reports are identical by construction; the differential tests in
``tests/unit/scdl/test_scdl_native.py`` check it on every corpus file and on hostile, generated inputs.

What makes both readers split a file the same way (checked on the bytes before pyarrow reads them):

* the header is the first record (``header_row == 1``), the encoding is UTF-8, ``"`` quotes without
  ``skipinitialspace``, a single-byte delimiter, no NUL byte; pyarrow's ``check_utf8`` rejects exactly the
  byte sequences Python's codec rejects (surrogates, overlong forms, beyond U+10FFFF — tested);
* every ``\\r`` is part of a ``\\r\\n``; every quoted field is ``"…"`` (``""`` inside) opening at a field
  start and closing before a delimiter or a line end, with no line break inside; every ``"`` belongs to one;
* pyarrow finds exactly as many columns as the header on every record (``ignore_empty_lines=False``: an empty
  line is a one-cell record, so it fails that test too).

Cell rules are the Python ones: each *distinct* value of a column is cast and checked with the very same
functions (memoised across batches); pyarrow only maps the verdicts and cast values back onto the rows and
runs the multi-column checks (``cohesive``, ``compare``, ``sum``) on int64 / date32 arrays.

pyarrow is imported here, and this module only when the native engine is used: ``regate validate`` on a small
file never pays for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

BLOCK_SIZE = 1 << 20  # bytes per pyarrow batch: bounded memory (a few blocks alive at once)
_URI_SCHEME_RE2 = "^[a-zA-Z][a-zA-Z0-9+.-]*:"  # = validator._URI_SCHEME_RE (ASCII classes: same in RE2)
_INT64 = (-(1 << 63), (1 << 63) - 1)
_CHUNK = 1 << 20
_LONE_CR = re.compile(rb"\r(?!\n)")
_SINGLE_COLUMN_CHECKS = frozenset(
    {"french-siret-value", "siret", "nomenclature-actes-value", "nomenclature-acte", "year-interval-value"}
)
_OPS = {
    ">": pc.greater,
    ">=": pc.greater_equal,
    "==": pc.equal,
    "<=": pc.less_equal,
    "<": pc.less,
}


def _pool() -> pa.MemoryPool:
    """jemalloc when the build has it: it gives freed blocks back, so the RSS stays near the live data
    (mimalloc, pyarrow's default, kept ~20 MB more at 100 000 rows: a 2.2x peak instead of 1.7x)."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # pragma: no cover - a pyarrow build without jemalloc
        return pa.default_memory_pool()


class _Fallback(Exception):
    """Something the native path does not certify: the Python path decides."""


def _quoted_field_re(delimiter: str) -> re.Pattern[bytes]:
    """A whole quoted field: opens at a field start, ``""`` inside, closes before a delimiter or line end."""
    d = re.escape(delimiter.encode())
    return re.compile(b'"(?<![^' + d + b'\\n]")[^"\\r\\n]*(?:""[^"\\r\\n]*)*"(?=[' + d + b"\\r\\n]|\\Z)")


def _data_start(data: bytes, start: int, delimiter: str) -> int | None:
    """Byte offset of the first data record, or None when the bytes are not plainly quoted CSV.

    Plain: every ``"`` belongs to a whole quoted field (see :func:`_quoted_field_re`), no line break inside
    quotes, every ``\\r`` in a ``\\r\\n``, no NUL. Scanned in ~1 MiB slices cut after a ``\\n`` (a quoted
    field never spans one here), so the memory stays bounded.
    """
    if b"\x00" in data:
        return None
    if _LONE_CR.search(data, start) is not None:
        return None
    pattern = _quoted_field_re(delimiter)
    size = len(data)
    quotes = 0
    pos = start
    while pos < size:
        end = data.find(b"\n", min(pos + _CHUNK, size) - 1)
        end = size if end < 0 else end + 1
        quotes += b"".join(pattern.findall(data, pos, end)).count(b'"')
        pos = end
    if quotes != data.count(b'"', start):  # a quote outside any plainly quoted field
        return None
    end = data.find(b"\n", start)  # no line break inside quotes: the header ends at the first one
    return size if end < 0 else end + 1


class _Column:
    """One checked column: its plan and the memo of distinct raw values already certified."""

    __slots__ = ("cast", "checks", "index", "memo", "name", "required", "schema_pos", "typed")

    def __init__(self, step: Sequence[Any]) -> None:
        self.index, self.schema_pos, self.name, self.required, self.cast, self.checks = step[:6]
        self.memo: dict[str, Any] = {}
        self.typed = False  # needs an int64/date32 array for a multi-column check

    def certify(self, raw: str, invalid: object, memo_limit: int) -> Any:
        value = self.memo.get(raw, invalid)
        if value is not invalid:
            return value
        value = raw if self.cast is None else self.cast(raw)
        if value is invalid:
            raise _Fallback
        for check in self.checks:
            if check(value) is not None:
                raise _Fallback
        if len(self.memo) < memo_limit:
            self.memo[raw] = value
        return value


def _typed_array(column: pa.Array, distinct: list[str], values: list[Any]) -> pa.Array | None:
    """Cast values mapped onto the rows as int64 or date32 (nulls for empty cells); None if all empty."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    kinds = {type(v) for v in present}
    if kinds == {int}:
        if min(present) < _INT64[0] or max(present) > _INT64[1]:
            raise _Fallback
        arrow_type = pa.int64()
    elif kinds == {date}:
        arrow_type = pa.date32()
    else:
        raise _Fallback
    lookup = pa.array(values, type=arrow_type)
    return pc.take(lookup, pc.index_in(column, value_set=pa.array(distinct, type=pa.string())))


def certify_rows(
    data: bytes,
    *,
    start: int,
    delimiter: str,
    quotechar: str,
    skipinitialspace: bool,
    header_row: int,
    encoding: str,
    width: int,
    steps: Sequence[Sequence[Any]],
    custom: Sequence[tuple[Any, Callable[[list[Any]], Any]]],
    label_pos: dict[str, int],
    pos: dict[str, int],
    invalid: object,
    memo_limit: int,
) -> int | None:
    """Number of data rows when they hold no finding at all; None when the Python path must decide.

    ``steps``: the validator's column plans (header index, schema position, name, required, cast, checks);
    ``custom``: (CustomCheck, row closure) pairs; ``start``: where the header record begins in ``data``.
    """
    if header_row != 1 or encoding != "utf-8" or quotechar != '"' or skipinitialspace:
        return None
    if len(delimiter) != 1 or width < 2:
        return None
    offset = _data_start(data, start, delimiter)
    if offset is None:
        return None
    if offset >= len(data):
        return 0
    try:
        return _certify(data, offset, delimiter, width, steps, custom, label_pos, pos, invalid, memo_limit)
    except (_Fallback, pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None


def _certify(
    data: bytes,
    offset: int,
    delimiter: str,
    width: int,
    steps: Sequence[Sequence[Any]],
    custom: Sequence[tuple[Any, Callable[[list[Any]], Any]]],
    label_pos: dict[str, int],
    pos: dict[str, int],
    invalid: object,
    memo_limit: int,
) -> int:
    columns = [_Column(step) for step in steps]
    single, multi = _plan_custom(custom, {c.name: c for c in columns}, label_pos, pos)
    reader = _open_reader(data, offset, delimiter, width)
    return _check_rows(reader, columns, single, multi, label_pos, len(pos), width, invalid, memo_limit)


_Single = tuple[Callable[[list[Any]], Any], _Column, int, dict[str, bool]]
_Multi = tuple[str, dict[str, Any]]


def _plan_custom(
    custom: Sequence[tuple[Any, Callable[[list[Any]], Any]]],
    by_name: dict[str, _Column],
    label_pos: dict[str, int],
    pos: dict[str, int],
) -> tuple[list[_Single], list[_Multi]]:
    """Sort the custom checks into per-value and per-row ones; a check the native path cannot mirror exactly
    raises :class:`_Fallback`."""
    multi: list[_Multi] = []
    single: list[_Single] = []
    for check, closure in custom:
        name, params = check.name, check.params
        column = params.get("column")
        if name in _SINGLE_COLUMN_CHECKS:
            if column in by_name:  # else the value is always None: the check never fires
                single.append((closure, by_name[column], pos[column], {}))
            elif column in label_pos:  # a header column the schema does not type: not ours to guess
                raise _Fallback
            continue
        if name == "cohesive-columns-value":
            involved = [column, *params.get("othercolumns", [])]
            present = [c for c in involved if c in label_pos]
            if 0 < len(present) < len(set(involved)):
                raise _Fallback  # the validator reports the missing columns on the first row
            if present and not all(c in by_name for c in involved):
                raise _Fallback  # a header column outside the schema: its value is always None
        elif name in ("compare-columns-value", "sum-columns-value"):
            involved = [column, params.get("column2")] if name == "compare-columns-value" else [column]
            involved += list(params.get("columns", []))
            if not all(c in label_pos for c in involved):
                continue  # an absent column's value is None: the check never fires
            for c in involved:
                if c not in by_name:
                    raise _Fallback
                by_name[c].typed = True
        else:
            raise _Fallback
        multi.append((name, params))
    return single, multi


def _open_reader(data: bytes, offset: int, delimiter: str, width: int) -> Any:
    """A streaming pyarrow reader of the data rows, every column as text (casting stays in Python)."""
    parse = pacsv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=False,
        ignore_empty_lines=False,
    )
    read = pacsv.ReadOptions(autogenerate_column_names=True, block_size=BLOCK_SIZE, use_threads=False)
    convert = pacsv.ConvertOptions(
        column_types={f"f{k}": pa.string() for k in range(width)},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        check_utf8=True,
    )
    source = pa.BufferReader(pa.py_buffer(data)[offset:])
    reader = pacsv.open_csv(
        source, read_options=read, parse_options=parse, convert_options=convert, memory_pool=_pool()
    )
    if len(reader.schema) != width:
        raise _Fallback
    return reader


def _check_rows(
    reader: Any,
    columns: list[_Column],
    single: list[_Single],
    multi: list[_Multi],
    label_pos: dict[str, int],
    nfields: int,
    width: int,
    invalid: object,
    memo_limit: int,
) -> int:
    """Check every batch; the row count when all are clean."""
    required_any = any(c.required for c in columns)
    rows = 0
    for batch in reader:
        if batch.num_rows == 0:
            continue
        rows += batch.num_rows
        if batch.num_columns != width:
            raise _Fallback
        _check_batch(batch, columns, single, multi, label_pos, nfields, invalid, memo_limit)
        if not required_any:
            blank = None
            for k in range(width):
                empty = pc.equal(batch.column(k), "")
                blank = empty if blank is None else pc.and_(blank, empty)
            if pc.any(blank).as_py():
                raise _Fallback
    return rows


def _check_batch(
    batch: pa.RecordBatch,
    columns: list[_Column],
    single: list[tuple[Callable[[list[Any]], Any], _Column, int, dict[str, bool]]],
    multi: list[tuple[str, dict[str, Any]]],
    label_pos: dict[str, int],
    nfields: int,
    invalid: object,
    memo_limit: int,
) -> None:
    distincts, typed = _certify_columns(
        batch, columns, {c.name for _, c, _, _ in single}, invalid, memo_limit
    )
    _check_single(single, distincts, nfields, memo_limit)
    _check_multi(batch, multi, typed, label_pos)


def _certify_columns(
    batch: pa.RecordBatch, columns: list[_Column], single_names: set[str], invalid: object, memo_limit: int
) -> tuple[dict[str, tuple[list[str], list[Any]]], dict[str, pa.Array | None]]:
    """Each distinct value of a checked column through the Python cast and checks (memoised)."""
    typed: dict[str, pa.Array | None] = {}
    distincts: dict[str, tuple[list[str], list[Any]]] = {}
    for col in columns:
        array = batch.column(col.index)
        if col.required and pc.any(pc.equal(array, "")).as_py():
            raise _Fallback
        if col.cast is None and not col.checks:
            if not col.typed and col.name not in single_names:
                continue
        elif col.cast is not None and col.cast.__name__ == "_cast_uri" and not col.checks and not col.typed:
            ok = pc.or_(pc.match_substring_regex(array, _URI_SCHEME_RE2), pc.equal(array, ""))
            if not pc.all(ok).as_py():
                raise _Fallback
            if col.name not in single_names:
                continue
        distinct = pc.unique(array).to_pylist()
        values = [None if raw == "" else col.certify(raw, invalid, memo_limit) for raw in distinct]
        distincts[col.name] = (distinct, values)
        if col.typed:
            typed[col.name] = _typed_array(array, distinct, values)
    return distincts, typed


def _check_single(
    single: list[_Single], distincts: dict[str, tuple[list[str], list[Any]]], nfields: int, memo_limit: int
) -> None:
    """The single-column custom checks, once per distinct value."""
    for closure, col, slot, seen in single:
        distinct, values = distincts[col.name]
        for raw, value in zip(distinct, values, strict=True):
            if value is None or raw in seen:
                continue
            cells: list[Any] = [None] * (nfields + 1)
            cells[slot] = value
            if closure(cells) is not None:
                raise _Fallback
            if len(seen) < memo_limit:
                seen[raw] = True


def _check_multi(
    batch: pa.RecordBatch, multi: list[_Multi], typed: dict[str, pa.Array | None], label_pos: dict[str, int]
) -> None:
    """The row-wise custom checks (cohesive, compare, sum), vectorised."""
    for name, params in multi:
        if name == "cohesive-columns-value":
            _check_cohesive(batch, params, label_pos)
        elif name == "compare-columns-value":
            _check_compare(params, typed)
        else:
            _check_sum(params, typed)


def _check_cohesive(batch: pa.RecordBatch, params: dict[str, Any], label_pos: dict[str, int]) -> None:
    column = params["column"]
    involved = [column, *params.get("othercolumns", [])]
    if column not in label_pos:
        return
    first = pc.equal(batch.column(label_pos[column]), "")
    for other in involved[1:]:
        if pc.any(pc.not_equal(first, pc.equal(batch.column(label_pos[other]), ""))).as_py():
            raise _Fallback


def _check_compare(params: dict[str, Any], typed: dict[str, pa.Array | None]) -> None:
    a, b = typed[params["column"]], typed[params["column2"]]
    if a is None or b is None:
        return
    if a.type != b.type:
        raise _Fallback
    if pc.any(pc.invert(_OPS[params["op"]](a, b))).as_py():
        raise _Fallback


def _check_sum(params: dict[str, Any], typed: dict[str, pa.Array | None]) -> None:
    expected = typed[params["column"]]
    parts = [typed[c] for c in params.get("columns", [])]
    if not parts:
        raise _Fallback
    arrays = [p for p in parts if p is not None]
    if expected is None or len(arrays) != len(parts):
        return  # a column empty on the whole batch: a None part on every row
    if any(p.type != pa.int64() for p in arrays) or expected.type != pa.int64():
        raise _Fallback
    total = arrays[0]
    for part in arrays[1:]:
        total = pc.add_checked(total, part)
    if pc.any(pc.not_equal(total, expected)).as_py():
        raise _Fallback
