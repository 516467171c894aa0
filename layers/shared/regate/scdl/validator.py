"""Fast Table Schema + Validata custom-checks validator for SCDL CSV files.

Why our own: the official ``validata-table`` is GPL (test-only for us), pulls frictionless/pandas-sized
dependencies and validates ~0.3 s per small file; normalisation validates every CSV it writes, so we need
something streaming and an order of magnitude faster whose verdicts are *the same*. Behaviour mirrors
validata-table 0.12.5 (frictionless 5 casting, frformat SIRET/nomenclature checks, validata_core checks)
— the oracle test in ``tests/integration/scdl`` compares both on the corpus in ``tests/fixtures/scdl``.

Two modes:

* ``strict=True`` (pipeline default): SCDL conformity. Everything Validata reports as an error, plus, as
  errors: missing optional columns, extra columns, columns out of order (SCDL requires exactly the schema's
  columns in order), non-UTF-8 bytes, dates not written ``YYYY-MM-DD`` with two-digit month/day
  (frictionless' ``strptime`` accepts ``2024-3-5``) and integers with signs/spaces/underscores
  (Python ``int()`` accepts `` 43``, ``+43``, ``4_3``).
* ``strict=False`` (Validata mode): reproduces Validata's verdicts; the structure issues above are warnings,
  and the file is read exactly as validata-table reads it (encoding detection, BOM, sniffed delimiter,
  header-row detection, blank rows, 1 000-error cap, 100 000-row limit): ``regate.scdl.validation.reading``.

The differences between the modes are listed in ``docs/validator.md``.

Header case: a label differing only by case (``coll_nom``) does not match, exactly like validata-table 0.12.5
with default options (missing column + extra column); our message points at the case difference.
"""

from __future__ import annotations

import decimal
import operator
import re
from collections.abc import Callable, Sequence
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, Field
from stdnum.fr import siret as stdnum_siret

from regate.scdl.schema import CustomCheck, SchemaField, TableSchema, load_schema
from regate.scdl.validation.reading import UnreadableFile, read_strict, read_validata

__all__ = [
    "ScdlValidationError",
    "TableSchema",
    "ValidationIssue",
    "ValidationReport",
    "load_schema",
    "validate_csv",
    "validate_deliberations_csv",
]

_INVALID = object()  # cast failure sentinel (None means "missing value")
_DEFAULT_MAX_ISSUES = 10_000
VALIDATA_LIMIT_ERRORS = 1000  # frictionless DEFAULT_LIMIT_ERRORS, as validata-table leaves it
VALIDATA_MAX_ROWS = 100_000  # validata_core.domain.validation_features.VALIDATA_MAX_ROWS (table-dimensions)
_MEMO_LIMIT = 50_000  # distinct values remembered per column (bounded memory on huge files)


class ValidationIssue(BaseModel):
    """One finding. ``row``: 1 = header, 2 = first data row (Validata numbering, counts CSV records)."""

    row: int | None = None
    column: str | None = None
    code: str
    message: str

    def render(self) -> str:
        """French one-liner: ``ligne 3, colonne DELIB_DATE : …``."""
        where = []
        if self.row is not None:
            where.append(f"ligne {self.row}")
        if self.column:
            where.append(f"colonne {self.column}")
        prefix = ", ".join(where)
        return f"{prefix} : {self.message}" if prefix else self.message


class ValidationReport(BaseModel):
    """Result of a validation; ``valid`` is ``not errors``."""

    valid: bool
    errors: list[ValidationIssue] = Field(default_factory=list)
    warnings: list[ValidationIssue] = Field(default_factory=list)
    rows: int = 0
    schema_name: str | None = None
    strict: bool = True
    truncated: bool = False
    encoding: str | None = None
    delimiter: str | None = None
    header_row: int = 1

    def summary(self) -> str:
        """French summary line for humans and logs."""
        verdict = "valide" if self.valid else "invalide"
        extra = " (liste tronquée)" if self.truncated else ""
        return (
            f"Fichier {verdict} : {self.rows} ligne(s) de données, {len(self.errors)} erreur(s){extra}, "
            f"{len(self.warnings)} avertissement(s)."
        )


