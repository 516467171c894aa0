"""The one CSV dialect Rég@te writes (scdl.md §1.8): UTF-8 without BOM, comma, CRLF, header line,
quotes only when needed (comma, double quote, CR or LF in the cell), inner quotes doubled.

Hand-written rather than ``csv.writer`` so the exact bytes are specified here, not by a library default
(``csv.writer`` also quotes a lone empty field, which would make re-writes of the same data differ).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

CRLF = "\r\n"
_NEEDS_QUOTES = frozenset(',"\r\n')


def quote_cell(cell: str) -> str:
    """A cell as written: wrapped in double quotes (inner ones doubled) only if it must be."""
    if _NEEDS_QUOTES.isdisjoint(cell):
        return cell
    return '"' + cell.replace('"', '""') + '"'


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """Header + rows in our dialect; every row must have exactly ``len(columns)`` cells (ValueError)."""
    width = len(columns)
    lines = [",".join(quote_cell(c) for c in columns)]
    for number, row in enumerate(rows, start=2):
        if len(row) != width:
            raise ValueError(f"ligne {number} : {len(row)} cellules pour {width} colonnes")
        lines.append(",".join(quote_cell(cell) for cell in row))
    return (CRLF.join(lines) + CRLF).encode("utf-8")
