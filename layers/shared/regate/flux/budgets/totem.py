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
from typing import IO, Any, Protocol
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
    STRUCTURE_INVALIDE = "structure_invalide"  # lines outside Budget/DocumentBudgetaire
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
_HEADER_BLOCKS = frozenset(("EnTeteDocBudgetaire", "EnTeteBudget", "BlocBudget"))
_AMOUNT_FIELDS = frozenset(
    ("MtReal", "MtBudgPrec", "MtRARPrec", "MtPropNouv", "MtPrev", "CredOuv", "MtRAR3112")
)
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
    *sorted(_AMOUNT_FIELDS),
)
# elements whose end event the reader asks lxml for (every other element gets no Python callback): the
# ones it reads, and big containers it frees as soon as they end (annexes, the CFU's comptable part)
_EVENT_NAMES = (
    "DocumentBudgetaire",
    "Budget",
    "LigneBudget",
    "Scellement",
    *sorted(_HEADER_BLOCKS),
    "InformationsGenerales",
    "Annexes",
)
_NS_DOCCOMPTABLE = "http://www.minefi.gouv.fr/cp/demat/doccomptable"
_FREED_ELSEWHERE = (f"{{{_NS_DOCCOMPTABLE}}}DocumentComptable", f"{{{_NS_DOCCOMPTABLE}}}LigneComptable")


def _tags(names: tuple[str, ...]) -> dict[str, str]:
    table = {f"{{{NS_DOCBUDGETAIRE}}}{n}": n for n in names}
    table.update({n: n for n in names})
    return table


_EVENT_TAGS = _tags(_EVENT_NAMES)
_EVENT_TAGS.update({tag: "" for tag in _FREED_ELSEWHERE})
_LINE_TAGS = _tags(_LINE_FIELDS)
_ROOTS: dict[str, Racine] = {
    f"{{{NS_DOCBUDGETAIRE}}}DocumentBudgetaire": "DocumentBudgetaire",
    "DocumentBudgetaire": "DocumentBudgetaire",
    f"{{{NS_DOCCFU}}}CompteFinancierUnique": "CompteFinancierUnique",
    "CompteFinancierUnique": "CompteFinancierUnique",
}
_HEAD_CHUNK = 64 * 1024
_MAX_PROLOG = 1024 * 1024  # no root element in the first MiB: not a TOTEM document


def _value(element: Any) -> str | None:
    raw = element.get("V")
    if raw is None:
        return None
    stripped = raw.strip()
    return stripped or None


class _Reader(Protocol):
    """What lxml's feed loop needs of a source: ``read(size)``."""

    def read(self, size: int = -1, /) -> bytes: ...