class ScdlValidationError(ValueError):
    """Raised when a CSV we are about to write does not validate; carries the full report."""

    def __init__(self, report: ValidationReport, message: str | None = None) -> None:
        self.report = report
        first = "; ".join(issue.render() for issue in report.errors[:3])
        super().__init__(message or f"CSV SCDL invalide ({len(report.errors)} erreur(s)) : {first}")


# ---------------------------------------------------------------------------------------------------------
# Cell casting (mirrors frictionless 5 value readers)

_ISO_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_STRICT_INT_RE = re.compile(r"^-?[0-9]+\Z")
_MAX_INT_DIGITS = 4300  # sys.int_info.default_max_str_digits: int() raises beyond, an invalid cell for us
# rfc3986 URL_PARSING_RE scheme group, as frictionless' ``format: uri`` uses it (only a scheme is required)
_URI_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TRUE_VALUES = frozenset({"true", "True", "TRUE", "1"})
_FALSE_VALUES = frozenset({"false", "False", "FALSE", "0"})
_DATE_FORMAT = "%Y-%m-%d"


def _cast_integer(cell: str) -> Any:
    try:
        return int(cell.strip())
    except ValueError:
        return _INVALID


def _cast_integer_strict(cell: str) -> Any:
    if cell.isascii() and cell.isdigit() and len(cell) <= _MAX_INT_DIGITS:  # fast path: plain integer
        return int(cell)
    if _STRICT_INT_RE.match(cell) is None:
        return _INVALID
    try:
        return int(cell)
    except ValueError:  # beyond Python's int/str digit limit (4300): invalid, like frictionless says
        return _INVALID


def _cast_number(cell: str) -> Any:
    try:
        return decimal.Decimal(cell.strip())
    except decimal.InvalidOperation:
        return _INVALID


def _cast_year(cell: str) -> Any:
    if len(cell) != 4:
        return _INVALID
    try:
        value = int(cell)
    except ValueError:
        return _INVALID
    return value if 0 <= value <= 9999 else _INVALID


def _cast_boolean(cell: str) -> Any:
    if cell in _TRUE_VALUES:
        return True
    if cell in _FALSE_VALUES:
        return False
    return _INVALID


def _cast_date_default(cell: str) -> Any:
    if _ISO_DATE_RE.match(cell) is not None:
        try:
            return date.fromisoformat(cell)
        except ValueError:
            return _INVALID
    try:  # slow path keeps strptime's exact leniency (e.g. "2024-3-5")
        return datetime.strptime(cell, _DATE_FORMAT).date()
    except ValueError:
        return _INVALID


def _cast_date_strict(cell: str) -> Any:
    if _ISO_DATE_RE.match(cell) is None:
        return _INVALID
    try:
        return date.fromisoformat(cell)  # the regex already pinned the exact YYYY-MM-DD shape
    except ValueError:
        return _INVALID


def _date_caster(fmt: str) -> Callable[[str], Any]:
    def cast(cell: str) -> Any:
        try:
            return datetime.strptime(cell, fmt).date()
        except ValueError:
            return _INVALID

    return cast


def _cast_date_any(cell: str) -> Any:
    for fmt in (_DATE_FORMAT, "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y"):
        try:
            return datetime.strptime(cell.strip(), fmt).date()
        except ValueError:
            continue
    return _INVALID


def _cast_datetime(cell: str) -> Any:
    try:
        return datetime.fromisoformat(cell.strip())
    except ValueError:
        return _INVALID


def _cast_uri(cell: str) -> Any:
    return cell if _URI_SCHEME_RE.match(cell) else _INVALID


def _cast_email(cell: str) -> Any:
    return cell if _EMAIL_RE.match(cell) else _INVALID


