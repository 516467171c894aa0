"""ACTES classification (nomenclature « matières ») — parsing Pastell codes and SCDL rendering.

Pastell hands us the classification as free text (``"1.1 Marchés publics"``, ``"2.1"``, ``"8.5.1 …"``):
SCDL only wants the level-2 code (``DELIB_MATIERE_CODE`` must match ``^\\d\\.\\d{1,2}$``) and a
``DELIB_MATIERE_NOM`` built from the official table, never the raw Pastell label (prefectures publish
wording variants, and the reference deployment's capitalised/unaccented labels are not conformant).
The renderings below follow docs/reference scdl.md §1.4–1.5: lower case, accents kept, no commas,
no parentheses and no slash inside the level-2 part (a ``/`` there would break the
``nomenclature-actes-value`` check).
"""

from __future__ import annotations

import re
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict

# Official level-1 labels (the 9 prefixes accepted by Validata's nomenclature check).
NIVEAU1: dict[str, str] = {
    "1": "Commande publique",
    "2": "Urbanisme",
    "3": "Domaine et patrimoine",
    "4": "Fonction publique",
    "5": "Institutions et vie politique",
    "6": "Libertés publiques et pouvoirs de police",
    "7": "Finances locales",
    "8": "Domaines de compétences par thèmes",
    "9": "Autres domaines de compétences",
}

# Official level-2 labels, as commonly reproduced (scdl.md §1.5, column « Niveau 2 »).
NIVEAU2: dict[str, str] = {
    "1.1": "Marchés publics",
    "1.2": "Délégation de service public",
    "1.3": "Conventions de mandat",
    "1.4": "Autres types de contrats",
    "1.5": "Transactions / protocole d'accord transactionnel",
    "1.6": "Actes relatifs à la maîtrise d'œuvre",
    "1.7": "Actes spéciaux et divers",
    "2.1": "Documents d'urbanisme",
    "2.2": "Actes relatifs au droit d'occupation ou d'utilisation des sols",
    "2.3": "Droit de préemption urbain",
    "3.1": "Acquisitions",
    "3.2": "Aliénations",
    "3.3": "Locations",
    "3.4": "Limites territoriales",
    "3.5": "(Autres) actes de gestion du domaine public",
    "3.6": "(Autres) actes de gestion du domaine privé",
    "4.1": "Personnels titulaires et stagiaires de la F.P.T.",
    "4.2": "Personnels contractuels",
    "4.3": "Fonction publique hospitalière",
    "4.4": "Autres catégories de personnels",
    "4.5": "Régime indemnitaire",
    "5.1": "Election exécutif",
    "5.2": "Fonctionnement des assemblées",
    "5.3": "Désignation de représentants",
    "5.4": "Délégation de fonctions",
    "5.5": "Délégation de signature",
    "5.6": "Exercice des mandats locaux",
    "5.7": "Intercommunalité",
    "5.8": "Décision d'ester en justice",
    "6.1": "Police municipale",
    "6.2": "Pouvoirs du président du conseil général",
    "6.3": "Pouvoirs du président du conseil régional",
    "6.4": "Autres actes réglementaires",
    "6.5": "Actes pris au nom de l'État (et soumis au contrôle hiérarchique)",
    "7.1": "Décisions budgétaires (B.P., D.M., C.A. …)",
    "7.2": "Fiscalité",
    "7.3": "Emprunts",
    "7.4": "Interventions économiques (en faveur des entreprises)",
    "7.5": "Subventions",
    "7.6": "Contributions budgétaires",
    "7.7": "Avances",
    "7.8": "Fonds de concours",
    "7.9": "Prise de participation (SEM, etc.)",
    "7.10": "Divers",
    "8.1": "Enseignement",
    "8.2": "Aide sociale",
    "8.3": "Voirie",
    "8.4": "Aménagement du territoire",
    "8.5": "Politique de la ville-habitat-logement",
    "8.6": "Emploi-formation professionnelle",
    "8.7": "Transports",
    "8.8": "Environnement",
    "8.9": "Culture",
    "9.1": "Autres domaines de compétences des communes",
    "9.2": "Autres domaines de compétences des départements",
    "9.3": "Autres domaines de compétences des régions",
    "9.4": "Vœux et motions",
}

