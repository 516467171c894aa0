"""ARActe XML (acknowledgement of the préfecture, pastell-api.md §15): the IDActe and reception date.

Outside XML is parsed with the stdlib under a size cap and with DTDs refused outright, so entity
expansion (billion laughs) or external entities can never run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date

from pydantic import BaseModel

from regate.actes.dates import DateInvalide, parse_optional_date

ACTES_NS = "http://www.interieur.gouv.fr/ACTES#v1.1-20040216"
MAX_ARACTE_BYTES = 1_000_000
_ID_ACTE = re.compile(r"^[0-9A-Za-z]{3}-\d{9}-\d{8}-[^-]+-[A-Z]{2}$")


class ARActeInvalide(ValueError):
    """The ARActe cannot be read (machine code ``aracte_invalide``)."""


class ARActe(BaseModel):
    """What the acknowledgement tells us about an act."""

    id_acte: str | None
    date_reception: date | None
    date_acte: date | None = None
    numero_interne: str | None = None
    code_nature: str | None = None


def parse_aracte(data: bytes) -> ARActe:
    """Parse an ARActe document; raise :class:`ARActeInvalide` on anything suspicious or malformed."""
    if len(data) > MAX_ARACTE_BYTES:
        raise ARActeInvalide(f"ARActe trop volumineux ({len(data)} octets)")
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise ARActeInvalide("ARActe avec DTD ou entités : refusé")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ARActeInvalide(f"ARActe XML mal formé : {exc}") from exc
    if root.tag != f"{{{ACTES_NS}}}ARActe":
        raise ARActeInvalide(f"Élément racine inattendu : {root.tag}")
    id_acte = (root.get(f"{{{ACTES_NS}}}IDActe") or "").strip() or None
    if id_acte is not None and not _ID_ACTE.match(id_acte):
        raise ARActeInvalide(f"IDActe mal formé : {id_acte!r}")
    recu = root.find(f"{{{ACTES_NS}}}ActeRecu")
    try:
        date_reception = parse_optional_date(root.get(f"{{{ACTES_NS}}}DateReception"))
        date_acte = parse_optional_date(recu.get(f"{{{ACTES_NS}}}Date")) if recu is not None else None
    except DateInvalide as exc:
        raise ARActeInvalide(str(exc)) from exc
    return ARActe(
        id_acte=id_acte,
        date_reception=date_reception,
        date_acte=date_acte,
        numero_interne=recu.get(f"{{{ACTES_NS}}}NumeroInterne") if recu is not None else None,
        code_nature=recu.get(f"{{{ACTES_NS}}}CodeNatureActe") if recu is not None else None,
    )


def pref_id_from_id_acte(id_acte: str | None) -> str | None:
    """``PREF`` + the département of the IDActe (scdl.md §1.6); ``None`` when it cannot be derived."""
    if not id_acte:
        return None
    dept = id_acte.split("-", 1)[0]
    if len(dept) == 3 and dept.isalnum():
        return f"PREF{dept.upper()}"
    return None