class _Replay:
    """A binary reader that first returns the bytes already consumed by the head check."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if self._head:
            if size is None or size < 0:
                data, self._head = self._head + self._rest.read(), b""
                return data
            data, self._head = self._head[:size], self._head[size:]
            return data
        return self._rest.read(size)


def _declares_doctype(chunk: bytes, *, utf16: bool) -> bool:
    """``<!DOCTYPE`` in the prolog bytes (UTF-16 decoded first). TOTEM documents never have one; in a
    well-formed document it could only appear raw inside a comment or CDATA: refused as well."""
    if utf16:
        return "<!DOCTYPE" in chunk.decode("utf-16", errors="ignore") or "<!DOCTYPE" in chunk[1:].decode(
            "utf-16", errors="ignore"
        )
    return b"<!DOCTYPE" in chunk


def check_head(source: IO[bytes]) -> tuple[Racine, _Reader]:
    """Parse only up to the root element: refuse a DTD (before any entity is used) and a foreign root.

    Returns the root kind and a reader replaying the consumed bytes. Raises :class:`TotemReadError`."""
    parser = etree.XMLPullParser(events=("start",), **SECURE_PARSER_OPTIONS)
    consumed: list[bytes] = []
    size = 0
    utf16 = False
    try:
        while True:
            chunk = source.read(_HEAD_CHUNK)
            if not consumed:
                utf16 = chunk.startswith((b"\xff\xfe", b"\xfe\xff"))
            if not chunk:
                parser.close()  # raises on an empty or unfinished prolog
                raise TotemReadError(ErreurTotem.XML_INVALIDE, "XML invalide : aucun élément racine")
            if _declares_doctype((consumed[-1][-16:] if consumed else b"") + chunk, utf16=utf16):
                # before libxml2 sees it: a DTD-bearing prolog never reaches the parser (its own
                # amplification limits would stop billion laughs, but with a less precise verdict)
                raise TotemReadError(
                    ErreurTotem.DTD_INTERDITE,
                    "déclaration DOCTYPE refusée (entités et DTD interdites dans un document TOTEM)",
                )
            consumed.append(chunk)
            size += len(chunk)
            parser.feed(chunk)
            for _event, root in parser.read_events():
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
                return racine, _Replay(b"".join(consumed), source)
            if size > _MAX_PROLOG:
                raise TotemReadError(ErreurTotem.XML_INVALIDE, "XML invalide : pas d'élément racine au début")
    except etree.XMLSyntaxError as exc:
        raise _syntax_error(exc) from exc


class TotemStream:
    """Iterate the lines of one TOTEM document without holding it in memory.

    ``metadata`` is set when the first line is reached (``EnTeteBudget``/``BlocBudget`` precede the lines in
    the TOTEM schema) and completed at the end (``Scellement``, encoding); ``lignes_calculees`` counts the
    skipped totals. Raises :class:`TotemReadError` (malformed, hostile, truncated, wrong root, bad
    metadata), at the latest when the iteration ends.

    lxml is asked for the end events of a few elements only (``_EVENT_NAMES``), so the children of a line
    cost no Python call until the line is read; every element read is then freed with its predecessors.
    """

    def __init__(self, source: IO[bytes], *, close: bool = False) -> None:
        self._source = source
        self._close = close  # opened by open_totem(Path): closed when the iteration ends
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
            self.racine, reader = check_head(self._source)
            yield from self._lines(reader)
        except etree.XMLSyntaxError as exc:
            raise _syntax_error(exc) from exc
        finally:
            if self._close:
                self._source.close()
        if self.metadata is None:
            if self._budgets == 0:
                raise TotemReadError(ErreurTotem.BUDGET_ABSENT, "aucun élément Budget dans le document")
            self.metadata = self._build_metadata()
        # known only now: the sealing may follow the lines, lxml reports the encoding at the end
        encoding = self._root.getroottree().docinfo.encoding if self._root is not None else None
        self.metadata = self.metadata.model_copy(
            update={"scellement": _parse_scellement(self._scellement), "encodage": encoding}
        )

    def _lines(self, reader: Any) -> Iterator[LigneTotem]:
        events = etree.iterparse(reader, events=("end",), tag=list(_EVENT_TAGS), **SECURE_PARSER_OPTIONS)
        names, line_tags, amount_fields = _EVENT_TAGS, _LINE_TAGS, _AMOUNT_FIELDS
        budget: Any = None  # the Budget element holding the lines
        numero = 0
        for _event, element in events:
            name = names[element.tag]
            parent = element.getparent()
            if name == "LigneBudget":
                numero += 1
                if parent is not budget:
                    budget = self._first_line_parent(parent, budget)
                if element.get("calculated") in ("true", "1"):
                    self.lignes_calculees += 1
                else:
                    # inlined: one call per line child would dominate on large files
                    values: dict[str, str] = {}
                    montants: dict[str, str] = {}
                    section = None
                    for child in element:
                        field = line_tags.get(child.tag)
                        if field is None:
                            continue
                        raw = child.get("V")
                        if raw is None:
                            continue
                        raw = raw.strip()
                        if not raw:
                            continue
                        if field in amount_fields:
                            montants.setdefault(field, raw)
                        elif field == "CaracSup":
                            if section is None and child.get("Code") == "Section":
                                section = raw
                        else:
                            values.setdefault(field, raw)
                    get = values.get
                    yield LigneTotem(
                        numero,
                        get("Nature"),
                        get("ContNat"),
                        get("Fonction"),
                        get("Operation"),
                        get("CodRD"),
                        get("OpBudg"),
                        get("TypOpBudg"),
                        get("ArtSpe"),
                        get("LibCpte"),
                        section,
                        montants,
                    )
            elif name in _HEADER_BLOCKS:
                if self._in_budget_document(parent, name):
                    block = self._headers.setdefault(name, {})
                    for child in element:
                        tag = child.tag
                        if isinstance(tag, str):
                            value = _value(child)
                            if value is not None:
                                block.setdefault(tag.rpartition("}")[2], value)
            elif name == "Scellement":
                if (
                    self._scellement is None
                    and parent is not None
                    and names.get(parent.tag) == "DocumentBudgetaire"
                ):
                    self._scellement = element.get("date")
            elif name == "Budget" and parent is not None and names.get(parent.tag) == "DocumentBudgetaire":
                self._budgets += 1
                if self._budgets > 1:
                    raise TotemReadError(
                        ErreurTotem.PLUSIEURS_BUDGETS, "plusieurs éléments Budget dans le document"
                    )
            # done with this element: free it and its already-read siblings (flat memory)
            element.clear()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
                if self._root is None:
                    self._root = parent.getroottree().getroot()

    def _first_line_parent(self, parent: Any, budget: Any) -> Any:
        """Lines must sit in ``Budget`` in a ``DocumentBudgetaire``; a second Budget is refused."""
        if parent is None or _EVENT_TAGS.get(parent.tag) != "Budget":
            raise TotemReadError(ErreurTotem.STRUCTURE_INVALIDE, "LigneBudget en dehors d'un élément Budget")
        grand = parent.getparent()
        if grand is None or _EVENT_TAGS.get(grand.tag) != "DocumentBudgetaire":
            raise TotemReadError(ErreurTotem.STRUCTURE_INVALIDE, "Budget en dehors d'un DocumentBudgetaire")
        if budget is not None or self._budgets:  # lines of a second Budget
            raise TotemReadError(ErreurTotem.PLUSIEURS_BUDGETS, "plusieurs éléments Budget dans le document")
        if self.metadata is None:
            self.metadata = self._build_metadata()
        return parent

    @staticmethod
    def _in_budget_document(parent: Any, name: str) -> bool:
        if parent is None:
            return False
        expected = "DocumentBudgetaire" if name == "EnTeteDocBudgetaire" else "Budget"
        return _EVENT_TAGS.get(parent.tag) == expected

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
        return TotemStream(source.open("rb"), close=True)
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
