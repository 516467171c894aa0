"""Parser of the operator file ``config/collectivites.csv`` (curated bucket).

Operators edit it by hand (often in a spreadsheet). It carries takedowns (``open_data = non``), so it is
read strictly (:mod:`regate.operator_files`): forgiving on spelling where the intent is clear (BOM,
Windows-1252, ``;`` separator, header and value case, ``Non.``, ``false``, spaces in numbers) and refusing
the **whole file** on anything that could lose or shift a switch (bad booleans, bad or duplicate SIRENs, NUL
bytes, unbalanced quotes, wrong cell counts). A refused file is never half-applied: the directory keeps the
last good S3 version. It never raises.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

from regate.collectivites.models import CollectiviteConfig, ConfigProblem
from regate.operator_files import has_errors, parse_yes_no, read_operator_csv

REQUIRED_COLUMNS: tuple[str, ...] = ("siren",)
KNOWN_COLUMNS: tuple[str, ...] = ("siren", "siret", "nom", "open_data", "documents", "annexes")
BOOLEAN_COLUMNS: tuple[str, ...] = ("open_data", "documents", "annexes")
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


def parse_boolean(value: str) -> bool:
    """oui/non, o/n, yes/no, true/false (any case, trailing dot) → bool; ``ValueError`` for anything else."""
    return parse_yes_no(value)


def parse_collectivites_csv(
    data: bytes | None,
) -> tuple[dict[str, CollectiviteConfig], list[ConfigProblem]]:
    """``config/collectivites.csv`` bytes → (SIREN → config, problems). Never raises.

    ``None`` (no file) → no configuration, no problem. When a problem has severity ``error`` the file is
    refused whole and the mapping is empty: callers must not apply part of it (see
    :meth:`regate.collectivites.CollectiviteDirectory.from_store`, which then keeps the last good version).
    """
    if data is None:
        return {}, []
    problems: list[ConfigProblem] = []
    try:
        configs = _parse(data, problems)
    except Exception as exc:  # a bug must not publish: refuse the file
        problems.append(
            ConfigProblem(line=None, code="unexpected_error", message=f"{type(exc).__name__}: {exc}")
        )
    problems.sort(key=lambda p: p.line or 0)
    if has_errors(problems):
        return {}, problems
    return configs, problems


def _parse(data: bytes, problems: list[ConfigProblem]) -> dict[str, CollectiviteConfig]:
    table = read_operator_csv(data, KNOWN_COLUMNS)
    problems.extend(table.problems)
    if table.header is None:
        return {}
    header = table.header
    if "siren" not in header:
        problems.append(
            ConfigProblem(
                line=1, column="siren", code="missing_column", message="required column 'siren' is missing"
            )
        )
        return {}
    for name in KNOWN_COLUMNS:
        if name not in header:
            problems.append(
                ConfigProblem(
                    line=1,
                    column=name,
                    code="missing_column",
                    message=f"column {name!r} absent: default everywhere",
                    severity="warning",
                )
            )
    configs: dict[str, CollectiviteConfig] = {}
    first_line: dict[str, int] = {}
    for row in table.rows:
        config = _row(row.cells, row.line, problems)
        if config is None:
            continue
        if config.siren in configs:
            problems.append(
                ConfigProblem(
                    line=row.line,
                    column="siren",
                    code="duplicate_siren",
                    message=f"SIREN {config.siren} already set on line {first_line[config.siren]}",
                )
            )
            continue
        configs[config.siren] = config
        first_line[config.siren] = row.line
    return configs


def _row(values: dict[str, str], line: int, problems: list[ConfigProblem]) -> CollectiviteConfig | None:
    def problem(code: str, message: str, column: str | None, warn: bool = False) -> None:
        problems.append(
            ConfigProblem(
                line=line, column=column, code=code, message=message, severity="warning" if warn else "error"
            )
        )

    raw_siren = values.get("siren", "").strip()
    if not raw_siren:
        problem("missing_siren", "row without SIREN (its switches would apply to nobody)", "siren")
        return None
    siren = normalize_siren(raw_siren)
    if siren is None:
        problem("invalid_siren", f"invalid SIREN {raw_siren!r} (9 digits with a valid check digit)", "siren")
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
                "siret",
                warn=True,
            )

    nom: str | None = " ".join(values.get("nom", "").split()) or None
    if nom is not None and len(nom) > MAX_NOM_LENGTH:
        problem(
            "invalid_nom", f"name longer than {MAX_NOM_LENGTH} characters; cell ignored", "nom", warn=True
        )
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
                "invalid_boolean",
                f"{column}={raw!r}: expected oui/non (o/n, yes/no, true/false)",
                column,
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
