"""How a CSV file is turned into (header, numbered rows), in each validator mode.

* :func:`read_validata` reads bytes exactly as validata-table 0.12.5 does (frictionless 5.21 CSV parser
  behind ``validata_core.infrastructure.table_resource_readers``), so ``regate validate --validata`` gives
  the verdict data.gouv.fr shows on files we did not produce:

  - encoding: the first 100 000 bytes (frictionless' buffer) are tried as UTF-8 — then the encoding is
    ``utf-8`` *with* any BOM left in the text; if that fails (a bad byte, or a multi-byte character cut by the
    buffer's end), chardet's ``UniversalDetector`` is fed the buffer's lines, a confidence below 0.5 retries
    UTF-8 then keeps the guess, ``ascii`` becomes UTF-8, a UTF-8 BOM selects ``utf-8-sig`` and a UTF-16 BOM
    ``utf-16``. The whole file is then decoded with that one encoding,
    strictly: a byte it cannot decode makes the file unreadable (validata-table raises) — never a silent
    whole-file Windows-1252 fallback;
  - dialect: ``csv.Sniffer`` on the first 100 text lines (``\\n``, ``\\r\\n`` and lone ``\\r`` all end a
    line), candidates ``, TAB ; |``, the Excel dialect when it cannot decide, a sniffed ``'`` quote replaced
    by ``"``, the sniffed ``skipinitialspace`` kept (``, ``-separated exports), double quotes always on;
  - a U+FEFF left at the start of the first row's first cell is removed (all of them, as validata does);
  - header row: among the first 100 rows (blank ones included), the first whose width is within 10 % (at least
    one cell) of the rounded average width is the header (frictionless' ``detect_dialect``); rows above it
    (titles, blank lines) are dropped, rows keep their record numbers (header = its record number).

* :func:`read_strict` is our pipeline's reading: UTF-8 only (a BOM is tolerated with a warning), the header is
  the first record, the delimiter is the one of the header line among ``, ; TAB |``.

Both return a :class:`ReadTable` whose ``rows`` iterator yields ``(record number, cells)``; decoding is lazy
(streamed), so a decoding error may surface while iterating: it is raised as :class:`UnreadableFile`.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice

# frictionless sets this at import (formats/csv/parser.py); we need more than the stdlib's 131 072 characters
# for real objets (a 200 000-character cell is a cell) — the value is frictionless' own.
FIELD_SIZE_LIMIT = 2_147_483_646
csv.field_size_limit(FIELD_SIZE_LIMIT)

BUFFER_SIZE = 100_000  # frictionless DEFAULT_BUFFER_SIZE: bytes used to detect the encoding
SAMPLE_SIZE = 100  # frictionless: text lines sniffed for the dialect, and rows used to find the header
DELIMITERS = ",\t;|"  # frictionless CsvParser candidates
ENCODING_CONFIDENCE = 0.5  # frictionless DEFAULT_ENCODING_CONFIDENCE
_BOM = b"\xef\xbb\xbf"


class UnreadableFile(Exception):
    """The file cannot be read at all (validata-table raises instead of reporting)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ReadTable:
    """A file opened for validation: the header and a lazy iterator of (record number, cells)."""

    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str]]]
    encoding: str
    delimiter: str
    warnings: list[tuple] = field(default_factory=list)
    errors: list[tuple] = field(default_factory=list)
    fragment_rows: int = 0  # records after the header among the first SAMPLE_SIZE (frictionless' fragment)
    # how the records are split, for the native reader (validation/native.py) to check it can do the same
    start: int = 0  # byte offset of the first record (after a BOM skipped in strict mode)
    quotechar: str = '"'
    skipinitialspace: bool = False


# ---------------------------------------------------------------------------------------------------------
# Validata mode


def detect_encoding(data: bytes) -> str:
    """validata-table 0.12.5's encoding function, returned as is (frictionless skips its own normalisation
    when a function is given): ``utf-8`` even with a BOM (the BOM then stays in the text: a quoted first label
    keeps its quotes), else frictionless' default detection, lower-cased."""
    buffer = data[:BUFFER_SIZE]
    try:
        buffer.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return _frictionless_detect(buffer).lower()


