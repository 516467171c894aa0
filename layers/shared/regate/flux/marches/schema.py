"""The DECP JSON Schema the official consolidation validates with (2.0.4, draft-07), and what we derive from
it.

MINEF's ``decp-arr2022`` wraps each record alone into ``{"marches": {"marche": [m], "contrat-concession":
[]}}``
and checks it with ``Draft7Validator`` (the draft the file declares); we do exactly the same, so a record we
accept is one the consolidation accepts. The schema file ships in ``schemas/`` (origin in ``SOURCES.md``).

Derived once from the schema, so they cannot drift from it: the names of date properties (their pattern is
unanchored, :mod:`rules` re-checks them properly) and the canonical key order of written files.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError

from regate.flux.marches.model import Finding, Kind, format_path

SCHEMA_VERSION = "2.0.4"
SCHEMA_FILE = "schema_decp_v2.0.4.json"
#: What published resources declare (schema.data.gouv.fr lists 2.0.2 as the latest published version).
PUBLISHED_SCHEMA = {"name": "139bercy/format-commande-publique", "version": "2.0.2"}
DATE_PATTERN = "\\d{4}-\\d{2}-\\d{2}"
_DEFINITION = {"marche": "marche", "contrat-concession": "contrat-concession"}


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    text = (
        resources.files("regate.flux.marches")
        .joinpath("schemas")
        .joinpath(SCHEMA_FILE)
        .read_text(encoding="utf-8")
    )
    schema = json.loads(text)
    Draft7Validator.check_schema(schema)
    return schema


@lru_cache(maxsize=1)
def reference_validator() -> Draft7Validator:
    """``Draft7Validator`` on the schema file as shipped (what the consolidation runs)."""
    return Draft7Validator(load_schema())


@lru_cache(maxsize=1)
def validator() -> Draft7Validator:
    """``Draft7Validator`` on the same schema with its local ``$ref`` inlined: identical verdicts (a test
    checks it against :func:`reference_validator`), about a third less time per record, no reference
    lookups."""
    return Draft7Validator(dereferenced())


@lru_cache(maxsize=1)
def dereferenced() -> dict[str, Any]:
    """The schema with every local ``$ref`` replaced by its target. Draft 7 ignores keywords beside ``$ref``,
    so the node is replaced whole, as the draft says. The 2.0.4 schema has no recursive reference."""
    root = load_schema()

    def inline(node: Any, depth: int) -> Any:
        if depth > 64:
            raise ValueError("schema too deep or recursive $ref")
        if isinstance(node, dict):
            if "$ref" in node:
                target: Any = root
                for part in str(node["$ref"]).removeprefix("#/").split("/"):
                    target = target[part]
                return inline(target, depth + 1)
            return {k: inline(v, depth + 1) for k, v in node.items() if k != "definitions"}
        if isinstance(node, list):
            return [inline(v, depth + 1) for v in node]
        return node

    return inline(root, 0)


def wrap(kind: Kind, record: Any) -> dict[str, Any]:
    """The one-record document the consolidation validates."""
    other = "contrat-concession" if kind == "marche" else "marche"
    return {"marches": {kind: [record], other: []}}


def schema_findings(kind: Kind, record: Any) -> list[Finding]:
    """Every schema error of one record, as findings (paths relative to the record), sorted for stable
    output."""
    errors = list(validator().iter_errors(wrap(kind, record)))
    findings = [_finding(error) for error in errors]
    findings.sort(key=lambda f: (f.path, f.code, f.message))
    return findings


def document_findings(document: Any) -> list[Finding]:
    """Schema errors of a whole document, with the schema file as shipped (the last guard on what we
    write)."""
    return [_finding(error, strip=0) for error in reference_validator().iter_errors(document)]


def _finding(error: ValidationError, strip: int = 3) -> Finding:
    parts = list(error.absolute_path)[strip:]
    keyword = str(error.validator)
    return Finding(
        code=f"schema_{keyword}",
        severity="error",
        origin="schema",
        path=format_path(parts),
        message=_message_fr(error, parts),
        detail=_short(error.instance) if keyword not in {"required", "additionalProperties"} else None,
    )


def _message_fr(error: ValidationError, parts: list[Any]) -> str:
    where = format_path(parts) or "l'enregistrement"
    keyword = error.validator
    value = error.validator_value
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"Champ obligatoire manquant dans {where} : {missing}"
    if keyword == "additionalProperties":
        return f"Champ non prévu par le format DECP dans {where} ({error.message})"
    if keyword == "enum":
        return f"{where} : valeur {_short(error.instance)!r} hors de la liste autorisée"
    if keyword == "pattern":
        return f"{where} : {_short(error.instance)!r} ne respecte pas le format attendu ({value})"
    if keyword == "type":
        return f"{where} : type {type(error.instance).__name__} au lieu de {value}"
    if keyword == "minItems":
        return f"{where} : liste vide ou trop courte (au moins {value} élément(s))"
    if keyword in {"minimum", "maximum"}:
        sense = "inférieure au minimum" if keyword == "minimum" else "supérieure au maximum"
        return f"{where} : valeur {_short(error.instance)!r} {sense} ({value})"
    if keyword in {"minLength", "maxLength"}:
        return f"{where} : longueur hors limites ({keyword} {value})"
    if keyword == "uniqueItems":
        return f"{where} : éléments en double"
    return f"{where} : {error.message}"


def _short(value: Any, limit: int = 200) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "…"
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= limit else text[:limit] + "…"
    return value


# --------------------------------------------------------------------------- derived from the schema
def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Follow local ``$ref`` and single-branch ``allOf`` wrappers (2.0.4 wraps ``$ref`` in ``allOf``)."""
    seen = 0
    while True:
        seen += 1
        if seen > 50:
            raise ValueError("schema $ref cycle")
        if "$ref" in node:
            target: Any = root
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        elif "allOf" in node and len(node["allOf"]) == 1 and "properties" not in node:
            node = node["allOf"][0]
        else:
            return node


KeyOrder = dict[str, "KeyOrder | None"]


def _order(node: dict[str, Any], root: dict[str, Any], depth: int = 0) -> KeyOrder | None:
    node = _resolve(node, root)
    if depth > 12:
        return None
    if node.get("type") == "array" or "items" in node:
        items = node.get("items")
        return {"[]": _order(items, root, depth + 1)} if isinstance(items, dict) else None
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return None
    return {name: _order(sub, root, depth + 1) for name, sub in properties.items()}


@lru_cache(maxsize=2)
def key_order(kind: Kind) -> KeyOrder:
    """Nested property order of a record kind, as the schema lists it (for human-friendly, stable files)."""
    root = load_schema()
    order = _order(root["definitions"][_DEFINITION[kind]], root)
    assert isinstance(order, dict)
    return order


@lru_cache(maxsize=1)
def date_property_names() -> frozenset[str]:
    """Names of every property whose schema is the (unanchored) date pattern."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if isinstance(sub, dict) and sub.get("pattern") == DATE_PATTERN:
                    names.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_schema())
    return frozenset(names)