_TYPE_MESSAGES = {
    "integer": "La valeur doit être un nombre entier (sans espace, décimale ni signe +)",
    "number": "La valeur doit être un nombre (point décimal)",
    "year": "La valeur doit être une année sur 4 chiffres",
    "boolean": "La valeur doit être un booléen (true/false)",
    "date": "La date doit être écrite sous la forme AAAA-MM-JJ (ex. 2017-10-15) et exister",
    "datetime": "La valeur doit être une date et heure ISO 8601",
    "uri": "La valeur doit être une adresse web absolue (URL avec schéma, ex. https://…)",
    "email": "La valeur doit être une adresse électronique",
}


def _caster_for(field: SchemaField, strict: bool) -> tuple[Callable[[str], Any] | None, str]:
    """(caster or None for plain strings, type-error message). Unknown types are read as strings."""
    ftype, fmt = field.type, field.format or "default"
    if ftype == "string":
        if fmt == "uri":
            return _cast_uri, _TYPE_MESSAGES["uri"]
        if fmt == "email":
            return _cast_email, _TYPE_MESSAGES["email"]
        return None, ""
    if ftype == "integer":
        return (_cast_integer_strict if strict else _cast_integer), _TYPE_MESSAGES["integer"]
    if ftype == "number":
        return _cast_number, _TYPE_MESSAGES["number"]
    if ftype == "year":
        return _cast_year, _TYPE_MESSAGES["year"]
    if ftype == "boolean":
        return _cast_boolean, _TYPE_MESSAGES["boolean"]
    if ftype == "date":
        if fmt == "default":
            return (_cast_date_strict if strict else _cast_date_default), _TYPE_MESSAGES["date"]
        if fmt == "any":
            return _cast_date_any, _TYPE_MESSAGES["date"]
        return _date_caster(fmt), f"La date doit respecter le format {fmt}"
    if ftype == "datetime":
        return _cast_datetime, _TYPE_MESSAGES["datetime"]
    return None, ""


# ---------------------------------------------------------------------------------------------------------
# Compiled field plan


class _FieldPlan:
    """Everything needed to check one column, computed once per file (no per-row schema lookups)."""

    __slots__ = ("cast", "checks", "index", "name", "required", "schema_pos", "type_message")

    def __init__(self, field: SchemaField, schema_pos: int, index: int, strict: bool) -> None:
        self.name = field.name
        self.schema_pos = schema_pos
        self.index = index
        self.required = field.constraints.required
        self.cast, self.type_message = _caster_for(field, strict)
        self.checks = _constraint_checks(field, self.cast)


def _constraint_checks(
    field: SchemaField, cast: Callable[[str], Any] | None
) -> list[Callable[[Any], str | None]]:
    """Constraint closures returning a French message on failure, ``None`` when satisfied."""
    checks: list[Callable[[Any], str | None]] = []
    cons = field.constraints
    is_string = field.type == "string"

    def cast_constraint(value: Any) -> Any:
        if cast is None or not isinstance(value, str):
            return value
        result = cast(value)
        return None if result is _INVALID else result

    if cons.pattern is not None and is_string:
        compiled = re.compile(f"^{cons.pattern}$")
        pattern_text = cons.pattern

        def check_pattern(value: Any) -> str | None:
            if compiled.match(value):
                return None
            return f"« {value} » ne respecte pas le motif imposé (expression régulière `{pattern_text}`)"

        checks.append(check_pattern)
    if cons.enum is not None:
        allowed = [cast_constraint(v) for v in cons.enum]
        shown = ", ".join(str(v) for v in cons.enum)

        def check_enum(value: Any) -> str | None:
            return None if value in allowed else f"« {value} » n'est pas une valeur autorisée ({shown})"

        checks.append(check_enum)
    if cons.min_length is not None:
        min_length = cons.min_length

        def check_min_length(value: Any) -> str | None:
            if len(value) >= min_length:
                return None
            return f"La longueur doit être d'au moins {min_length} caractère(s)"

        checks.append(check_min_length)
    if cons.max_length is not None:
        max_length = cons.max_length

        def check_max_length(value: Any) -> str | None:
            if len(value) <= max_length:
                return None
            return f"La longueur ne doit pas dépasser {max_length} caractère(s)"

        checks.append(check_max_length)
    if cons.minimum is not None:
        minimum = cast_constraint(cons.minimum)

        def check_minimum(value: Any) -> str | None:
            return None if value >= minimum else f"La valeur doit être supérieure ou égale à {minimum}"

        checks.append(check_minimum)
    if cons.maximum is not None:
        maximum = cast_constraint(cons.maximum)

        def check_maximum(value: Any) -> str | None:
            return None if value <= maximum else f"La valeur doit être inférieure ou égale à {maximum}"

        checks.append(check_maximum)
    return checks


