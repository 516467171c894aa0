"""The act (``Acte``) as Rég@te understands it, built from a raw document whatever its source and flux.

Pull documents carry Pastell's ``detail`` (``data`` = form values); push documents carry the depot
``metadata.json`` (same keys) in ``detail["data"]``. Both give one ``Acte``. Anything that cannot be read
raises :class:`ActeInvalide` with a machine-readable ``code``: the caller quarantines the act, the batch
goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer

from regate.actes.aracte import ARActeInvalide, parse_aracte
from regate.actes.dates import DateInvalide, parse_date, parse_optional_date
from regate.capture.envelope import CapturedFile, RawDocument

NATURES: dict[int, str] = {
    1: "Délibérations",
    2: "Actes réglementaires",
    3: "Actes individuels",
    4: "Contrats, conventions et avenants",
    5: "Documents budgétaires et financiers",
    6: "Autres",
    7: "Hors préfecture",
}
#: Sub-types of nature 7 (Mégalis ``nature_autre_detail``).
NATURE_AUTRE_DETAILS: dict[str, str] = {
    "LD": "Liste des délibérations",
    "AT": "Arrêté temporaire",
    "PV": "Procès-verbal",
    "AP": "Arrêté permanent",
}
#: ``last_action`` states after which the act no longer exists for open data (pastell-api.md §17).
WITHDRAWN_ACTIONS = frozenset({"annuler-tdt", "supression"})
MAIN_FIELDS = ("acte_tamponne", "arrete")  # stamped act preferred (pastell-api.md §18.6)
ANNEX_FIELDS = ("annexes_tamponnees", "autre_document_attache")
_SIREN = re.compile(r"^\d{9}$")


class ActeInvalide(ValueError):
    """The raw document cannot become an act; ``code`` is the machine-readable quarantine reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Fichier(BaseModel):
    """A captured file of the act, with the sha256 computed at capture."""

    model_config = ConfigDict(frozen=True)

    field: str
    num: int
    name: str
    sha256: str
    size: int
    key: str


class FichierManquant(BaseModel):
    """A file the source names but could not deliver (Pastell: ``Ce fichier n'existe pas``)."""

    model_config = ConfigDict(frozen=True)

    field: str
    num: int
    name: str
    motif: str = Field(description="Machine-readable code from the capture envelope")


class Vote(BaseModel):
    """Vote counts, only when the source has all five (SCDL cohesion rule)."""

    effectif: int
    reel: int
    pour: int
    contre: int
    abstention: int


class Acte(BaseModel):
    """One act, independent of its source (pull or push) and flux."""

    id_e: str
    id_d: str
    flux: str
    source: Literal["pull", "push"]
    siren: str
    denomination: str | None = Field(default=None, description="Entity name as Pastell knows it")
    nature: int = Field(ge=1, le=7)
    nature_libelle: str
    nature_autre_detail: str | None = None
    numero: str
    date_acte: date
    date_ar: date | None = None
    classification_code: str | None = Field(default=None, description="Full code as received, e.g. 1.1.2")
    classification_niveau2: str | None = None
    classification_libelle: str | None = None
    objet: str
    fichiers: list[Fichier] = Field(default_factory=list)
    fichiers_manquants: list[FichierManquant] = Field(
        default_factory=list, description="Files Pastell could not serve (never published)"
    )
    acte_unique_id: str | None = Field(default=None, description="ARActe IDActe")
    annule: bool = False
    last_action: str | None = None
    publication_open_data: str | None = Field(default=None, description="Raw Pastell code, as received")
    budget_annee: str | None = None
    budget_nom: str | None = None
    vote: Vote | None = None
    content_sha256: str = ""

    @model_serializer(mode="wrap")
    def _omit_empty_missing(self, handler: Any) -> Any:
        """Acts with every file serialise exactly as before ``fichiers_manquants`` existed."""
        data = handler(self)
        if isinstance(data, dict) and not data.get("fichiers_manquants"):
            data.pop("fichiers_manquants", None)
        return data

    @property
    def annee(self) -> int:
        return self.date_acte.year

    def main_file_missing(self) -> bool:
        """No main file to publish because Pastell lost it (not merely an act without one)."""
        return self.main_file() is None and any(m.field in MAIN_FIELDS for m in self.fichiers_manquants)

    def main_file(self) -> Fichier | None:
        """The document published as the act: stamped PDF when present, else the original."""
        for field in MAIN_FIELDS:
            found = [f for f in self.fichiers if f.field == field]
            if found:
                return min(found, key=lambda f: f.num)
        return None

    def annex_files(self) -> list[Fichier]:
        """Annexes: stamped ones when present, else those attached."""
        for field in ANNEX_FIELDS:
            found = [f for f in self.fichiers if f.field == field]
            if found:
                return sorted(found, key=lambda f: f.num)
        return []


def withdrawal_reason(raw: RawDocument) -> str | None:
    """Why a captured document is withdrawn (cancelled or deleted in Pastell), or ``None``.

    Deleted: the last action is ``supression``, or capture found the document gone (``capture.removed``).
    """
    if raw.capture.removed is not None:
        return "supprime"
    last = raw.detail.get("last_action") if isinstance(raw.detail, dict) else None
    action = last.get("action") if isinstance(last, dict) else None
    if action in WITHDRAWN_ACTIONS:
        return "annule" if action == "annuler-tdt" else "supprime"
    data = raw.detail.get("data") if isinstance(raw.detail, dict) else None
    if isinstance(data, dict) and _text(data.get("date_ar_annulation")):
        return "annule"
    return None


