"""Streaming, secure reader of TOTEM budget documents (``DocumentBudgetaire``, and the CFU wrapper
``CompteFinancierUnique`` whose ``DocumentBudgetaire`` follows a ``DocumentComptable``).

* lxml ``iterparse``, no XSLT: memory stays flat whatever the size (each element is cleared once read);
* secure: a document with a DTD (internal subset or external) is refused before any content is read —
  lxml expands internal entities in attribute values even with ``resolve_entities=False``, so "billion
  laughs" would otherwise reach ``@V``; no network, no DTD loading, ``huge_tree`` off (libxml2 limits);
* encodings as declared (TOTEM files are usually ISO-8859-1): the bytes go to lxml, never decoded by hand;
* one result per input: :class:`TotemLu` (metadata + raw lines), :class:`BudgetPdf` (a budget sent as a
  PDF stays a document, with no rows) or :class:`TotemInvalide` (code + French message). Only
  :class:`TotemStream` (for very large files) raises, :class:`TotemReadError`, mid-iteration.

Lines are returned raw (codes and amounts as written); labels, chapters and checks are the converter's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from lxml import etree
from pydantic import ValidationError

from regate.collectivites.config import normalize_siret
from regate.flux.budgets.model import NATDEC_ETAPES, Racine, TotemMetadata

NS_DOCBUDGETAIRE = "http://www.minefi.gouv.fr/cp/demat/docbudgetaire"
NS_DOCCFU = "http://www.minefi.gouv.fr/cp/demat/doccfu"
PARIS = ZoneInfo("Europe/Paris")

#: parser options, one place: nothing outside the file is ever read, no DTD, libxml2's size limits on
SECURE_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}


class ErreurTotem(StrEnum):
    """Why a file yields no document (machine-readable, for quarantine reports)."""

    VIDE = "fichier_vide"
    PAS_XML = "pas_xml"  # neither XML nor PDF (ZIP, office file, image…)
    XML_INVALIDE = "xml_invalide"
    XML_TRONQUE = "xml_tronque"
    DTD_INTERDITE = "dtd_interdite"  # DOCTYPE / entities: refused (XXE, billion laughs)
    RACINE_INATTENDUE = "racine_inattendue"
    BUDGET_ABSENT = "budget_absent"
    PLUSIEURS_BUDGETS = "plusieurs_budgets"
    ENTETE_INCOMPLET = "entete_incomplet"
    METADONNEE_INVALIDE = "metadonnee_invalide"


class TotemReadError(ValueError):
    """Raised by :class:`TotemStream`; :func:`read_totem` turns it into a :class:`TotemInvalide`."""

    def __init__(self, code: ErreurTotem, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class LigneTotem:
    """One ``LigneBudget`` as written (``@V`` values, stripped; ``None`` when the element is absent)."""

    numero: int  # position among the document's LigneBudget elements (calculated ones counted), 1-based
    nature: str | None
    contnat: str | None
    fonction: str | None
    operation: str | None
    codrd: str | None
    opbudg: str | None
    typopbudg: str | None
    artspe: str | None
    libcpte: str | None
    section: str | None  # CaracSup[@Code='Section']/@V
    montants: dict[str, str]  # TOTEM amount element name → value as written (only those present)


@dataclass(frozen=True)
class TotemLu:
    """A TOTEM document read completely: its metadata and non-calculated lines."""

    metadata: TotemMetadata
    lignes: list[LigneTotem]
    lignes_calculees: int  # calculated="true" totals, skipped (they would double the sums)

    kind = "totem"


@dataclass(frozen=True)
class BudgetPdf:
    """A budget sent as a PDF (small communes): a document to keep and publish, with no SCDL rows."""

    taille: int

    kind = "pdf"
    message = "budget transmis en PDF : document conservé, aucune ligne budgétaire à extraire"


@dataclass(frozen=True)
class TotemInvalide:
    """A file that yields no budget document, and why (quarantine it; never guess)."""

    code: ErreurTotem
    message: str

    kind = "invalide"


TotemResult = TotemLu | BudgetPdf | TotemInvalide

_PDF_MAGIC = b"%PDF-"
_XML_STARTS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")

# local names of interest; TOTEM elements are in NS_DOCBUDGETAIRE (namespace-less files are accepted)
_HEADER_BLOCKS = ("EnTeteDocBudgetaire", "EnTeteBudget", "BlocBudget")
_LINE_FIELDS = (
    "Nature",
    "ContNat",
    "Fonction",
    "Operation",
    "CodRD",
    "OpBudg",
    "TypOpBudg",
    "ArtSpe",
    "LibCpte",
    "CaracSup",
    *(
        "MtReal",
        "MtBudgPrec",
        "MtRARPrec",
        "MtPropNouv",
        "MtPrev",
        "CredOuv",
        "MtRAR3112",
    ),
)
_AMOUNT_FIELDS = frozenset(
    ("MtReal", "MtBudgPrec", "MtRARPrec", "MtPropNouv", "MtPrev", "CredOuv", "MtRAR3112")
)
_NAMES = ("DocumentBudgetaire", "Budget", "LigneBudget", "Scellement", *_HEADER_BLOCKS)


def _tags(names: tuple[str, ...]) -> dict[str, str]:
    table = {f"{{{NS_DOCBUDGETAIRE}}}{n}": n for n in names}
    table.update({n: n for n in names})
    return table


_DOC_TAGS = _tags(_NAMES)
_LINE_TAGS = _tags(_LINE_FIELDS)
_ROOTS: dict[str, Racine] = {
    f"{{{NS_DOCBUDGETAIRE}}}DocumentBudgetaire": "DocumentBudgetaire",
    "DocumentBudgetaire": "DocumentBudgetaire",
    f"{{{NS_DOCCFU}}}CompteFinancierUnique": "CompteFinancierUnique",
    "CompteFinancierUnique": "CompteFinancierUnique",
}


def _value(element: Any) -> str | None:
    raw = element.get("V")
    if raw is None:
        return None
    stripped = raw.strip()
    return stripped or None


class TotemStream:
    """Iterate the lines of one TOTEM document without holding it in memory.

    ``metadata`` is set when the first line is reached (``EnTeteBudget``/``BlocBudget`` precede the lines in
    the TOTEM schema) and completed at the end (``Scellement``); ``lignes_calculees`` counts skipped totals.
    Raises :class:`TotemReadError` (malformed, hostile, truncated, wrong root, bad metadata).
    """

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self.metadata: TotemMetadata | None = None
        self.lignes_calculees = 0
        self.racine: Racine | None = None
        self._headers: dict[str, dict[str, str]] = {}
        self._scellement: str | None = None
        self._budgets = 0
        self._done = False
        self._root: Any = None

    # ------------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[LigneTotem]:
        if self._done:
            raise RuntimeError("TotemStream already consumed")
        self._done = True
        try:
            yield from self._lines()
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(exc) from exc
        if self.metadata is None:
            if self._budgets == 0:
                raise TotemReadError(ErreurTotem.BUDGET_ABSENT, "aucun élément Budget dans le document")
            self.metadata = self._build_metadata()
        # known only now: the sealing may follow the lines, lxml reports the encoding at the end
        encoding = self._root.getroottree().docinfo.encoding if self._root is not None else None
        self.metadata = self.metadata.model_copy(
            update={"scellement": _parse_scellement(self._scellement), "encodage": encoding}
        )

    def _lines(self) -> Iterator[LigneTotem]:
        events = etree.iterparse(self._source, events=("start", "end"), **SECURE_PARSER_OPTIONS)
        doc_tags, line_tags = _DOC_TAGS, _LINE_TAGS
        in_budget_doc = 0  # depth inside the (first) DocumentBudgetaire
        capture = 0  # >0 inside a header block or a line: children are kept until the block ends
        numero = 0
        first = True
        for event, element in events:
            if first:
                first = False
                self._check_root(element)
                self._root = element
                if self.racine == "DocumentBudgetaire":
                    in_budget_doc = 1
                continue
            name = doc_tags.get(element.tag)
            if event == "start":
                if name is None:
                    continue
                if name == "DocumentBudgetaire":
                    if in_budget_doc:
                        raise TotemReadError(
                            ErreurTotem.PLUSIEURS_BUDGETS, "DocumentBudgetaire imbriqué ou répété"
                        )
                    in_budget_doc = 1
                elif name == "Budget" and in_budget_doc:
                    self._budgets += 1
                    if self._budgets > 1:
                        raise TotemReadError(
                            ErreurTotem.PLUSIEURS_BUDGETS, "plusieurs éléments Budget dans le document"
                        )
                elif in_budget_doc and (name == "LigneBudget" or name in _HEADER_BLOCKS):
                    capture += 1
                continue
            # end event
            if name == "LigneBudget" and in_budget_doc and capture == 1:
                capture = 0
                numero += 1
                if self.metadata is None:
                    self.metadata = self._build_metadata()
                calculated = element.get("calculated")
                if calculated in ("true", "1"):
                    self.lignes_calculees += 1
                else:
                    yield self._line(element, numero, line_tags)
            elif name in _HEADER_BLOCKS and in_budget_doc and capture == 1:
                capture = 0
                block = self._headers.setdefault(name, {})
                for child in element:
                    tag = child.tag
                    if isinstance(tag, str):
                        local = tag.rpartition("}")[2]
                        value = _value(child)
                        if value is not None:
                            block.setdefault(local, value)
            elif name == "Scellement" and in_budget_doc and capture == 0 and self._scellement is None:
                self._scellement = element.get("date")
            elif name == "DocumentBudgetaire" and self.racine == "CompteFinancierUnique":
                in_budget_doc = 0
            if capture:
                continue  # a child of a block being captured: read when the block ends
            # done with this element: free it and its already-read siblings (flat memory)
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]

    def _check_root(self, root: Any) -> None:
        docinfo = root.getroottree().docinfo
        if docinfo.internalDTD is not None or docinfo.externalDTD is not None or docinfo.doctype:
            raise TotemReadError(
                ErreurTotem.DTD_INTERDITE,
                "déclaration DOCTYPE refusée (entités et DTD interdites dans un document TOTEM)",
            )
        racine = _ROOTS.get(root.tag)
        if racine is None:
            raise TotemReadError(
                ErreurTotem.RACINE_INATTENDUE,
                f"racine {etree.QName(root).localname!r} : "
                "attendu DocumentBudgetaire ou CompteFinancierUnique",
            )
        self.racine = racine

    @staticmethod
    def _line(element: Any, numero: int, line_tags: dict[str, str]) -> LigneTotem:
        values: dict[str, str | None] = {}
        montants: dict[str, str] = {}
        section = None
        for child in element:
            name = line_tags.get(child.tag)
            if name is None:
                continue
            if name == "CaracSup":
                if child.get("Code") == "Section" and section is None:
                    section = _value(child)
                continue
            value = _value(child)
            if value is None:
                continue
            if name in _AMOUNT_FIELDS:
                montants.setdefault(name, value)
            else:
                values.setdefault(name, value)
        get = values.get
        return LigneTotem(
            numero=numero,
            nature=get("Nature"),
            contnat=get("ContNat"),
            fonction=get("Fonction"),
            operation=get("Operation"),
            codrd=get("CodRD"),
            opbudg=get("OpBudg"),
            typopbudg=get("TypOpBudg"),
            artspe=get("ArtSpe"),
            libcpte=get("LibCpte"),
            section=section,
            montants=montants,
        )

    # ------------------------------------------------------------------------ metadata
    def _build_metadata(self) -> TotemMetadata:
        doc = self._headers.get("EnTeteDocBudgetaire", {})
        head = self._headers.get("EnTeteBudget", {})
        bloc = self._headers.get("BlocBudget", {})
        missing = [
            name
            for name, block in (
                ("EnTeteBudget/IdEtab", head.get("IdEtab")),
                ("EnTeteBudget/Nomenclature", head.get("Nomenclature")),
                ("BlocBudget/NatDec", bloc.get("NatDec")),
                ("BlocBudget/Exer", bloc.get("Exer")),
            )
            if not block
        ]
        if missing:
            raise TotemReadError(
                ErreurTotem.ENTETE_INCOMPLET,
                f"en-tête incomplet avant les lignes : {', '.join(missing)} absent",
            )
        siret = normalize_siret(head["IdEtab"])
        if siret is None:
            raise TotemReadError(
                ErreurTotem.METADONNEE_INVALIDE, f"IdEtab {head['IdEtab']!r} n'est pas un SIRET valide"
            )
        etape = NATDEC_ETAPES.get(bloc["NatDec"])
        if etape is None:
            raise TotemReadError(
                ErreurTotem.METADONNEE_INVALIDE,
                f"NatDec {bloc['NatDec']!r} inconnu (01 BP, 02 DM, 03 BS, 09 CA, 10 CFU)",
            )
        exer = bloc["Exer"]
        if not (len(exer) == 4 and exer.isdigit()):
            raise TotemReadError(ErreurTotem.METADONNEE_INVALIDE, f"Exer {exer!r} n'est pas une année")
        libelle_etab = head.get("LibelleEtab") or doc.get("LibelleColl")
        if not libelle_etab:
            raise TotemReadError(
                ErreurTotem.ENTETE_INCOMPLET, "ni LibelleEtab ni LibelleColl : budget sans nom"
            )
        try:
            return TotemMetadata(
                racine=self.racine or "DocumentBudgetaire",
                siret=siret,
                siren=siret[:9],
                exercice=int(exer),
                nat_dec=bloc["NatDec"],
                etape=etape,
                nomenclature=head["Nomenclature"],
                libelle_etab=libelle_etab,
                libelle_coll=doc.get("LibelleColl"),
                id_coll=doc.get("IdColl"),
                cod_bud=head.get("CodBud"),
                cod_coll=head.get("CodColl"),
                cod_insee_coll=head.get("CodInseeColl"),
                date_decision=_parse_date(bloc.get("DteDec")),
                nat_fonc=bloc.get("NatFonc"),
                scellement=_parse_scellement(self._scellement),
            )
        except ValidationError as exc:
            raise TotemReadError(ErreurTotem.METADONNEE_INVALIDE, f"métadonnées invalides : {exc}") from exc


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError as exc:
        raise TotemReadError(ErreurTotem.METADONNEE_INVALIDE, f"date {value!r} illisible") from exc


def _parse_scellement(value: str | None) -> datetime | None:
    """``2022-04-07T10:16:21.216+02:00`` or naive ``2022-02-08T14:13:52`` (taken as Paris time)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise TotemReadError(
            ErreurTotem.METADONNEE_INVALIDE, f"date de scellement {value!r} illisible"
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=PARIS)