# ---------------------------------------------------------------------------------------------------------
# Custom checks (validata_core 0.12.5 + frformat semantics)

RowCheck = Callable[[list[Any]], "tuple | None"]  # → (column, code, message) or (row, column, code, message)

_NOMENCLATURE_PREFIXES = (
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
)
# frformat's accent folding: only these letters (ç, œ… are kept), applied after lower-casing.
_ACCENT_TABLE = str.maketrans(
    "èéêëàáâãäåìíîïòóôõöùúûüÈÉÊËÀÁÂÃÄÅÌÍÎÏÒÓÔÕÖÙÚÛÜ",
    "eeeeaaaaaaiiiiooooouuuuEEEEAAAAAAIIIIOOOOOUUUU",
)


def _norm_prefix(text: str) -> str:
    return text.lower().translate(_ACCENT_TABLE)


_NORMALIZED_PREFIXES = frozenset(_norm_prefix(p) for p in _NOMENCLATURE_PREFIXES)


@lru_cache(maxsize=4096)
def nomenclature_actes_errors(value: str) -> str | None:
    """French message when ``value`` fails ``nomenclature-actes-value`` (scdl.md §1.3), else ``None``.

    frformat 0.4.1 quirk kept (Validata mode): the prefix is ``value[: value.find("/")]``, so without any
    slash it is the value minus its last character — ``Urbanismes`` or ``Commande publique `` pass there.
    Strict mode adds the missing-slash error back (its row check).
    """
    prefix = value[: value.find("/")]
    if "/ " not in value and _norm_prefix(prefix) in _NORMALIZED_PREFIXES:
        return None
    if "/" not in value:
        return "le signe oblique « / » est manquant"
    details = []
    if prefix.rstrip() in _NOMENCLATURE_PREFIXES or "/ " in value:
        details.append("le signe oblique ne doit pas être précédé ni suivi d'espace")
    if prefix.strip() not in _NOMENCLATURE_PREFIXES:
        details.append(f"le préfixe de nomenclature Actes {prefix.strip()!r} n'est pas reconnu")
    return ", ".join(details)


@lru_cache(maxsize=4096)
def siret_is_valid(value: str) -> bool:
    """python-stdnum ``fr.siret`` (Luhn on SIRET and SIREN, La Poste exception), as frformat uses it."""
    return bool(stdnum_siret.is_valid(value))


_YEAR_INTERVAL_RE = re.compile(r"^(\d{4})/(\d{4})$")
_YEAR_RE = re.compile(r"^\d{4}$")
_OP_LABELS = {
    ">": "supérieure",
    ">=": "supérieure ou égale",
    "==": "égale",
    "<=": "inférieure ou égale",
    "<": "inférieure",
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "<=": operator.le,
    "<": operator.lt,
}


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float | decimal.Decimal):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return value.isnumeric()
        return True
    return False


