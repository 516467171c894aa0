"""Plans de comptes (DGCL/DGFiP nomenclatures M14, M4x, M52, M57, M61, M71) as shipped reference data.

A TOTEM line carries codes only (account ``Nature``, sometimes the chapter ``ContNat``): labels, the
chapter of a line without ``ContNat`` and the section come from the plan of the line's exercice and
nomenclature. The plans are built offline by ``scripts/build_plans_de_comptes.py`` into ``data/``: one
``index.json`` (keys, sources, checksums) and one xz-compressed JSON per norme, whose plans share
de-duplicated tables of chapters, accounts and fonctions (labels repeat from year to year). A norme file is
read, checksum-verified and decoded only when a plan of that norme is first asked for.

A plan that is not shipped (2025+, ``M57-M57`` after 2022) is never silently replaced by empty labels:
:meth:`PlansDeComptes.resolve` returns the plan used **and** the fallback taken (previous exercice, parent
declinaison, later exercice), or raises :class:`PlanIntrouvable`.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from itertools import accumulate
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
INDEX_FILE_NAME = "index.json"
DATA_FORMAT = 1

#: column order of the shared tables in a norme file (``comptes``: the six chapter attributes by
#: direction and operation type, as in ``planDeCompte.xml``)
CHAPITRE_COLUMNS: tuple[str, ...] = ("code", "libelle", "section", "presentation")
COMPTE_COLUMNS: tuple[str, ...] = ("code", "libelle", "parent", "DR", "RR", "DOES", "ROES", "DOIS", "ROIS")
FONCTION_COLUMNS: tuple[str, ...] = ("code", "libelle", "parent")


def norme_file_name(norme: str) -> str:
    """``M14`` → ``M14.json.xz``: the file holding every shipped plan of that norme."""
    return f"{norme}.json.xz"


class PlanDataError(ValueError):
    """The shipped data are unreadable or do not match their checksum (a packaging bug, not input)."""


class PlanIntrouvable(LookupError):
    """No shipped plan can stand for the requested (exercice, nomenclature), even with a fallback."""

    def __init__(self, exercice: int, nomenclature: str, detail: str) -> None:
        super().__init__(f"aucun plan de comptes pour {nomenclature} {exercice} : {detail}")
        self.exercice = exercice
        self.nomenclature = nomenclature
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Chapitre:
    """A chapter: ``section`` is ``I`` (investissement) or ``F`` (fonctionnement); ``presentation`` is
    ``nature`` (``Nature/Chapitres``) or ``fonction`` (``Fonction/Chapitres``: 90x, 93x…)."""

    code: str
    libelle: str
    section: str
    presentation: str


@dataclass(frozen=True, slots=True)
class Compte:
    """An account (``Nature/Comptes//Compte``) with its chapter per direction and operation type."""

    code: str
    libelle: str
    parent: str  # code of the enclosing account in the plan ("" at the top)
    DR: str
    RR: str
    DOES: str
    ROES: str
    DOIS: str
    ROIS: str

    def chapitre_pour(self, codrd: str, opbudg: str, typopbudg: str | None) -> str | None:
        """The chapter of a line on this account (next-flows §A.3): ``DR``/``RR`` for real operations,
        ``DOES``/``ROES`` for order operations between sections (``TypOpBudg`` 2), ``DOIS``/``ROIS``
        within a section (1). An order line without ``TypOpBudg`` gets the only non-empty one of the two.
        ``None`` when the plan gives no chapter for that case."""
        sens = "D" if codrd == "D" else "R"
        if opbudg == "0":
            return getattr(self, f"{sens}R") or None
        entre = getattr(self, f"{sens}OES")
        interieur = getattr(self, f"{sens}OIS")
        if typopbudg == "2":
            return entre or None
        if typopbudg == "1":
            return interieur or None
        candidates = {c for c in (entre, interieur) if c}
        return candidates.pop() if len(candidates) == 1 else None


@dataclass(frozen=True, slots=True)
class Fonction:
    """A functional reference (``Fonction/RefFonctionnelles//RefFonc``)."""

    code: str
    libelle: str
    parent: str


@dataclass(frozen=True)
class PlanDeComptes:
    """One official plan: ``(exercice, norme, declinaison)``, e.g. ``(2024, "M57", "M57_A")``."""

    exercice: int
    norme: str
    declinaison: str
    chapitres: Mapping[str, Chapitre]
    comptes: Mapping[str, Compte]
    fonctions: Mapping[str, Fonction]

    @property
    def cle(self) -> str:
        """``2024/M57/M57_A`` (the path of the official file under ``composants/normes/``)."""
        return f"{self.exercice}/{self.norme}/{self.declinaison}"

    @property
    def nomenclature(self) -> str:
        """As TOTEM writes it: ``M57-M57_A``."""
        return f"{self.norme}-{self.declinaison}"

    def chapitre(self, code: str) -> Chapitre | None:
        """Exact chapter code, nature presentation first."""
        return self.chapitres.get(code)

    def chapitre_par_prefixe(self, code: str) -> Chapitre | None:
        """Longest chapter code that prefixes ``code``: third-party operations carry the chapter plus an
        operation number (``4581001`` → ``4581``, ``45411`` → ``4541``). At least two characters."""
        for end in range(len(code) - 1, 1, -1):
            found = self.chapitres.get(code[:end])
            if found is not None:
                return found
        return None

    def compte(self, code: str) -> Compte | None:
        return self.comptes.get(code)

    def compte_parent(self, code: str) -> Compte | None:
        """Nearest account above ``code`` (strip the last digit until one exists), for an account the
        plan does not list (a subdivision opened locally, or one dropped that year)."""
        for end in range(len(code) - 1, 0, -1):
            found = self.comptes.get(code[:end])
            if found is not None:
                return found
        return None

    def fonction(self, code: str) -> Fonction | None:
        return self.fonctions.get(code)

    def fonction_parente(self, code: str) -> Fonction | None:
        for end in range(len(code) - 1, 0, -1):
            found = self.fonctions.get(code[:end])
            if found is not None:
                return found
        return None


class Repli(StrEnum):
    """Which fallback gave the plan used (``None`` on a :class:`PlanResolution`: the exact plan)."""

    EXERCICE_ANTERIEUR = "exercice_anterieur"  # same declinaison, nearest previous exercice
    DECLINAISON_PARENTE = "declinaison_parente"  # parent declinaison (M57_P → M57, M43_D → M43 → M4)
    EXERCICE_POSTERIEUR = "exercice_posterieur"  # nothing earlier: nearest later exercice


@dataclass(frozen=True)
class PlanResolution:
    """The plan used for a document, and the fallback taken (``repli is None``: the exact plan)."""

    exercice: int
    nomenclature: str
    plan: PlanDeComptes
    repli: Repli | None = None

    @property
    def message(self) -> str | None:
        """French sentence for reports, ``None`` when the exact plan was found."""
        if self.repli is None:
            return None
        return (
            f"plan de comptes {self.nomenclature} {self.exercice} non embarqué : repli sur "
            f"{self.plan.nomenclature} {self.plan.exercice} ({self.repli.value})"
        )


def parse_nomenclature(nomenclature: str, known: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``M14-M14_COM_SUP3500`` → ``("M14", "M14_COM_SUP3500")`` (split on the first ``-``, as the official
    paths do). A bare declinaison (``M57_A``, the CFU comptable part) takes its norme from ``known``
    (declinaison → norme) or from its leading ``M<digits>``. ``ValueError`` if empty or malformed."""
    value = nomenclature.strip()
    if "-" in value:
        norme, _, declinaison = value.partition("-")
    else:
        declinaison = value
        norme = (known or {}).get(value, "")
        if not norme:
            head = value.split("_", 1)[0]
            norme = head
    norme, declinaison = norme.strip(), declinaison.strip()
    if not norme or not declinaison or not norme.startswith("M") or "/" in value or ".." in value:
        raise ValueError(f"nomenclature illisible : {nomenclature!r}")
    return norme, declinaison


def declinaisons_parentes(norme: str, declinaison: str) -> list[str]:
    """``M14_COM_500_3500`` → ``[M14_COM_500, M14_COM, M14]``; ``M43_D`` (norme M4) → ``[M43, M4]``."""
    parents: list[str] = []
    current = declinaison
    while "_" in current:
        current = current.rsplit("_", 1)[0]
        parents.append(current)
    if norme not in parents and norme != declinaison:
        parents.append(norme)
    return parents


@dataclass
class _NormeFile:
    chapitres: list[Chapitre]
    comptes: list[Compte]
    fonctions: list[Fonction]
    plans: dict[str, dict[str, Any]]  # "{exercice}/{declinaison}" → id lists per kind, or {"alias": key}


@dataclass
class PlansDeComptes:
    """Every shipped plan, keyed by ``(exercice, declinaison)``; norme files are decoded on first use."""

    data_dir: Path = DATA_DIR
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _normes: dict[str, _NormeFile] = field(default_factory=dict, repr=False)
    _plans: dict[tuple[int, str], PlanDeComptes] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------------ index
    @cached_property
    def index(self) -> dict[str, Any]:
        """``index.json``: format, sources (pinned sha256), files (sha256), plans (key → norme)."""
        try:
            data = json.loads((self.data_dir / INDEX_FILE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PlanDataError(f"index des plans de comptes illisible : {exc}") from exc
        if data.get("format") != DATA_FORMAT:
            raise PlanDataError(f"format des plans de comptes {data.get('format')!r} ≠ {DATA_FORMAT}")
        return data

    @cached_property
    def _keys(self) -> dict[tuple[int, str], str]:
        """(exercice, declinaison) → norme."""
        keys: dict[tuple[int, str], str] = {}
        for key, entry in self.index["plans"].items():
            exercice, norme, declinaison = key.split("/")
            if entry["norme"] != norme:
                raise PlanDataError(f"index incohérent pour {key}")
            keys[(int(exercice), declinaison)] = norme
        return keys

    @cached_property
    def _normes_par_declinaison(self) -> dict[str, str]:
        return {declinaison: norme for (_, declinaison), norme in self._keys.items()}

    def plan_keys(self) -> list[tuple[int, str, str]]:
        """Shipped plans as ``(exercice, norme, declinaison)``, sorted."""
        return sorted((exercice, norme, declinaison) for (exercice, declinaison), norme in self._keys.items())

    def exercices(self) -> list[int]:
        return sorted({exercice for exercice, _ in self._keys})

    def has(self, exercice: int, declinaison: str) -> bool:
        return (exercice, declinaison) in self._keys

    # ------------------------------------------------------------------------ loading
    def _norme(self, norme: str) -> _NormeFile:
        loaded = self._normes.get(norme)
        if loaded is not None:
            return loaded
        name = norme_file_name(norme)
        expected = self.index["files"].get(name, {}).get("sha256")
        try:
            raw = (self.data_dir / name).read_bytes()
        except OSError as exc:
            raise PlanDataError(f"{name} illisible : {exc}") from exc
        if not expected or hashlib.sha256(raw).hexdigest() != expected:
            raise PlanDataError(f"{name} ne correspond pas à la somme sha256 de {INDEX_FILE_NAME}")
        try:
            data = json.loads(lzma.decompress(raw))
            loaded = _NormeFile(
                chapitres=[Chapitre(*row) for row in data["chapitres"]],
                comptes=[Compte(*row) for row in data["comptes"]],
                fonctions=[Fonction(*row) for row in data["fonctions"]],
                plans=data["plans"],
            )
        except (lzma.LZMAError, ValueError, KeyError, TypeError) as exc:
            raise PlanDataError(f"{name} illisible : {exc}") from exc
        self._normes[norme] = loaded
        return loaded

    def plan(self, exercice: int, declinaison: str) -> PlanDeComptes | None:
        """The exact shipped plan, or ``None`` (no fallback here: see :meth:`resolve`)."""
        key = (exercice, declinaison)
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        norme = self._keys.get(key)
        if norme is None:
            return None
        with self._lock:
            cached = self._plans.get(key)
            if cached is not None:
                return cached
            tables = self._norme(norme)
            entry = tables.plans[f"{exercice}/{declinaison}"]
            if "alias" in entry:  # identical to another exercice's plan: stored once
                entry = tables.plans[entry["alias"]]
            ids = {kind: accumulate(entry[kind]) for kind in ("chapitres", "comptes", "fonctions")}
            chapitres = [tables.chapitres[i] for i in ids["chapitres"]]
            # nature chapters win over functional ones with the same code
            chapitre_map = {c.code: c for c in chapitres if c.presentation == "fonction"}
            chapitre_map.update({c.code: c for c in chapitres if c.presentation == "nature"})
            plan = PlanDeComptes(
                exercice=exercice,
                norme=norme,
                declinaison=declinaison,
                chapitres=chapitre_map,
                comptes={c.code: c for c in (tables.comptes[i] for i in ids["comptes"])},
                fonctions={f.code: f for f in (tables.fonctions[i] for i in ids["fonctions"])},
            )
            self._plans[key] = plan
            return plan

    # ------------------------------------------------------------------------ resolution
    def parse_nomenclature(self, nomenclature: str) -> tuple[str, str]:
        return parse_nomenclature(nomenclature, self._normes_par_declinaison)

    def _candidates(self, exercice: int, norme: str, declinaison: str) -> Iterator[tuple[int, str, Repli]]:
        years = self.exercices()
        earlier = [y for y in reversed(years) if y < exercice]
        later = [y for y in years if y > exercice]
        for year in earlier:
            yield year, declinaison, Repli.EXERCICE_ANTERIEUR
        for parent in declinaisons_parentes(norme, declinaison):
            for year in (exercice, *earlier):
                yield year, parent, Repli.DECLINAISON_PARENTE
        for year in later:
            yield year, declinaison, Repli.EXERCICE_POSTERIEUR
        for parent in declinaisons_parentes(norme, declinaison):
            for year in later:
                yield year, parent, Repli.EXERCICE_POSTERIEUR

    def resolve(self, exercice: int, nomenclature: str) -> PlanResolution:
        """The plan for a document: exact, else the first fallback in this order — same declinaison at
        the nearest previous exercice; parent declinaison (same exercice, then earlier); nearest later
        exercice. Raises :class:`PlanIntrouvable` when the norme/declinaison is unknown altogether."""
        try:
            norme, declinaison = self.parse_nomenclature(nomenclature)
        except ValueError as exc:
            raise PlanIntrouvable(exercice, nomenclature, str(exc)) from exc
        exact = self.plan(exercice, declinaison)
        if exact is not None and exact.norme == norme:
            return PlanResolution(exercice, nomenclature, exact)
        for year, candidate, repli in self._candidates(exercice, norme, declinaison):
            if self._keys.get((year, candidate)) != norme:
                continue
            plan = self.plan(year, candidate)
            if plan is not None:
                return PlanResolution(exercice, nomenclature, plan, repli)
        raise PlanIntrouvable(exercice, nomenclature, f"norme {norme}, déclinaison {declinaison} inconnues")

    def autres_exercices(self, plan: PlanDeComptes) -> Iterator[PlanDeComptes]:
        """The same declinaison in other exercices, nearest first (earlier before later at equal
        distance): where an account missing from a year's plan is looked for before its parent."""
        years = [y for y in self.exercices() if y != plan.exercice and self.has(y, plan.declinaison)]
        for year in sorted(years, key=lambda y: (abs(y - plan.exercice), y > plan.exercice)):
            other = self.plan(year, plan.declinaison)
            if other is not None and other.norme == plan.norme:
                yield other


_default_lock = threading.Lock()
_default: PlansDeComptes | None = None


def plans_de_comptes() -> PlansDeComptes:
    """The shipped plans, one registry per process (Lambda containers keep it across invocations)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PlansDeComptes()
        return _default
