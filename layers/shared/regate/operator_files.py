"""Files operators edit by hand (``config/collectivites.csv``, ``config/overrides.csv``): one strict reader.

Why strict: these files carry takedowns (``open_data = non``, an override ``retenir``). A lenient parser that
"skips the bad line" silently turns a withdrawal into a publication. So, for every operator CSV:

* decoding: UTF-8 (a BOM is fine), else Windows-1252 (what Excel writes), reported as a warning; bytes neither
  can decode, and NUL bytes, make the file unreadable;
* the separator is ``,``, or ``;`` / tab when the header has no comma;
* the header names are compared without case, accents, spaces or hyphens (``Open data`` = ``open_data``);
* a quoted cell spanning lines (an unbalanced quote swallows rows), a CSV syntax error, or a row whose cell
  count differs from the header's (an unquoted separator shifts every later cell) make the file unreadable;
* the parsers built on it (:mod:`regate.collectivites.config`,
  :func:`regate.normalize.decision.parse_overrides`) report every problem with its line; any problem of
  severity ``error`` refuses the **whole** file.

A refused file is never half-applied: :func:`load_last_good` keeps the newest S3 version that parses (the
curated bucket is versioned), and says so, so the run report, the exit code and an alarm can shout.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict

T = TypeVar("T")

#: spellings people type for a yes/no cell (compared after :func:`normalize_label`)
TRUE_SPELLINGS = frozenset({"oui", "o", "yes", "y", "true", "vrai"})
FALSE_SPELLINGS = frozenset({"non", "n", "no", "false", "faux"})


class FileProblem(BaseModel):
    """A problem found in an operator file. ``error`` refuses the whole file; ``warning`` does not."""

    model_config = ConfigDict(frozen=True)

    line: int | None
    column: str | None = None
    code: str
    message: str
    severity: Literal["error", "warning"] = "error"


def has_errors(problems: list[FileProblem]) -> bool:
    return any(p.severity == "error" for p in problems)


def normalize_label(value: str) -> str:
    """Lower case, no accents, single spaces, no trailing dots: ``" Non. "`` → ``"non"``."""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"\s+", " ", text).strip().rstrip(".").strip()


def normalize_column(name: str) -> str:
    """Header spelling → column id: ``"Open-Data "`` → ``"open_data"``."""
    return re.sub(r"[\s\-]+", "_", normalize_label(name))


def parse_yes_no(value: str) -> bool:
    """oui/non, o/n, yes/no, true/false, vrai/faux, any case, trailing dot; ``ValueError`` otherwise."""
    label = normalize_label(value)
    if label in TRUE_SPELLINGS:
        return True
    if label in FALSE_SPELLINGS:
        return False
    raise ValueError(value)


@dataclass
class CsvRow:
    line: int
    cells: dict[str, str]


@dataclass
class OperatorCsv:
    """The rows of a strictly read operator CSV (``header`` is ``None`` when the file was refused)."""

    header: list[str] | None
    rows: list[CsvRow] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    encoding: str = "utf-8"


def decode_operator_bytes(data: bytes, problems: list[FileProblem]) -> str | None:
    """UTF-8 (BOM ok), else Windows-1252 with a warning; ``None`` (and an error) when neither fits."""
    try:
        return bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = bytes(data)[: exc.start].count(b"\n") + 1
        try:
            text = bytes(data).decode("cp1252")
        except UnicodeDecodeError as again:
            at = bytes(data)[: again.start].count(b"\n") + 1
            problems.append(
                FileProblem(
                    line=at,
                    code="encodage",
                    message=f"neither UTF-8 nor Windows-1252 (byte {again.start}, line {at}); "
                    "save it as 'CSV UTF-8'",
                )
            )
            return None
        problems.append(
            FileProblem(
                line=line,
                code="cp1252",
                message=f"not UTF-8 (line {line}): read as Windows-1252; prefer 'CSV UTF-8'",
                severity="warning",
            )
        )
        return text


def read_operator_csv(data: bytes, known_columns: tuple[str, ...]) -> OperatorCsv:
    """Strict read (module docstring). Never raises; header names go through :func:`normalize_column`."""
    problems: list[FileProblem] = []
    if not isinstance(data, bytes | bytearray):
        problems.append(
            FileProblem(line=None, code="not_bytes", message=f"expected bytes, got {type(data).__name__}")
        )
        return OperatorCsv(None, problems=problems)
    text = decode_operator_bytes(data, problems)
    if text is None:
        return OperatorCsv(None, problems=problems)
    encoding = "cp1252" if any(p.code == "cp1252" for p in problems) else "utf-8"
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        problems.append(
            FileProblem(line=line, code="nul_byte", message="NUL bytes (a binary or UTF-16 file?)")
        )
        return OperatorCsv(None, problems=problems, encoding=encoding)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        problems.append(FileProblem(line=None, code="empty", message="the file is empty (no header line)"))
        return OperatorCsv(None, problems=problems, encoding=encoding)
    delimiter = _delimiter(first, problems)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    raw_header: list[str] = []
    rows: list[CsvRow] = []
    start = 1
    try:
        for cells in reader:
            line, end = start, reader.line_num
            start = end + 1
            if end != line:
                problems.append(
                    FileProblem(
                        line=line,
                        code="cellule_multiligne",
                        message=f"a quoted cell runs from line {line} to line {end} (unbalanced quote?)",
                    )
                )
                continue
            if header is None:
                if not any(c.strip() for c in cells):
                    continue
                raw_header = cells
                header = [normalize_column(c) for c in cells]
                continue
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                missing_named = [h for h in header[len(cells) :] if h]
                if len(cells) > len(header) or missing_named:
                    problems.append(
                        FileProblem(
                            line=line,
                            code="too_many_fields" if len(cells) > len(header) else "too_few_fields",
                            message=f"{len(cells)} cells for {len(header)} columns (a {delimiter!r} inside a "
                            "value must be quoted; every row needs every column)",
                        )
                    )
                    continue
            values = {
                name: cells[i].strip() if i < len(cells) else "" for i, name in enumerate(header) if name
            }
            rows.append(CsvRow(line, values))
    except csv.Error as exc:
        problems.append(FileProblem(line=start, code="csv_syntax", message=f"CSV syntax error: {exc}"))
    if header is None:
        if not has_errors(problems):
            problems.append(FileProblem(line=None, code="empty", message="the file has no header line"))
        return OperatorCsv(None, problems=problems, encoding=encoding)
    _check_header_names(header, raw_header, known_columns, problems)
    return OperatorCsv(header, rows, _one_empty_name_warning(problems), encoding)


def _delimiter(first: str, problems: list[FileProblem]) -> str:
    """``,`` unless the header line has none and has ``;`` or a tab (accepted, with a warning)."""
    delimiter = ","
    if "," not in first:
        if ";" in first:
            delimiter = ";"
        elif "\t" in first:
            delimiter = "\t"
    if delimiter != ",":
        problems.append(
            FileProblem(
                line=1,
                code="semicolon_separator" if delimiter == ";" else "tab_separator",
                message=f"{delimiter!r} used as separator instead of ','; accepted",
                severity="warning",
            )
        )
    return delimiter


def _check_header_names(
    header: list[str], raw_header: list[str], known_columns: tuple[str, ...], problems: list[FileProblem]
) -> None:
    """Unnamed (warning), duplicate (error) and unknown (warning) columns of the header line."""
    seen: set[str] = set()
    for position, name in enumerate(header):
        if not name:
            if raw_header[position].strip() == "":
                problems.append(
                    FileProblem(
                        line=1,
                        code="empty_column_name",
                        message="column(s) without a name ignored",
                        severity="warning",
                    )
                )
            continue
        if name in seen:
            problems.append(
                FileProblem(line=1, column=name, code="duplicate_column", message=f"column {name!r} twice")
            )
        seen.add(name)
        if name not in known_columns:
            problems.append(
                FileProblem(
                    line=1,
                    column=name,
                    code="unknown_column",
                    message=f"unknown column {name!r} ignored",
                    severity="warning",
                )
            )


def _one_empty_name_warning(problems: list[FileProblem]) -> list[FileProblem]:
    """One warning per kind is enough for empty column names."""
    deduped: list[FileProblem] = []
    for problem in problems:
        if problem.code == "empty_column_name" and any(p.code == "empty_column_name" for p in deduped):
            continue
        deduped.append(problem)
    return deduped


# --------------------------------------------------------------------------------------- S3 versions
class LoadedFile(BaseModel):
    """Which version of an operator file is in use, and why (said in run reports and alarms).

    ``status``: ``absent`` (no file: defaults), ``current`` (the current version parses), ``last_good`` (the
    current version is refused; ``version_id`` is the newest older version that parses — or a delete marker,
    meaning "no file"), ``unreadable`` (no version parses: every decision that depends on it is withheld).
    """

    key: str
    status: Literal["absent", "current", "last_good", "unreadable"]
    version_id: str | None = None
    last_modified: str | None = None
    refused_version_id: str | None = None
    problems: list[FileProblem] = []

    @property
    def refused(self) -> bool:
        """The current version could not be used (loud: report error, exit code, metric)."""
        return self.status in {"last_good", "unreadable"}

    def summary(self) -> str:
        errors = [p for p in self.problems if p.severity == "error"]
        first = "; ".join(
            f"{'line ' + str(p.line) + ': ' if p.line else ''}[{p.code}] {p.message}" for p in errors[:3]
        )
        if self.status == "last_good":
            used = (
                "no file (deleted then)"
                if self.version_id == "delete-marker"
                else f"version {self.version_id}"
            )
            return f"{self.key} refused ({first}); using its last good {used} of {self.last_modified}"
        if self.status == "unreadable":
            return f"{self.key} refused ({first}) and no older version is readable: decisions withheld"
        return f"{self.key}: {self.status}"


@dataclass
class Loaded(Generic[T]):
    value: T
    file: LoadedFile


def _is_missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code", "") in {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}


def object_versions(client: Any, bucket: str, key: str, limit: int) -> list[dict[str, Any]]:
    """Versions and delete markers of exactly ``key``, newest first (at most ``limit``).

    S3 lists them in two lists with one-second ``LastModified``: within one second the current version comes
    first, then content versions before delete markers (fail closed: the older content is the more restrictive
    reading of an operator file), then S3's own newest-first order.
    """
    found: list[tuple[Any, bool, bool, int, dict[str, Any]]] = []
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=key):
        for kind in ("Versions", "DeleteMarkers"):
            for item in page.get(kind, []):
                if item["Key"] == key:
                    marker = kind == "DeleteMarkers"
                    entry = {**item, "_marker": marker}
                    found.append(
                        (item["LastModified"], bool(item.get("IsLatest")), not marker, -len(found), entry)
                    )
    found.sort(key=lambda v: v[:4], reverse=True)
    return [entry for *_, entry in found[:limit]]


def load_last_good(
    store: Any,
    key: str,
    parse: Callable[[bytes | None], tuple[T, list[FileProblem]]],
    max_versions: int = 50,
) -> Loaded[T]:
    """The current version of ``key`` if it parses, else the newest older version that does.

    ``parse(None)`` is the value of "no file". A delete marker met while walking back counts as a good state
    ("no file"). When nothing parses, the value is ``parse(None)`` and ``status`` is ``unreadable``: the
    caller must then withhold whatever the file could have restricted.
    """
    client, bucket = store.client, store.bucket
    try:
        response = client.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if not _is_missing(exc):
            raise
        empty, _ = parse(None)
        return Loaded(empty, LoadedFile(key=key, status="absent"))
    body = response["Body"].read()
    current_version = response.get("VersionId")
    value, problems = parse(body)
    if not has_errors(problems):
        return Loaded(
            value,
            LoadedFile(
                key=key,
                status="current",
                version_id=current_version,
                last_modified=_iso(response.get("LastModified")),
                problems=problems,
            ),
        )
    try:
        versions = object_versions(client, bucket, key, max_versions + 1)
    except ClientError as exc:  # no ListBucketVersions right, or an unversioned store
        problems = [*problems, FileProblem(line=None, code="versions_illisibles", message=str(exc)[:200])]
        versions = []
    for version in versions:
        if version.get("IsLatest") or (current_version and version.get("VersionId") == current_version):
            continue  # the refused version itself (or one written since, not parsed by this run)
        if version["_marker"]:
            empty, _ = parse(None)
            return Loaded(
                empty,
                LoadedFile(
                    key=key,
                    status="last_good",
                    version_id="delete-marker",
                    last_modified=_iso(version.get("LastModified")),
                    refused_version_id=current_version,
                    problems=problems,
                ),
            )
        try:
            older = client.get_object(Bucket=bucket, Key=key, VersionId=version["VersionId"])["Body"].read()
        except ClientError:
            continue
        older_value, older_problems = parse(older)
        if not has_errors(older_problems):
            return Loaded(
                older_value,
                LoadedFile(
                    key=key,
                    status="last_good",
                    version_id=version["VersionId"],
                    last_modified=_iso(version.get("LastModified")),
                    refused_version_id=current_version,
                    problems=problems,
                ),
            )
    empty, _ = parse(None)
    return Loaded(
        empty,
        LoadedFile(key=key, status="unreadable", refused_version_id=current_version, problems=problems),
    )


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    from regate.clock import utc_iso

    try:
        return utc_iso(value)
    except Exception:
        return str(value)
