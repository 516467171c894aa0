"""Reading a DECP 2.0.x JSON document as received from a profil d'acheteur (outside data: never trusted).

Document-level defects seen in real exports are repaired and logged (``next-flows.md`` §B.4–B.5): a UTF-8
BOM, ``NaN``/``Infinity`` (not JSON; read as ``null``), stray backslashes (invalid escapes, doubled). Anything
else that is not a ``{"marches": {"marche": [...], "contrat-concession": [...]}}`` document raises
:class:`DecpDocumentError` with a machine-readable code; an element of a list that is not an object is kept
as a record so that it is quarantined (with a reason) instead of silently dropped.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from regate.flux.marches.model import KINDS, Kind, Repair

#: ``\`` not starting a valid JSON escape (the AWS platform's defect).
_BAD_ESCAPE = re.compile(r'\\(?!["\\/bfnrtu])')


class DecpDocumentError(ValueError):
    """A document that cannot be read at all; ``code`` is stable for reports."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ParsedDocument:
    """The records of one document, by kind, in document order, with the document-level repairs."""

    records: dict[Kind, list[Any]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    repairs: list[Repair] = field(default_factory=list)
    duplicate_keys: int = 0

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.records.values())


def parse_decp_document(data: bytes, *, max_bytes: int, max_records: int) -> ParsedDocument:
    """``data`` (bytes as received) → records; :class:`DecpDocumentError` when it is not a DECP document."""
    if not isinstance(data, (bytes, bytearray)):
        raise DecpDocumentError("type_invalide", "Le document n'est pas une suite d'octets")
    if len(data) > max_bytes:
        raise DecpDocumentError("document_trop_gros", f"Document de {len(data)} octets (limite {max_bytes})")
    parsed = ParsedDocument()
    text = _text(bytes(data), parsed)
    root = _loads(text, parsed)
    body = _marches(root)
    for kind in KINDS:
        items = body.get(kind)
        if items is None:
            continue
        if isinstance(items, dict):  # a single record where a list is expected (XML → JSON conversions)
            items = [items]
            parsed.repairs.append(
                Repair(
                    code="liste_attendue", path=f"marches.{kind}", message="Objet unique placé dans une liste"
                )
            )
        if not isinstance(items, list):
            raise DecpDocumentError(
                "liste_invalide", f"marches.{kind} est un {type(items).__name__}, une liste est attendue"
            )
        parsed.records[kind].extend(items)
    if parsed.count > max_records:
        raise DecpDocumentError(
            "trop_d_enregistrements", f"{parsed.count} enregistrements (limite {max_records})"
        )
    _note_ignored(body, parsed)
    return parsed


def _text(data: bytes, parsed: ParsedDocument) -> str:
    """The document as UTF-8 text (a BOM removed, as a repair); empty, HTML or XML answers refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        parsed.repairs.append(
            Repair(code="bom_supprime", message="Marque d'ordre des octets (BOM) UTF-8 retirée")
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecpDocumentError(
            "encodage_invalide", f"Le document n'est pas en UTF-8 ({exc.reason} à l'octet {exc.start})"
        ) from None
    stripped = text.lstrip()
    if not stripped:
        raise DecpDocumentError("document_vide", "Réponse vide")
    if stripped.startswith("<"):
        head = stripped[:200].lower()
        code = "html_au_lieu_de_json" if ("<html" in head or "<!doctype" in head) else "xml_au_lieu_de_json"
        raise DecpDocumentError(code, "Le document n'est pas du JSON (page HTML ou XML reçue)")
    return text


def _marches(root: Any) -> dict[str, Any]:
    """The ``marches`` object of a DECP 2022 document (a 2019 list, or no object, refused)."""
    if not isinstance(root, dict):
        raise DecpDocumentError(
            "racine_invalide", f"La racine est un {type(root).__name__}, un objet est attendu"
        )
    body = root.get("marches")
    if isinstance(body, list):
        raise DecpDocumentError(
            "format_2019", "Format DECP 2019 (marches = liste) : seul le format 2022 est lu"
        )
    if not isinstance(body, dict):
        raise DecpDocumentError("marches_absent", "L'objet racine n'a pas de clé « marches » (objet)")
    return body


def _note_ignored(body: dict[str, Any], parsed: ParsedDocument) -> None:
    """Repairs saying what was ignored: unknown keys under ``marches``, duplicate keys (the last one read)."""
    unknown = sorted(set(body) - set(KINDS))
    if unknown:
        parsed.repairs.append(
            Repair(
                code="cle_inconnue_ignoree",
                path="marches",
                message=f"Clés ignorées : {', '.join(unknown)[:200]}",
            )
        )
    if parsed.duplicate_keys:
        parsed.repairs.append(
            Repair(
                code="cle_dupliquee",
                message=f"{parsed.duplicate_keys} clé(s) en double : la dernière valeur est lue",
            )
        )


def _loads(text: str, parsed: ParsedDocument) -> Any:
    constants: list[str] = []

    def constant(name: str) -> None:
        constants.append(name)
        return None

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) != len(items):
            parsed.duplicate_keys += len(items) - len(result)
        return result

    def attempt(source: str) -> Any:
        parsed.duplicate_keys = 0
        constants.clear()
        return json.loads(source, parse_constant=constant, object_pairs_hook=pairs)

    try:
        value = attempt(text)
    except json.JSONDecodeError as exc:
        if "Invalid \\escape" not in exc.msg:
            raise DecpDocumentError(
                "json_invalide", f"JSON illisible : {exc.msg} (ligne {exc.lineno}, colonne {exc.colno})"
            ) from None
        fixed, count = _BAD_ESCAPE.subn(r"\\\\", text)
        try:
            value = attempt(fixed)
        except json.JSONDecodeError as exc2:
            raise DecpDocumentError(
                "json_invalide", f"JSON illisible : {exc2.msg} (ligne {exc2.lineno}, colonne {exc2.colno})"
            ) from None
        except RecursionError:
            raise DecpDocumentError("json_trop_profond", "JSON imbriqué trop profondément") from None
        parsed.repairs.append(
            Repair(
                code="antislash_echappe",
                message=f"{count} antislash(s) isolé(s) doublé(s) (échappement JSON invalide)",
            )
        )
    except RecursionError:
        raise DecpDocumentError("json_trop_profond", "JSON imbriqué trop profondément") from None
    if constants:
        parsed.repairs.append(
            Repair(
                code="nan_remplace",
                message=f"{len(constants)} valeur(s) {', '.join(sorted(set(constants)))} lue(s) comme null",
            )
        )
    return value
