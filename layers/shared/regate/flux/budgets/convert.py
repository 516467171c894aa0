"""Raw TOTEM lines → budget lines: chapter, labels and section from the plan de comptes, with every
fallback reported and every line that would be invalid set aside with its reason (never an empty label).

Per line (next-flows §A.2–A.6):

* account (``Nature``): the document's plan; else the same declinaison in the nearest other exercice
  (the official tree has gaps); the label then falls back to the line's own ``LibCpte``, then to the
  nearest parent account (strip the last digit);
* chapter (``BGT_CONTNAT``): ``ContNat`` when present — label by exact code, else by the longest chapter
  prefix (third-party operations ``4581001`` → ``4581``); without ``ContNat``, derived from the account by
  direction and operation type (``DR/RR/DOES/ROES/DOIS/ROIS``), from a parent account if need be;
* section: the chapter's, else ``CaracSup[@Code='Section']``;
* fonction label: same plan lookups (exact, other exercice, parent); unknown → empty, reported;
* amounts: dot or comma decimal, at most 2 decimals (Parquet ``decimal(18, 2)``).

Resolutions are memoised per distinct code combination, so a million-line file costs little more than
its distinct accounts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from regate.flux.budgets.amounts import STAGE_AMOUNT_COLUMNS
from regate.flux.budgets.model import (
    ARTSPE,
    CODRD,
    MONTANTS,
    OPBUDG,
    SCDL_NATDEC,
    SECTIONS,
    BudgetLine,
    TotemMetadata,
)
from regate.flux.budgets.plans import (
    Chapitre,
    Compte,
    PlanDeComptes,
    PlanResolution,
    PlansDeComptes,
    plans_de_comptes,
)
from regate.flux.budgets.totem import LigneTotem, TotemLu

MAX_CODE_LENGTH = 9  # BGT_CONTNAT, BGT_NATURE, BGT_FONCTION: maxLength 9 in the schema
MAX_LIGNES_PAR_REPLI = 20  # line numbers kept per reported fallback (the count is always exact)


class MotifRejet(StrEnum):
    """Why a line is set aside (it would make the SCDL file invalid)."""

    NATURE_ABSENTE = "nature_absente"
    CODE_TROP_LONG = "code_trop_long"
    CODRD_INVALIDE = "codrd_invalide"
    OPBUDG_INVALIDE = "opbudg_invalide"
    COMPTE_INCONNU = "compte_inconnu"
    CHAPITRE_INCONNU = "chapitre_inconnu"
    CHAPITRE_NON_DEDUCTIBLE = "chapitre_non_deductible"
    SECTION_INCONNUE = "section_inconnue"
    MONTANT_ILLISIBLE = "montant_illisible"


class TypeRepli(StrEnum):
    """A fallback taken for a line (the line is kept, the report says how)."""

    COMPTE_AUTRE_EXERCICE = "compte_autre_exercice"
    LIBELLE_LIBCPTE = "libelle_libcpte"
    LIBELLE_COMPTE_PARENT = "libelle_compte_parent"
    CHAPITRE_PREFIXE = "chapitre_prefixe"
    CHAPITRE_AUTRE_EXERCICE = "chapitre_autre_exercice"
    CHAPITRE_COMPTE_PARENT = "chapitre_compte_parent"
    SECTION_CARACSUP = "section_caracsup"
    FONCTION_AUTRE_EXERCICE = "fonction_autre_exercice"
    FONCTION_PARENTE = "fonction_parente"
    FONCTION_INCONNUE = "fonction_inconnue"
    VALEUR_IGNOREE = "valeur_ignoree"  # ArtSpe / TypOpBudg unreadable: optional cell left empty


class LigneRejetee(BaseModel):
    model_config = ConfigDict(frozen=True)

    numero: int
    nature: str | None
    motif: MotifRejet
    message: str


class Repli(BaseModel):
    """One kind of fallback on one code, with the lines it concerns (first ones) and their count."""

    type: TypeRepli
    code: str
    message: str
    nombre: int = 0
    lignes: list[int] = Field(default_factory=list)


class RapportConversion(BaseModel):
    """What happened to one document: for the operator's report and the quarantine."""

    siret: str
    exercice: int
    etape: str
    nomenclature: str
    plan_utilise: str
    repli_plan: str | None = None  # the document-level plan fallback, in words
    lignes_lues: int = 0  # non-calculated LigneBudget
    lignes_calculees: int = 0  # calculated="true", skipped
    lignes_converties: int = 0
    lignes_rejetees: list[LigneRejetee] = Field(default_factory=list)
    replis: list[Repli] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Classement:
    """The plan-derived part of a line, shared by every line with the same codes."""

    values: dict[str, Any]
    replis: tuple[tuple[TypeRepli, str, str], ...] = ()
    depends: bool = False  # used the line's LibCpte or CaracSup Section (memoised with them)