def _frictionless_detect(buffer: bytes) -> str:
    """frictionless 5.21 ``Detector.detect_encoding`` without a user function (chardet + normalisation)."""
    import chardet  # lazy: only files that are not UTF-8 need it

    detector = chardet.UniversalDetector()
    for line in buffer.splitlines():
        detector.feed(line)
    detector.close()
    encoding = detector.result["encoding"] or "utf-8"
    confidence = detector.result["confidence"] or 0
    if confidence < ENCODING_CONFIDENCE:
        detected = encoding
        encoding = "utf-8"
        try:
            buffer.decode(encoding)
        except UnicodeDecodeError:
            encoding = detected
    if encoding == "ascii":
        encoding = "utf-8"
    encoding = codecs.lookup(encoding).name
    if encoding == "utf-8" and buffer.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    elif (encoding == "utf-16-be" and buffer.startswith(codecs.BOM_UTF16_BE)) or (
        encoding == "utf-16-le" and buffer.startswith(codecs.BOM_UTF16_LE)
    ):
        encoding = "utf-16"
    return encoding


def _decode_failure(exc: Exception, encoding: str) -> UnreadableFile:
    if isinstance(exc, UnicodeDecodeError):
        return UnreadableFile(
            "encoding-error",
            f"Le fichier n'est pas lisible dans l'encodage détecté ({encoding}) : {exc.reason} à l'octet "
            f"{exc.start} d'un bloc. validata.fr refuse aussi ce fichier. Réenregistrez-le en UTF-8.",
        )
    if isinstance(exc, LookupError):
        return UnreadableFile("encoding-error", f"Encodage détecté inconnu : {encoding}.")
    return UnreadableFile("source-error", f"CSV illisible : {exc}")


def read_validata(data: bytes) -> ReadTable:
    """Open ``data`` like validata-table 0.12.5 (see the module docstring); raises :class:`UnreadableFile`."""
    try:
        encoding = detect_encoding(data)
    except LookupError as exc:
        raise _decode_failure(exc, "?") from exc
    try:
        text_stream = io.TextIOWrapper(io.BytesIO(data), encoding, newline="")
        sample: list[str] = []
        for text_line in text_stream:
            sample.append(text_line)
            if len(sample) >= SAMPLE_SIZE:
                break
    except (UnicodeDecodeError, LookupError) as exc:
        raise _decode_failure(exc, encoding) from exc
    try:
        sniffed: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff("".join(sample), DELIMITERS)
    except csv.Error:
        sniffed = csv.excel()
    quotechar = sniffed.quotechar or '"'
    if quotechar == "'":
        quotechar = '"'
    delimiter = sniffed.delimiter
    reader = csv.reader(
        chain(sample, text_stream),
        delimiter=delimiter,
        quotechar=quotechar,
        doublequote=True,
        escapechar=None,
        skipinitialspace=bool(sniffed.skipinitialspace),
        quoting=csv.QUOTE_MINIMAL,
    )
    records = _guarded(reader, encoding)
    head: list[list[str]] = []
    for cells in records:
        head.append(cells)
        if len(head) >= SAMPLE_SIZE:
            break
    if not head:
        raise UnreadableFile("empty-file", "Le fichier est vide (ni en-tête ni données).")
    first = head[0]
    if first and first[0].startswith("\ufeff"):
        head[0] = [first[0].replace("\ufeff", ""), *first[1:]]
    header_row = detect_header_row(head)
    header = [str(cell) for cell in head[header_row - 1]]

    rows = islice(enumerate(chain(head, records), start=1), header_row, None)
    return ReadTable(
        header=header,
        header_row=header_row,
        rows=rows,
        encoding=encoding,
        delimiter=delimiter,
        fragment_rows=len(head) - header_row,
        quotechar=quotechar,
        skipinitialspace=bool(sniffed.skipinitialspace),
    )


def _guarded(reader: Iterator[list[str]], encoding: str) -> Iterator[list[str]]:
    try:
        yield from reader
    except (UnicodeDecodeError, LookupError, csv.Error) as exc:
        raise _decode_failure(exc, encoding) from exc


def detect_header_row(sample: list[list[str]]) -> int:
    """frictionless 5.21 ``Detector.detect_dialect``: first row close to the average width (1-based)."""
    widths = [len(cells) for cells in sample]
    if not widths:
        return 1
    width = round(sum(widths) / len(widths))
    drift = max(round(width * 0.1), 1)
    match = range(width - drift, width + drift + 1)
    for row_number, cells in enumerate(sample, start=1):
        if len(cells) in match:
            return row_number
    return 1