# SCDL renderings of the level-2 labels (scdl.md §1.5 last column): the project convention for labels
# with parentheses, commas or a slash (drop example lists, keep qualifying words without brackets).
# Written out rather than derived because no mechanical rule yields « élection » from « Election ».
_SCDL_NIVEAU2: dict[str, str] = {
    "1.1": "marchés publics",
    "1.2": "délégation de service public",
    "1.3": "conventions de mandat",
    "1.4": "autres types de contrats",
    "1.5": "transactions protocole d'accord transactionnel",
    "1.6": "actes relatifs à la maîtrise d'œuvre",
    "1.7": "actes spéciaux et divers",
    "2.1": "documents d'urbanisme",
    "2.2": "actes relatifs au droit d'occupation ou d'utilisation des sols",
    "2.3": "droit de préemption urbain",
    "3.1": "acquisitions",
    "3.2": "aliénations",
    "3.3": "locations",
    "3.4": "limites territoriales",
    "3.5": "autres actes de gestion du domaine public",
    "3.6": "autres actes de gestion du domaine privé",
    "4.1": "personnels titulaires et stagiaires de la f.p.t.",
    "4.2": "personnels contractuels",
    "4.3": "fonction publique hospitalière",
    "4.4": "autres catégories de personnels",
    "4.5": "régime indemnitaire",
    "5.1": "élection exécutif",
    "5.2": "fonctionnement des assemblées",
    "5.3": "désignation de représentants",
    "5.4": "délégation de fonctions",
    "5.5": "délégation de signature",
    "5.6": "exercice des mandats locaux",
    "5.7": "intercommunalité",
    "5.8": "décision d'ester en justice",
    "6.1": "police municipale",
    "6.2": "pouvoirs du président du conseil général",
    "6.3": "pouvoirs du président du conseil régional",
    "6.4": "autres actes réglementaires",
    "6.5": "actes pris au nom de l'état et soumis au contrôle hiérarchique",
    "7.1": "décisions budgétaires",
    "7.2": "fiscalité",
    "7.3": "emprunts",
    "7.4": "interventions économiques en faveur des entreprises",
    "7.5": "subventions",
    "7.6": "contributions budgétaires",
    "7.7": "avances",
    "7.8": "fonds de concours",
    "7.9": "prise de participation",
    "7.10": "divers",
    "8.1": "enseignement",
    "8.2": "aide sociale",
    "8.3": "voirie",
    "8.4": "aménagement du territoire",
    "8.5": "politique de la ville-habitat-logement",
    "8.6": "emploi-formation professionnelle",
    "8.7": "transports",
    "8.8": "environnement",
    "8.9": "culture",
    "9.1": "autres domaines de compétences des communes",
    "9.2": "autres domaines de compétences des départements",
    "9.3": "autres domaines de compétences des régions",
    "9.4": "vœux et motions",
}

#: Read-only view of the SCDL level-2 renderings, for callers that want the whole table.
SCDL_NIVEAU2: MappingProxyType[str, str] = MappingProxyType(_SCDL_NIVEAU2)

# "7.5", "7.5.0", "1.1.2 Marchés…", "7.10-Divers": a dotted code, then an optional label after spaces or
# a dash. Anything else (letters first, a lone level, "7..5") is rejected.
_CODE_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2})+)(?:(?:\s+|\s*[-–—]\s*)(.*))?$", re.DOTALL)


class Classification(BaseModel):
    """An ACTES classification as received, with its level-2 code (the only level SCDL uses)."""

    model_config = ConfigDict(frozen=True)

    code: str
    niveau2: str
    libelle: str | None = None


def parse_classification(raw: str | None) -> Classification | None:
    """Parse a Pastell ``classification`` value; ``None`` when empty.

    Raises ``ValueError`` (French message) for text that is not an ACTES code or whose level-2 code is
    not in the nomenclature: the caller must know the act cannot yield a valid SCDL row, not get a guess.
    """
    if raw is None:
        return None
    text = raw.strip()
    if not text:
        return None
    match = _CODE_RE.match(text)
    if match is None:
        raise ValueError(
            f"classification ACTES illisible : {raw!r} (attendu un code comme « 7.5 » ou « 1.1.2 »)"
        )
    code, libelle = match.group(1), match.group(2)
    parts = code.split(".")
    niveau2 = f"{int(parts[0])}.{int(parts[1])}"
    if parts[0] not in NIVEAU1 and str(int(parts[0])) not in NIVEAU1:
        raise ValueError(f"classification ACTES inconnue : le niveau 1 « {parts[0]} » n'existe pas ({raw!r})")
    if niveau2 not in NIVEAU2:
        raise ValueError(f"classification ACTES inconnue : le code « {niveau2} » n'existe pas ({raw!r})")
    libelle = " ".join(libelle.split()) if libelle else None
    return Classification(code=code, niveau2=niveau2, libelle=libelle or None)


def matiere_nom(niveau2: str) -> str:
    """``DELIB_MATIERE_NOM`` for a level-2 code: ``"7.5"`` → ``"finances locales/subventions"``.

    Raises ``KeyError`` for a code outside the nomenclature (never invent a label).
    """
    code = niveau2.strip()
    if code not in _SCDL_NIVEAU2:
        raise KeyError(f"code de matière ACTES inconnu : {niveau2!r}")
    return f"{NIVEAU1[code.split('.', 1)[0]].lower()}/{_SCDL_NIVEAU2[code]}"


def matiere_code(classification: str | None) -> str | None:
    """``DELIB_MATIERE_CODE`` for a raw classification (``"1.1.2 …"`` → ``"1.1"``), ``None`` when empty."""
    parsed = parse_classification(classification)
    return parsed.niveau2 if parsed else None