@dataclass(frozen=True, slots=True)
class _Rejet:
    motif: MotifRejet
    message: str
    depends: bool = False


_DEPENDS_ON_LINE = _Rejet(MotifRejet.NATURE_ABSENTE, "memo marker: look up with LibCpte and CaracSup", True)


_AMOUNT_RE = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_AMOUNT_2_RE = re.compile(r"-?\d{1,16}\.\d\d")  # the usual TOTEM form: exact as it is
_CENT = Decimal("0.01")
_AMOUNT_LIMIT = Decimal(10) ** 16


def parse_montant(raw: str) -> Decimal:
    """``6100.00`` / ``0,00`` → ``Decimal`` with 2 decimals; ``ValueError`` if not an exact euro amount."""
    if _AMOUNT_2_RE.fullmatch(raw):
        return Decimal(raw) + 0  # + 0 normalises -0.00
    text = raw.strip().replace(",", ".")
    if not _AMOUNT_RE.match(text):
        raise ValueError(raw)
    try:
        value = Decimal(text)
        rounded = value.quantize(_CENT)
    except InvalidOperation as exc:
        raise ValueError(raw) from exc
    if rounded != value or abs(rounded) >= _AMOUNT_LIMIT:
        raise ValueError(raw)
    return rounded + 0  # normalises -0.00