# ---------------------------------------------------------------------------------------------------------
# Strict mode (our pipeline)


def _sniff_delimiter(text: str) -> str:
    """Delimiter of the header line among , ; TAB | (commas win ties), counting outside quotes."""
    end = text.find("\n")
    first = text if end < 0 else text[:end]
    counts = dict.fromkeys(",;\t|", 0)
    quoted = False
    for char in first:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


_CHUNK = 1 << 16  # bytes decoded at a time when checking UTF-8


def _check_utf8(data: bytes, start: int) -> bool:
    """Raise :class:`UnreadableFile` on the first non-UTF-8 byte; True when some text is not whitespace.

    Chunked incremental decoding: memory stays bounded whatever the file size."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    content = False
    try:
        for offset in range(start, len(data), _CHUNK):
            chunk = decoder.decode(view[offset : offset + _CHUNK])
            content = content or (not chunk.isspace() and chunk != "")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:  # failure path only: the whole decode gives the exact offending byte
            data[start:].decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", start, start + exc.start) + 1
            raise UnreadableFile(
                "encoding-error",
                f"Le fichier n'est pas encodé en UTF-8 : octet 0x{data[start + exc.start]:02x} invalide à la "
                f"position {exc.start} (ligne physique {line}). Réenregistrez-le en UTF-8.",
            ) from exc
        raise  # pragma: no cover - both decoders agree
    return content


def read_strict(data: bytes) -> ReadTable:
    """Open ``data`` as our pipeline does: UTF-8 or nothing, header on the first record."""
    warnings: list[tuple] = []
    errors: list[tuple] = []
    start = 0
    if data.startswith(_BOM):
        start = len(_BOM)
        if data.startswith(b'"', start):  # validata.fr then reads the first label with its quotes
            errors.append(
                (
                    1,
                    None,
                    "bom-quoted-header",
                    "Le fichier commence par un BOM UTF-8 suivi d'un en-tête entre guillemets : "
                    "validata.fr lit alors la première colonne avec ses guillemets et la déclare manquante. "
                    "Retirez le BOM.",
                )
            )
        else:
            warnings.append((1, None, "bom", "Le fichier commence par un BOM UTF-8 (toléré, à retirer)."))
    if not _check_utf8(data, start):
        raise UnreadableFile("empty-file", "Le fichier est vide (ni en-tête ni données).")
    if b"\r" in data and b"\n" not in data:  # old Mac Excel; validata.fr sniffs such files on one "line"
        errors.append(
            (
                None,
                None,
                "line-endings",
                "Fins de ligne CR seules (ancien format Mac) : le CSV (RFC 4180) demande CRLF ou LF, et "
                "validata.fr peut alors se tromper de séparateur. Réenregistrez le fichier.",
            )
        )
    end = data.find(b"\n", start)
    text = data[start : end if end >= 0 else len(data)].decode("utf-8")  # the header line
    delimiter = _sniff_delimiter(text)
    if delimiter != ",":
        warnings.append(
            (
                1,
                None,
                "delimiter",
                f"Séparateur {delimiter!r} détecté : accepté, mais le SCDL recommande la virgule.",
            )
        )
    stream = io.BytesIO(data)  # shares the bytes: the file is decoded as it is read, never copied whole
    stream.seek(start)
    text_stream = io.TextIOWrapper(stream, "utf-8", newline="")
    reader = csv.reader(text_stream, delimiter=delimiter, quotechar='"', doublequote=True)
    records = _guarded(reader, "utf-8")
    try:
        header = next(records)
    except StopIteration as exc:  # pragma: no cover - text.strip() is non-empty
        raise UnreadableFile("empty-file", "Le fichier est vide (ni en-tête ni données).") from exc
    except UnreadableFile as exc:
        raise UnreadableFile("source-error", f"En-tête illisible : {exc.message}") from exc
    return ReadTable(
        header=header,
        header_row=1,
        rows=enumerate(records, start=2),
        encoding="utf-8",
        delimiter=delimiter,
        warnings=warnings,
        errors=errors,
        start=start,
    )