def _compare(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool | None:
    """validata's compare semantics: numbers numerically, same types directly, else not comparable."""
    kind = type(a)
    if kind is type(b) and kind is not str and kind is not float:  # int/int, date/date: the common case
        return op(a, b)
    try:
        if _is_number(a) and _is_number(b):
            return op(decimal.Decimal(str(a)), decimal.Decimal(str(b)))
        if type(a) is type(b):
            return op(a, b)
    except (decimal.InvalidOperation, TypeError):
        return None
    return None


def _once(issue: tuple) -> RowCheck:
    """A row check that reports ``issue`` (with its own row) the first time only, then stops."""
    fired = False

    def check(_values: list[Any]) -> Any:
        nonlocal fired
        if fired:
            return None
        fired = True
        return issue

    return check


def _build_custom_check(
    check: CustomCheck, pos: dict[str, int], strict: bool = False
) -> tuple[RowCheck | None, list[str]]:
    """Compile one custom check into a row closure; returns (closure, columns involved)."""
    params = check.params
    name = check.name
    column = params.get("column")
    if not isinstance(column, str):
        raise ValueError(f"custom check {name!r} sans paramètre « column »")

    absent = len(pos)  # values has one extra slot, always None, standing for absent columns

    def idx(col: str) -> int:
        return pos.get(col, absent)

    i = idx(column)

    if name in ("french-siret-value", "siret"):

        def siret_check(values: list[Any]) -> tuple[str, str, str] | None:
            value = values[i]
            if value is None or siret_is_valid(value):
                return None
            return column, "french-siret-value", "La valeur n'est pas conforme au format Siret."

        return siret_check, [column]

    if name in ("nomenclature-actes-value", "nomenclature-acte"):

        def nomenclature_check(values: list[Any]) -> tuple[str, str, str] | None:
            value = values[i]
            if value is None:
                return None
            message = nomenclature_actes_errors(value)
            if message is None and strict and "/" not in value:  # frformat's no-slash quirk: not in SCDL
                message = "le signe oblique « / » est manquant"
            return None if message is None else (column, "nomenclature-actes-value", message)

        return nomenclature_check, [column]

    if name == "year-interval-value":
        allow_year_only = str(params.get("allow-year-only", "false")) in ("true", "yes")

        def year_interval_check(values: list[Any]) -> tuple[str, str, str] | None:
            value = values[i]
            if value is None:
                return None
            match = _YEAR_INTERVAL_RE.match(value)
            if match is None:
                if allow_year_only and _YEAR_RE.match(value):
                    return None
                expected = "année (AAAA) ou intervalle (AAAA/AAAA)" if allow_year_only else "AAAA/AAAA"
                return column, "year-interval-value", f"Format attendu : {expected}"
            first, second = int(match.group(1)), int(match.group(2))
            if first == second:
                return column, "year-interval-value", "Les deux années doivent être différentes"
            if first > second:
                return (
                    column,
                    "year-interval-value",
                    f"la deuxième année ({second}) doit être postérieure à la première ({first})",
                )
            return None

        return year_interval_check, [column]

    if name == "cohesive-columns-value":
        others = list(params.get("othercolumns", []))
        js = [idx(c) for c in others]
        labels = ", ".join([column, *others])
        message = (
            f"Les colonnes présentes parmi {labels} doivent toutes comporter une valeur ou toutes être vides"
        )

        def cohesive_check(values: list[Any]) -> tuple[str, str, str] | None:
            first_empty = values[i] is None
            for j in js:
                if (values[j] is None) != first_empty:
                    return column, "cohesive-columns-value", message
            return None

        return cohesive_check, [column, *others]

    if name == "compare-columns-value":
        column2 = params.get("column2")
        op = params.get("op")
        if not isinstance(column2, str) or op not in _OP_LABELS:
            raise ValueError(f"custom check compare-columns-value mal paramétré : {params!r}")
        j = idx(column2)
        op_label = _OP_LABELS[op]
        op_fn = _OPS[op]

        def compare_check(values: list[Any]) -> tuple[str, str, str] | None:
            a, b = values[i], values[j]
            if a is None or b is None:
                return None
            kind = type(a)
            if (kind is int or kind is date) and type(b) is kind:  # the usual case, inlined
                result: bool | None = op_fn(a, b)
            else:
                result = _compare(a, b, op_fn)
            if result is None:
                return (
                    column,
                    "compare-columns-value",
                    f"La valeur de la colonne {column} `{a}` n'est pas comparable avec la valeur de la "
                    f"colonne {column2} `{b}`.",
                )
            if result:
                return None
            return (
                column,
                "compare-columns-value",
                f"La valeur de la colonne {column} `{a}` devrait être {op_label} à la valeur de la colonne "
                f"{column2} `{b}`.",
            )

        return compare_check, [column, column2]

    if name == "sum-columns-value":
        columns = list(params.get("columns", []))
        js = [idx(c) for c in columns]
        shown = ", ".join(columns)

        def sum_check(values: list[Any]) -> tuple[str, str, str] | None:
            expected = values[i]
            parts = [values[j] for j in js]
            if expected is None or any(p is None for p in parts):
                return None
            try:
                total = sum(parts)
            except TypeError:
                return column, "sum-columns-value", f"Les colonnes {shown} ne sont pas numériques"
            if total == expected:
                return None
            return (
                column,
                "sum-columns-value",
                f"La somme des valeurs des colonnes {shown} ({total}) est différente de celle trouvée "
                f"dans la colonne {column} ({expected})",
            )

        return sum_check, [column, *columns]

    return None, [column]


# ---------------------------------------------------------------------------------------------------------
# Validation


def validate_csv(
    data: bytes,
    schema: TableSchema,
    *,
    strict: bool = True,
    max_issues: int = _DEFAULT_MAX_ISSUES,
) -> ValidationReport:
    """Validate CSV bytes against a Table Schema and its custom checks; never raises on bad input."""
    errors: list[tuple] = []
    warnings: list[tuple] = []
    schema_name = schema.name

    def report(rows: int = 0, truncated: bool = False) -> ValidationReport:
        return ValidationReport(
            valid=not errors,
            errors=[ValidationIssue(row=r, column=c, code=k, message=m) for r, c, k, m in errors],
            warnings=[ValidationIssue(row=r, column=c, code=k, message=m) for r, c, k, m in warnings],
            rows=rows,
            schema_name=schema_name,
            strict=strict,
            truncated=truncated,
        )

    try:
        table = read_strict(data) if strict else read_validata(data)
    except UnreadableFile as exc:
        errors.append((None, None, exc.code, exc.message))
        return report()
    warnings.extend(table.warnings)
    errors.extend(table.errors)
    encoding, delimiter = table.encoding, table.delimiter
    header = table.header
    if not strict and encoding not in ("utf-8", "ascii"):
        warnings.append(
            (
                None,
                None,
                "encoding",
                f"Le fichier n'est pas en UTF-8 : lu en {encoding} (encodage détecté comme sur validata.fr). "
                "Le SCDL demande UTF-8.",
            )
        )
    if not strict and table.header_row > 1:
        warnings.append(
            (
                table.header_row,
                None,
                "header-row",
                f"En-tête trouvé ligne {table.header_row} : les {table.header_row - 1} ligne(s) au-dessus "
                "(titre, lignes vides) sont ignorées, comme sur validata.fr.",
            )
        )

    fields = schema.fields
    names = schema.field_names
    if not strict and not header and not table.fragment_rows:
        errors.append(
            (None, None, "source-error", "Le fichier ne contient ni en-tête ni données (lignes vides).")
        )
        return report()
    if not strict and not header:
        # frictionless: an empty header row (the detected header is a blank line) means "no header": no label
        # errors, every schema field is expected, in schema order.
        warnings.append(
            (
                table.header_row,
                None,
                "blank-header",
                "La ligne d'en-tête détectée est vide : les colonnes sont lues dans l'ordre du schéma.",
            )
        )
        header = list(names)
    elif not _check_header(header, schema, strict, errors, warnings):
        return report()

    header = [label.strip() for label in header]  # frictionless trims labels; strict mode flagged them
    label_pos = {label: k for k, label in enumerate(header)}
    pos = {name: s for s, name in enumerate(names)}
    plans = [
        _FieldPlan(field, s, label_pos[field.name], strict)
        for s, field in enumerate(fields)
        if field.name in label_pos
    ]
    row_checks: list[RowCheck] = []
    structure_checks: list[RowCheck] = []  # also run on blank rows
    for check in schema.custom_checks:
        closure, involved = _build_custom_check(check, pos, strict)
        if closure is None:
            warnings.append(
                (None, None, "unknown-check", f"Custom check {check.name!r} non pris en charge : ignoré.")
            )
            continue
        present = [c for c in involved if c in label_pos]
        if check.name == "cohesive-columns-value" and 0 < len(present) < len(set(involved)):
            # validata_core: the missing-fields error is raised by the check on the first data row (blank or
            # not; none without rows), located on row 1, and the check then stops.
            absent = ", ".join(f"'{c}'" for c in involved if c not in label_pos)
            closure = _once(
                (
                    1,
                    None,
                    "cohesive-columns-value",
                    f"Les colonnes {', '.join(repr(c) for c in involved)} doivent être soit toutes "
                    f"présentes, soit toutes absentes (sont absentes : {absent})",
                )
            )
            structure_checks.append(closure)
        row_checks.append(closure)

    # plain tuples: unpacking in the hot loop is cheaper than attribute access
    # A per-column memo of cells already cast and checked: SCDL files repeat SIRETs, codes, dates and
    # small integers on every row, so most cells skip casting and constraint checks entirely.
    steps = [
        (
            p.index,
            p.schema_pos,
            p.name,
            p.required,
            p.cast,
            p.checks,
            p.type_message,
            None if p.cast is None and not p.checks else dict[str, Any](),
        )
        for p in sorted(plans, key=lambda p: p.index)  # header order, as frictionless reports them
    ]
    width = len(header)
    nfields = len(names)
    # Validata mode reproduces frictionless' error cap (stop after the record that reaches it, keep the
    # first ones) and validata's row limit; strict mode keeps checking up to ``max_issues`` findings.
    cap = VALIDATA_LIMIT_ERRORS if not strict else max_issues
    row_number = table.header_row
    data_rows = 0
    truncated = False
    append = errors.append
    rows = table.rows
    try:
        for row_number, cells in rows:
            data_rows += 1
            if truncated:
                continue
            ncells = len(cells)
            if not (cells and cells[0]) and not any(cells[:width]):  # frictionless: all under labels empty
                append((row_number, None, "blank-row", "La ligne est vide : retirez-la."))
                for row_check in structure_checks:
                    issue = row_check([])
                    if issue is not None:
                        append(issue if len(issue) == 4 else (row_number, *issue))
                if len(errors) >= cap:
                    truncated = True
                continue
            values: list[Any] = [None] * (nfields + 1)  # last slot: absent columns
            for index, schema_pos, name, required, cast, checks, type_message, memo in steps:
                if index >= ncells:  # reported as missing-cell below; frictionless adds "required"
                    if required:
                        append((row_number, name, "constraint-error", "La valeur est obligatoire."))
                    continue
                raw = cells[index]
                if raw == "":
                    if required:
                        append((row_number, name, "constraint-error", "La valeur est obligatoire."))
                    continue
                if memo is None:  # plain string, nothing to check
                    values[schema_pos] = raw
                    continue
                value: Any = memo.get(raw, _INVALID)
                if value is not _INVALID:  # seen before in this column, and it was fine
                    values[schema_pos] = value
                    continue
                if cast is None:
                    value = raw
                else:
                    value = cast(raw)
                    if value is _INVALID:
                        shown = raw if len(raw) <= 80 else raw[:77] + "…"
                        append(
                            (row_number, name, "type-error", f"{type_message} (valeur reçue : « {shown} »).")
                        )
                        continue
                clean = True
                for check_fn in checks:
                    message = check_fn(value)
                    if message is not None:
                        clean = False
                        append((row_number, name, "constraint-error", message))
                values[schema_pos] = value
                if clean and len(memo) < _MEMO_LIMIT:
                    memo[raw] = value
            if ncells > width:
                for _ in range(ncells - width):
                    append(
                        (
                            row_number,
                            None,
                            "extra-cell",
                            f"La ligne a {ncells} cellules pour {width} colonnes dans l'en-tête.",
                        )
                    )
            elif ncells < width:
                for label in header[ncells:]:
                    append(
                        (
                            row_number,
                            label or None,
                            "missing-cell",
                            f"Cellule manquante : la ligne a {ncells} cellules pour {width} colonnes.",
                        )
                    )
            for row_check in row_checks:
                issue = row_check(values)
                if issue is not None:
                    append(issue if len(issue) == 4 else (row_number, *issue))
            if len(errors) >= cap:
                truncated = True
    except UnreadableFile as exc:
        append((row_number + 1, None, exc.code, exc.message))
    if len(errors) > cap:
        del errors[cap:]
        truncated = True
    if truncated and not strict:  # frictionless adds the same warning ("reached error limit: 1000")
        warnings.append(
            (
                None,
                None,
                "error-limit",
                f"Limite de {cap} erreurs atteinte : la vérification s'arrête là, comme sur validata.fr.",
            )
        )
    if not strict and not truncated and data_rows > VALIDATA_MAX_ROWS:
        append(
            (
                None,
                None,
                "table-dimensions",
                f"Le fichier a {data_rows} lignes de données : validata.fr n'en accepte que "
                f"{VALIDATA_MAX_ROWS} au plus.",
            )
        )
    result = report(rows=data_rows, truncated=truncated)
    result.encoding, result.delimiter, result.header_row = encoding, delimiter, table.header_row
    return result


def _check_header(
    header: Sequence[str],
    schema: TableSchema,
    strict: bool,
    errors: list[tuple],
    warnings: list[tuple],
) -> bool:
    """Header checks per Validata; returns False when rows cannot be matched to columns at all.

    Labels are matched after trimming surrounding spaces (as frictionless does); strict mode reports them.
    """
    structure = errors if strict else warnings
    for label in header:
        if label != label.strip():
            structure.append(
                (1, label.strip(), "label-whitespace", f"L'en-tête `{label}` contient des espaces superflus.")
            )
    header = [label.strip() for label in header]
    seen: set[str] = set()
    duplicates: list[str] = []
    for label in header:
        if label in seen:
            duplicates.append(label)
        seen.add(label)
    if duplicates:
        errors.append(
            (
                1,
                None,
                "duplicate-label",
                f"En-tête invalide : colonne(s) en double {sorted(set(duplicates))} ; les colonnes sont "
                "identifiées par leur nom, qui doit être unique.",
            )
        )
        return False
    names = schema.field_names
    labels = set(header)
    by_lower = {label.lower(): label for label in header}
    for field in schema.fields:
        if field.name in labels:
            continue
        near = by_lower.get(field.name.lower())
        hint = (
            f" (une colonne `{near}` existe : casse et espaces doivent être exacts)"
            if near is not None
            else ""
        )
        if field.constraints.required:
            errors.append(
                (1, field.name, "missing-label", f"La colonne obligatoire `{field.name}` est manquante{hint}")
            )
        else:
            structure.append(
                (
                    1,
                    field.name,
                    "missing-label",
                    f"Colonne manquante : ajoutez la colonne `{field.name}`{hint}.",
                )
            )
    known = set(names)
    for label in header:
        if label not in known:
            structure.append(
                (
                    1,
                    label,
                    "extra-label",
                    f"Colonne surnuméraire : retirez la colonne `{label}` non définie dans le schéma.",
                )
            )
    present_order = [label for label in header if label in known]
    expected_order = [name for name in names if name in labels]
    if present_order != expected_order:
        structure.append(
            (
                1,
                None,
                "disordered-labels",
                f"Colonnes désordonnées : réordonnez les colonnes pour respecter le schéma : {list(names)}",
            )
        )
    return True


@lru_cache(maxsize=8)
def _cached_schema(name: str, version: str | None) -> TableSchema:
    return load_schema(name, version)


def validate_deliberations_csv(data: bytes, *, strict: bool = True) -> ValidationReport:
    """Validate against the bundled SCDL délibérations 2.1.5 schema (strict by default: our pipeline)."""
    return validate_csv(data, _cached_schema("scdl/deliberations", "2.1.5"), strict=strict)