def acte_from_raw(raw: RawDocument, read_file: Callable[[str], bytes] | None = None) -> Acte:
    """Build the act from a raw document; ``read_file(key)`` fetches raw bytes (the ARActe) when needed."""
    data = raw.detail.get("data")
    if not isinstance(data, dict):
        raise ActeInvalide("data_absent", "Le document n'a pas d'objet « data »")
    cap = raw.capture
    siren = _siren(raw, data)
    nature, autre = _nature(data)
    numero = _text(data.get("numero_de_lacte"))
    if not numero:
        raise ActeInvalide("numero_absent", "numero_de_lacte absent")
    objet = data.get("objet")
    if not isinstance(objet, str) or not objet.strip():
        raise ActeInvalide("objet_absent", "objet absent")
    date_acte, date_ar = _dates(data)
    classification = _classification(data.get("classification"))
    acte_unique_id = _text(data.get("acte_unique_id"))
    if acte_unique_id is None or date_ar is None:
        aracte = _read_aracte(cap.files, read_file)
        if aracte is not None:
            acte_unique_id = acte_unique_id or aracte.id_acte
            date_ar = date_ar or aracte.date_reception
    last = raw.detail.get("last_action")
    return Acte(
        id_e=cap.id_e,
        id_d=cap.id_d,
        flux=cap.flux,
        source=cap.source,
        siren=siren,
        denomination=_denomination(raw, data),
        nature=nature,
        nature_libelle=NATURES[nature],
        nature_autre_detail=autre,
        numero=numero,
        date_acte=date_acte,
        date_ar=date_ar,
        classification_code=classification[0] if classification else None,
        classification_niveau2=classification[1] if classification else None,
        classification_libelle=classification[2] if classification else None,
        objet=objet,
        fichiers=[Fichier(**f.model_dump()) for f in cap.files],
        fichiers_manquants=[
            FichierManquant(field=m.field, num=m.num, name=m.name, motif=m.reason) for m in cap.missing_files
        ],
        acte_unique_id=acte_unique_id,
        annule=withdrawal_reason(raw) is not None,
        last_action=last.get("action") if isinstance(last, dict) else None,
        publication_open_data=_text(data.get("publication_open_data")),
        budget_annee=_text(data.get("budget_annee")),
        budget_nom=_text(data.get("budget_nom")),
        vote=_vote(data),
        content_sha256=cap.content_sha256,
    )


# --------------------------------------------------------------------------------- helpers
def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _siren(raw: RawDocument, data: dict[str, Any]) -> str:
    candidates = [raw.capture.siren, (raw.entite or {}).get("siren"), data.get("siren")]
    if raw.metadata:
        candidates.append(raw.metadata.get("siren"))
    for candidate in candidates:
        text = _text(candidate)
        if text:
            if not _SIREN.match(text):
                raise ActeInvalide("siren_invalide", f"SIREN mal formé : {text!r}")
            return text
    raise ActeInvalide("siren_absent", "L'entité n'a pas de SIREN : l'acte ne peut pas être publié")


def _denomination(raw: RawDocument, data: dict[str, Any]) -> str | None:
    for candidate in ((raw.entite or {}).get("denomination"), data.get("entity_name")):
        text = _text(candidate)
        if text:
            return text
    return None


def _nature(data: dict[str, Any]) -> tuple[int, str | None]:
    text = _text(data.get("acte_nature"))
    if text is None:
        raise ActeInvalide("nature_absente", "acte_nature absent")
    if not text.isdigit() or int(text) not in NATURES:
        raise ActeInvalide("nature_invalide", f"acte_nature inconnue : {text!r}")
    nature = int(text)
    autre = _text(data.get("nature_autre_detail"))
    if autre is not None:
        autre = autre.upper()
        if nature != 7 or autre not in NATURE_AUTRE_DETAILS:
            raise ActeInvalide("nature_autre_detail_invalide", f"nature_autre_detail inattendu : {autre!r}")
    return nature, autre


def _dates(data: dict[str, Any]) -> tuple[date, date | None]:
    raw_date = data.get("date_de_lacte")
    if not _text(raw_date):
        raise ActeInvalide("date_acte_absente", "date_de_lacte absente")
    try:
        return parse_date(raw_date), parse_optional_date(data.get("date_ar"))
    except DateInvalide as exc:
        raise ActeInvalide("date_invalide", str(exc)) from exc


def _classification(raw: Any) -> tuple[str, str, str | None] | None:
    from regate.actes.nomenclature import parse_classification

    if raw is not None and not isinstance(raw, str):
        raise ActeInvalide("classification_invalide", f"classification illisible : {raw!r}")
    try:
        parsed = parse_classification(raw)
    except (ValueError, KeyError) as exc:
        raise ActeInvalide("classification_invalide", str(exc)) from exc
    if parsed is None:
        return None
    return parsed.code, parsed.niveau2, parsed.libelle


def _read_aracte(files: list[CapturedFile], read_file: Callable[[str], bytes] | None):
    found = sorted((f for f in files if f.field == "aractes"), key=lambda f: f.num)
    if not found or read_file is None:
        return None
    try:
        return parse_aracte(read_file(found[0].key))
    except ARActeInvalide as exc:
        raise ActeInvalide("aracte_invalide", str(exc)) from exc


def _vote(data: dict[str, Any]) -> Vote | None:
    names = ("vote_effectif", "vote_reel", "vote_pour", "vote_contre", "vote_abstention")
    values = [_text(data.get(n)) for n in names]
    if not all(values):
        return None
    try:
        ints = [int(v) for v in values if v is not None]
    except ValueError:
        return None
    return Vote(effectif=ints[0], reel=ints[1], pour=ints[2], contre=ints[3], abstention=ints[4])
