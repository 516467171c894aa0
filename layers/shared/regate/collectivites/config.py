"""Parser of the operator file ``config/collectivites.csv`` (curated bucket).

Operators edit it by hand (often in a spreadsheet), so the parser is forgiving where the intent is clear
(BOM, ``;`` separator, letter case, spaces in numbers) and strict where a guess could publish the wrong thing
(bad booleans, invalid SIREN/SIRET, duplicates): those are reported and the value falls back to the default.
It never raises: a broken file must not stop the chain.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from regate.collectivites.models import CollectiviteConfig, ConfigProblem

REQUIRED_COLUMNS: tuple[str, ...] = ("siren",)
KNOWN_COLUMNS: tuple[str, ...] = ("siren", "siret", "nom", "open_data", "documents", "annexes")
BOOLEAN_COLUMNS: tuple[str, ...] = ("open_data", "documents", "annexes")
TRUE_VALUES = frozenset({"oui"})
FALSE_VALUES = frozenset({"non"})
MAX_NOM_LENGTH = 255


def normalize_siren(value: str) -> str | None:
    """Digits of a valid SIREN (spaces allowed), else ``None``."""
    compact = "".join(value.split())
    return compact if len(compact) == 9 and stdnum_siren.is_valid(compact) else None


def normalize_siret(value: str, siren: str | None = None) -> str | None:
    """Digits of a valid SIRET that belongs to ``siren`` (its first 9 digits), else ``None``."""
    compact = "".join(value.split())
    if len(compact) != 14 or not stdnum_siret.is_valid(compact):
        return None
    if siren is not None and not compact.startswith(siren):
        return None
    return compact


def parse_boolean(value: str) -> bool | None:
    """``oui``/``non`` (any case) → bool; ``ValueError`` for anything else (empty cells never get here)."""
    lowered = value.strip().lower()
    if lowered in TRUE_VALUES:
        return True
    if lowered in FALSE_VALUES:
        return False
    raise ValueError(value)


def parse_collectivites_csv(data: bytes) -> tuple[dict[str, CollectiviteConfig], list[ConfigProblem]]:
    """``config/collectivites.csv`` bytes → (SIREN → config, problems). Never raises."""
    problems: list[ConfigProblem] = []
    try:
        configs = _parse(data, problems)
    except Exception as exc:
        problems.append(
            ConfigProblem(
                line=None, column=None, code="unexpected_error", message=f"{type(exc).__name__}: {exc}"
            )
        )
        configs = {}
    return configs, problems


def _parse(data: bytes, problems: list[ConfigProblem]) -> dict[str, CollectiviteConfig]:
    def problem(
        code: str, message: str, line: int | None = None, column: str | None = None, warn: bool = False
    ) -> None:
        problems.append(
            ConfigProblem(
                line=line, column=column, code=code, message=message, severity="warning" if warn else "error"
            )
        )

    if not isinstance(data, bytes | bytearray):
        problem("not_bytes", f"expected bytes, got {type(data).__name__}")
        return {}
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = bytes(data)[: exc.start].count(b"\n") + 1
        problem(
            "not_utf8",
            f"the file is not UTF-8 (byte {exc.start}, line {line}); save it as 'CSV UTF-8'. Ignored whole.",
            line=line,
        )
        return {}
    if "\x00" in text:
        problem("nul_byte", "the file contains NUL bytes (binary file?); ignored whole")
        return {}
    if not text.strip():
        problem("empty", "the file is empty: every collectivité gets the defaults", warn=True)
        return {}

    header_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = ","
    if ";" in header_line and "," not in header_line:
        delimiter = ";"
        problem("semicolon_separator", "';' used as separator instead of ','; accepted", line=1, warn=True)

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: Iterable[list[str]] = reader
    header: list[str] | None = None
    configs: dict[str, CollectiviteConfig] = {}
    first_line: dict[str, int] = {}
    try:
        for cells in rows:
            line = reader.line_num
            if header is None:
                if not any(cell.strip() for cell in cells):
                    continue
                header = [cell.strip().lower() for cell in cells]
                seen: set[str] = set()
                if "" in header:
                    problem("empty_column_name", "column(s) without a name ignored", line, None, True)
                for name in header:
                    if not name:
                        continue  # trailing separators from spreadsheets
                    if name in seen:
                        problem(
                            "duplicate_column", f"column {name!r} appears twice; file ignored", line, name
                        )
                        return {}
                    seen.add(name)
                    if name not in KNOWN_COLUMNS:
                        problem("unknown_column", f"unknown column {name!r} ignored", line, name, True)
                if "siren" not in header:
                    problem(
                        "missing_column", "required column 'siren' is missing; file ignored", line, "siren"
                    )
                    return {}
                for name in KNOWN_COLUMNS:
                    if name not in header:
                        problem(
                            "missing_column", f"column {name!r} absent: default everywhere", line, name, True
                        )
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) > len(header):
                # Usually an unquoted separator inside a name: every later cell is shifted, so guessing
                # would apply the wrong switches. The whole row is left out.
                problem(
                    "too_many_fields",
                    f"{len(cells)} fields for {len(header)} columns (a '{delimiter}' inside a name must be "
                    "quoted); row ignored",
                    line,
                )
                continue
            if len(cells) < len(header):
                problem(
                    "too_few_fields",
                    f"{len(cells)} fields for {len(header)} columns; missing = default",
                    line,
                )
            values = dict(zip(header, [*cells, *[""] * (len(header) - len(cells))], strict=False))
            config = _row(values, line, problem)
            if config is None:
                continue
            if config.siren in configs:
                problem(
                    "duplicate_siren",
                    f"SIREN {config.siren} already set on line {first_line[config.siren]}; row ignored",
                    line,
                    "siren",
                )
                continue
            configs[config.siren] = config
            first_line[config.siren] = line
    except csv.Error as exc:
        problem("csv_syntax", f"CSV syntax error: {exc}; rows from here on are ignored", reader.line_num)
    if header is None:
        problem("empty", "the file has no header line", warn=True)
    return configs


def _row(values: dict[str, str], line: int, problem: Callable[..., None]) -> CollectiviteConfig | None:
    raw_siren = values.get("siren", "").strip()
    if not raw_siren:
        problem("missing_siren", "row without SIREN ignored", line, "siren")
        return None
    siren = normalize_siren(raw_siren)
    if siren is None:
        message = f"invalid SIREN {raw_siren!r} (9 digits with a valid check digit); row ignored"
        problem("invalid_siren", message, line, "siren")
        return None

    siret: str | None = None
    raw_siret = values.get("siret", "").strip()
    if raw_siret:
        siret = normalize_siret(raw_siret, siren)
        if siret is None:
            problem(
                "invalid_siret",
                f"invalid SIRET {raw_siret!r} for SIREN {siren} (14 digits, valid check digit, starting "
                "with the SIREN); cell ignored",
                line,
                "siret",
            )

    nom: str | None = " ".join(values.get("nom", "").split()) or None
    if nom is not None and len(nom) > MAX_NOM_LENGTH:
        problem("invalid_nom", f"name longer than {MAX_NOM_LENGTH} characters; cell ignored", line, "nom")
        nom = None

    flags: dict[str, bool | None] = {}
    for column in BOOLEAN_COLUMNS:
        raw = values.get(column, "").strip()
        if not raw:
            flags[column] = None
            continue
        try:
            flags[column] = parse_boolean(raw)
        except ValueError:
            problem(
                "invalid_boolean", f"{column}={raw!r}: expected 'oui' or 'non'; default used", line, column
            )
            flags[column] = None
    return CollectiviteConfig(siren=siren, siret=siret, nom=nom, **flags)


def render_collectivites_csv(configs: Iterable[CollectiviteConfig]) -> bytes:
    """The canonical file for these rows (sorted by SIREN) — for templates, tests and round trips."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(KNOWN_COLUMNS)

    def flag(value: bool | None) -> str:
        return "" if value is None else ("oui" if value else "non")

    for config in sorted(configs, key=lambda c: c.siren):
        writer.writerow(
            [
                config.siren,
                config.siret or "",
                config.nom or "",
                flag(config.open_data),
                flag(config.documents),
                flag(config.annexes),
            ]
        )
    return out.getvalue().encode("utf-8")