def _syntax_error(exc: etree.XMLSyntaxError) -> TotemReadError:
    where = f" (ligne {exc.lineno}, colonne {exc.position[1]})" if exc.lineno else ""
    message = exc.msg or str(exc)
    if exc.code == 77 or "Premature end" in message:  # XML_ERR_TAG_NOT_FINISHED: the file stops short
        return TotemReadError(ErreurTotem.XML_TRONQUE, f"XML tronqué{where} : {message}")
    return TotemReadError(ErreurTotem.XML_INVALIDE, f"XML invalide{where} : {message}")


# ---------------------------------------------------------------------------- one-shot reading
def _sniff(head: bytes) -> TotemResult | None:
    stripped = head.lstrip(b" \t\r\n")
    if not stripped:
        return TotemInvalide(ErreurTotem.VIDE, "fichier vide")
    if stripped.startswith(_PDF_MAGIC):
        return None  # PDF: caller builds BudgetPdf with the size
    if not stripped.startswith(_XML_STARTS):
        return TotemInvalide(ErreurTotem.PAS_XML, "le fichier n'est ni un XML TOTEM ni un PDF")
    return None


def open_totem(source: bytes | Path | IO[bytes]) -> TotemStream:
    """A :class:`TotemStream` over bytes, a path or a binary file object (not sniffed: XML expected)."""
    if isinstance(source, bytes):
        return TotemStream(io.BytesIO(source))
    if isinstance(source, Path):
        return TotemStream(source.open("rb"))
    return TotemStream(source)


def read_totem(source: bytes | Path) -> TotemResult:
    """Read one received file completely: a TOTEM document, a PDF budget, or why it is neither.

    Never raises for bad content (only ``OSError`` when a path cannot be opened)."""
    if isinstance(source, Path):
        with source.open("rb") as handle:
            head = handle.read(1024)
            size = source.stat().st_size
            handle.seek(0)
            return _read(head, size, handle)
    return _read(source[:1024], len(source), io.BytesIO(source))


def _read(head: bytes, size: int, handle: IO[bytes]) -> TotemResult:
    sniffed = _sniff(head)
    if sniffed is not None:
        return sniffed
    if head.lstrip(b" \t\r\n").startswith(_PDF_MAGIC):
        return BudgetPdf(taille=size)
    stream = TotemStream(handle)
    try:
        lignes = list(stream)
    except TotemReadError as exc:
        return TotemInvalide(exc.code, exc.message)
    assert stream.metadata is not None  # set by a complete iteration
    return TotemLu(metadata=stream.metadata, lignes=lignes, lignes_calculees=stream.lignes_calculees)