@dataclass
class BudgetConverter:
    """Converts the lines of one document (its metadata fixed) against its resolved plan."""

    metadata: TotemMetadata
    plans: PlansDeComptes = field(default_factory=plans_de_comptes)
    document_id: str | None = None
    resolution: PlanResolution = field(init=False)
    rapport: RapportConversion = field(init=False)

    def __post_init__(self) -> None:
        meta = self.metadata
        self.resolution = self.plans.resolve(meta.exercice, meta.nomenclature)  # PlanIntrouvable
        self.rapport = RapportConversion(
            siret=meta.siret,
            exercice=meta.exercice,
            etape=meta.etape.value,
            nomenclature=meta.nomenclature,
            plan_utilise=self.resolution.plan.cle,
            repli_plan=self.resolution.message,
        )
        self._cache: dict[tuple[Any, ...], _Classement | _Rejet] = {}
        self._extra_cache: dict[tuple[str | None, str | None], _Classement | _Rejet] = {}
        self._replis: dict[tuple[TypeRepli, str], Repli] = {}
        self._others: list[PlanDeComptes] | None = None
        self._document = {
            "siren": meta.siren,
            "annee": meta.exercice,
            "siret": meta.siret,
            "nom": meta.libelle_etab,
            "cod_bud": meta.cod_bud,
            "etape": meta.etape,
            "natdec": SCDL_NATDEC[meta.etape],
            "nomenclature": meta.nomenclature,
            "plan_de_comptes": self.resolution.plan.cle,
            "date_decision": meta.date_decision,
            "date_scellement": meta.scellement,
            "document_id": self.document_id,
        }
        self._stage_columns = STAGE_AMOUNT_COLUMNS[meta.etape]

    # ------------------------------------------------------------------------ public
    def convert(self, lignes: Iterable[LigneTotem]) -> Iterator[BudgetLine]:
        """The kept lines, in document order; rejections and fallbacks accumulate in :attr:`rapport`."""
        for ligne in lignes:
            converted = self.line(ligne)
            if converted is not None:
                yield converted

    def line(self, ligne: LigneTotem) -> BudgetLine | None:
        rapport = self.rapport
        rapport.lignes_lues += 1
        key = (ligne.nature, ligne.contnat, ligne.codrd, ligne.opbudg, ligne.typopbudg)
        classement = self._cache.get(key)
        if classement is None:
            classement = self._classify(ligne)
            # most lines never need their LibCpte / CaracSup: memoise on the codes alone unless used
            self._cache[key] = _DEPENDS_ON_LINE if classement.depends else classement
            if classement.depends:
                self._cache[(*key, ligne.section, ligne.libcpte)] = classement
        elif classement is _DEPENDS_ON_LINE:
            full = (*key, ligne.section, ligne.libcpte)
            classement = self._cache.get(full) or self._cache.setdefault(full, self._classify(ligne))
        if isinstance(classement, _Rejet):
            self._reject(ligne, classement.motif, classement.message)
            return None
        extra = self._extra_cache.get((ligne.fonction, ligne.artspe))
        if extra is None:
            extra = self._extra_cache[(ligne.fonction, ligne.artspe)] = self._classify_extra(ligne)
        if isinstance(extra, _Rejet):
            self._reject(ligne, extra.motif, extra.message)
            return None
        values = {**self._document, **classement.values, **extra.values}
        montant = Decimal("0.00")
        for name, raw in ligne.montants.items():
            try:
                amount = parse_montant(raw)
            except ValueError:
                self._reject(ligne, MotifRejet.MONTANT_ILLISIBLE, f"{name} = {raw!r} illisible")
                return None
            column = MONTANTS[name]
            values[column] = amount
            if column in self._stage_columns:
                montant += amount
        values["ligne"] = ligne.numero
        values["operation"] = ligne.operation
        values["montant"] = montant
        for repli_type, code, message in classement.replis + extra.replis:
            self._note(repli_type, code, message, ligne.numero)
        rapport.lignes_converties += 1
        return BudgetLine(**values)

    def finish(self, lignes_calculees: int = 0) -> RapportConversion:
        """The report, fallbacks sorted (type, code) for stable output."""
        self.rapport.lignes_calculees = lignes_calculees
        self.rapport.replis = sorted(self._replis.values(), key=lambda r: (r.type.value, r.code))
        return self.rapport

    # ------------------------------------------------------------------------ rules
    @property
    def plan(self) -> PlanDeComptes:
        return self.resolution.plan

    def _other_plans(self) -> list[PlanDeComptes]:
        if self._others is None:
            self._others = list(self.plans.autres_exercices(self.plan))
        return self._others

    def _classify(self, ligne: LigneTotem) -> _Classement | _Rejet:
        replis: list[tuple[TypeRepli, str, str]] = []
        nature = ligne.nature
        if not nature:
            return _Rejet(MotifRejet.NATURE_ABSENTE, "ligne sans Nature (compte)")
        for label, code in (("Nature", nature), ("ContNat", ligne.contnat)):
            if code is not None and len(code) > MAX_CODE_LENGTH:
                return _Rejet(
                    MotifRejet.CODE_TROP_LONG, f"{label} {code!r} : plus de {MAX_CODE_LENGTH} caractères"
                )
        codrd = CODRD.get(ligne.codrd or "")
        if codrd is None:
            return _Rejet(MotifRejet.CODRD_INVALIDE, f"CodRD {ligne.codrd!r} : attendu R ou D")
        opbudg = OPBUDG.get(ligne.opbudg or "")
        if opbudg is None:
            return _Rejet(MotifRejet.OPBUDG_INVALIDE, f"OpBudg {ligne.opbudg!r} : attendu 0 ou 1")
        typopbudg: int | None = None
        if ligne.typopbudg in ("1", "2"):
            typopbudg = int(ligne.typopbudg)
        elif ligne.typopbudg is not None:
            replis.append(
                (TypeRepli.VALEUR_IGNOREE, f"TypOpBudg={ligne.typopbudg}", "TypOpBudg illisible, ignoré")
            )
        plan = self.plan
        depends = False
        compte, compte_plan = self._find_account(nature)
        if compte is not None and compte_plan is not plan:
            replis.append(
                (
                    TypeRepli.COMPTE_AUTRE_EXERCICE,
                    nature,
                    f"compte {nature} absent du plan {plan.nomenclature} {plan.exercice} : "
                    f"repris du plan {compte_plan.exercice}",
                )
            )
        # account label
        if compte is not None:
            nature_label, label_source = (
                compte.libelle,
                "plan" if compte_plan is plan else "plan_autre_exercice",
            )
        elif ligne.libcpte:
            depends = True
            nature_label, label_source = ligne.libcpte, "libcpte"
            replis.append(
                (
                    TypeRepli.LIBELLE_LIBCPTE,
                    nature,
                    f"compte {nature} absent des plans : libellé LibCpte du fichier",
                )
            )
        else:
            depends = True  # would have used a LibCpte
            parent = plan.compte_parent(nature)
            if parent is None:
                return _Rejet(MotifRejet.COMPTE_INCONNU, f"compte {nature} inconnu du plan {plan.cle}", True)
            nature_label, label_source = parent.libelle, "compte_parent"
            replis.append(
                (
                    TypeRepli.LIBELLE_COMPTE_PARENT,
                    nature,
                    f"compte {nature} absent des plans : libellé du compte parent {parent.code}",
                )
            )
        # chapter
        chapitre: Chapitre | None
        if ligne.contnat:
            contnat, contnat_source = ligne.contnat, "totem"
            chapitre = self._find_chapter(contnat, replis)
            if chapitre is None:
                return _Rejet(
                    MotifRejet.CHAPITRE_INCONNU,
                    f"chapitre ContNat {contnat} inconnu du plan {plan.cle}",
                    depends,
                )
        else:
            contnat_source = "plan"
            derived = self._derive_chapter(nature, compte, ligne, replis)
            if derived is None:
                return _Rejet(
                    MotifRejet.CHAPITRE_NON_DEDUCTIBLE,
                    f"ligne sans ContNat : le plan {plan.cle} ne donne pas de chapitre au compte {nature} "
                    f"(CodRD {ligne.codrd}, OpBudg {ligne.opbudg}, TypOpBudg {ligne.typopbudg})",
                    depends,
                )
            contnat, chapitre = derived
        # section
        section = SECTIONS.get(chapitre.section)
        if section is None:
            depends = True
            section = SECTIONS.get(ligne.section or "")
            if section is None:
                return _Rejet(MotifRejet.SECTION_INCONNUE, f"section du chapitre {contnat} inconnue", True)
            replis.append(
                (
                    TypeRepli.SECTION_CARACSUP,
                    contnat,
                    f"chapitre {contnat} sans section : CaracSup Section du fichier",
                )
            )
        return _Classement(
            values={
                "nature": nature,
                "nature_label": nature_label,
                "nature_label_source": label_source,
                "contnat": contnat,
                "contnat_label": chapitre.libelle,
                "contnat_source": contnat_source,
                "section": section,
                "opbudg": opbudg,
                "typopbudg": typopbudg,
                "codrd": codrd,
            },
            replis=tuple(replis),
            depends=depends,
        )

    def _classify_extra(self, ligne: LigneTotem) -> _Classement | _Rejet:
        """Fonction and ArtSpe: independent of the account, memoised apart (fewer combinations)."""
        replis: list[tuple[TypeRepli, str, str]] = []
        fonction = ligne.fonction
        if fonction is not None and len(fonction) > MAX_CODE_LENGTH:
            return _Rejet(
                MotifRejet.CODE_TROP_LONG, f"Fonction {fonction!r} : plus de {MAX_CODE_LENGTH} caractères"
            )
        artspe = None
        if ligne.artspe is not None:
            artspe = ARTSPE.get(ligne.artspe.lower())
            if artspe is None:
                replis.append(
                    (TypeRepli.VALEUR_IGNOREE, f"ArtSpe={ligne.artspe}", "ArtSpe illisible, laissé vide")
                )

        fonction_label = self._fonction_label(fonction, replis) if fonction else None
        return _Classement(
            values={"fonction": fonction, "fonction_label": fonction_label, "artspe": artspe},
            replis=tuple(replis),
        )

    def _find_account(self, code: str) -> tuple[Compte | None, PlanDeComptes]:
        found = self.plan.compte(code)
        if found is not None:
            return found, self.plan
        for other in self._other_plans():
            found = other.compte(code)
            if found is not None:
                return found, other
        return None, self.plan

    def _find_chapter(self, code: str, replis: list[tuple[TypeRepli, str, str]]) -> Chapitre | None:
        plan = self.plan
        found = plan.chapitre(code)
        if found is not None:
            return found
        found = plan.chapitre_par_prefixe(code)
        if found is not None:
            replis.append(
                (
                    TypeRepli.CHAPITRE_PREFIXE,
                    code,
                    f"chapitre {code} : libellé et section du chapitre {found.code} "
                    "(opération pour compte de tiers)",
                )
            )
            return found
        for other in self._other_plans():
            found = other.chapitre(code) or other.chapitre_par_prefixe(code)
            if found is not None:
                replis.append(
                    (
                        TypeRepli.CHAPITRE_AUTRE_EXERCICE,
                        code,
                        f"chapitre {code} absent du plan {plan.exercice} : repris du plan {other.exercice}",
                    )
                )
                return found
        return None

    def _derive_chapter(
        self, nature: str, compte: Compte | None, ligne: LigneTotem, replis: list[tuple[TypeRepli, str, str]]
    ) -> tuple[str, Chapitre] | None:
        codrd, opbudg, typ = ligne.codrd or "", ligne.opbudg or "", ligne.typopbudg
        candidates: list[tuple[Compte, bool]] = []
        if compte is not None:
            candidates.append((compte, False))
        end = len(nature) - 1
        while end > 0:  # parent accounts of the plan, nearest first
            parent = self.plan.compte(nature[:end])
            if parent is not None:
                candidates.append((parent, True))
            end -= 1
        for candidate, is_parent in candidates:
            code = candidate.chapitre_pour(codrd, opbudg, typ)
            if not code:
                continue
            chapitre = self._find_chapter(code, replis)
            if chapitre is None:
                continue
            if is_parent:
                replis.append(
                    (
                        TypeRepli.CHAPITRE_COMPTE_PARENT,
                        nature,
                        f"compte {nature} : chapitre {code} déduit du compte parent {candidate.code}",
                    )
                )
            return code, chapitre
        return None

    def _fonction_label(self, code: str, replis: list[tuple[TypeRepli, str, str]]) -> str | None:
        found = self.plan.fonction(code)
        if found is not None:
            return found.libelle
        for other in self._other_plans():
            found = other.fonction(code)
            if found is not None:
                replis.append(
                    (
                        TypeRepli.FONCTION_AUTRE_EXERCICE,
                        code,
                        f"fonction {code} absente du plan {self.plan.exercice} : "
                        f"reprise du plan {other.exercice}",
                    )
                )
                return found.libelle
        parent = self.plan.fonction_parente(code)
        if parent is not None:
            replis.append(
                (
                    TypeRepli.FONCTION_PARENTE,
                    code,
                    f"fonction {code} inconnue : libellé de la fonction {parent.code}",
                )
            )
            return parent.libelle
        replis.append(
            (TypeRepli.FONCTION_INCONNUE, code, f"fonction {code} inconnue du plan : libellé laissé vide")
        )
        return None

    # ------------------------------------------------------------------------ report
    def _reject(self, ligne: LigneTotem, motif: MotifRejet, message: str) -> None:
        self.rapport.lignes_rejetees.append(
            LigneRejetee(numero=ligne.numero, nature=ligne.nature, motif=motif, message=message)
        )
        return None

    def _note(self, repli_type: TypeRepli, code: str, message: str, numero: int) -> None:
        entry = self._replis.get((repli_type, code))
        if entry is None:
            entry = self._replis[(repli_type, code)] = Repli(type=repli_type, code=code, message=message)
        entry.nombre += 1
        if len(entry.lignes) < MAX_LIGNES_PAR_REPLI:
            entry.lignes.append(numero)


@dataclass(frozen=True)
class Conversion:
    """A document converted: its metadata, kept lines, and the report."""

    metadata: TotemMetadata
    lignes: list[BudgetLine]
    rapport: RapportConversion


def convert_document(
    lu: TotemLu, *, plans: PlansDeComptes | None = None, document_id: str | None = None
) -> Conversion:
    """Convert a :class:`TotemLu`; raises ``PlanIntrouvable`` when no plan can stand for it."""
    converter = BudgetConverter(lu.metadata, plans or plans_de_comptes(), document_id)
    lignes = list(converter.convert(lu.lignes))
    return Conversion(lu.metadata, lignes, converter.finish(lu.lignes_calculees))
