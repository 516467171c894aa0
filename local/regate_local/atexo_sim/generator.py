"""Deterministic synthetic contracts for the Atexo SDM simulator, with the real export's defects as knobs.

Each contract is generated once from ``(seed, buyer, month, rank)`` and knows *when it is visible*: buyers
enter
a contract in the platform some days after notifying it (``entered``, which the SDM exports as
``datePublicationDonnees``), and modifications appear as they are entered. Moving the simulator's clock thus
changes past months' answers the way a real platform does (late entries, new modifications), which is what the
capture's overlap and the normaliser's deduplication are tested against. Same seed and same clock → same
bytes.
"""

from __future__ import annotations

import copy
import json
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from typing import Any

from stdnum import luhn

from regate.flux.marches.identifiers import siret_with_nic

#: Markers replaced in the serialised text (defects JSON cannot express as values).
BACKSLASH_MARK = "\u2063BS\u2063"


@dataclass(frozen=True)
class Buyer:
    siren: str
    nom: str
    siret: str
    siret_fictif: bool
    departement: str
    lieu: dict[str, str]
    siret_source: str = "fictif : SIREN réel + NIC généré (clé de Luhn valide)"


@dataclass(frozen=True)
class Defects:
    """The real export's defects (``next-flows.md`` §B.2, §B.5.4). Rates are per contract, drawn once."""

    type_field: bool = True  # "_type": "Marché" (2.0.2-era)
    empty_arrays: bool = True  # "modifications": [], "modificationsActesSousTraitance": []
    incomplete_actes: float = 0.3  # actesSousTraitance with only id + sousTraitant
    newlines_in_objet: float = 0.2
    siren_instead_of_siret: float = 0.0
    invalid: float = 0.0  # genuinely invalid records (business rules / schema), for quarantine
    nan: float = 0.0  # tauxAvance: NaN
    stray_backslash: float = 0.0  # a lone "\" in objet (invalid JSON escape)
    bom: bool = False
    duplicates: bool = False  # an exact duplicate + the previous version of modified marchés, in the answer
    indent: int = 4


def load_buyers() -> list[Buyer]:
    data = json.loads(
        resources.files("regate_local.atexo_sim").joinpath("buyers.json").read_text(encoding="utf-8")
    )
    buyers = []
    for row in data["buyers"]:
        siret = row["siret"] or siret_with_nic(row["siren"])
        buyers.append(
            Buyer(
                row["siren"],
                row["nom"],
                siret,
                bool(row["siret_fictif"]),
                row["departement"],
                dict(row["lieu"]),
                row.get("siret_source") or Buyer.siret_source,
            )
        )
    return buyers


def fictitious_siret(rng: random.Random) -> str:
    """A SIRET passing the Luhn check, drawn at random: fictitious (may collide with a real one by chance)."""
    siren = str(rng.randrange(10**7, 10**8)) + "0"
    siren = siren[:8] + luhn.calc_check_digit(siren[:8])
    nic = f"{rng.randrange(1, 999):03d}0"
    return siren + nic + luhn.calc_check_digit(siren + nic)


_SAINTS = ("Yves", "Guénolé", "Corentin", "Samson", "Brieuc", "Malo", "Tugdual", "Pol", "Ronan", "Gildas")
_QUARTIERS = (
    "Maurepas",
    "Bellevue",
    "Kerangoff",
    "Penhars",
    "Kervénanec",
    "Cesson",
    "Recouvrance",
    "Lambézellec",
)
# (objet template, CPV, ccag, min, max, months, techniques, modalites)
_CATALOGUE: tuple[tuple[str, str, str, int, int, int, str, str], ...] = (
    (
        "Réhabilitation du groupe scolaire de {quartier} – lot {lot} : gros œuvre",
        "45214210",
        "Travaux",
        150_000,
        900_000,
        14,
        "Sans objet",
        "Tranches",
    ),
    (
        "Réfection de la toiture en ardoise de la chapelle Saint-{saint}",
        "45261210",
        "Travaux",
        40_000,
        220_000,
        6,
        "Sans objet",
        "Sans objet",
    ),
    (
        "Menuiseries extérieures de la médiathèque – lot {lot}",
        "45421000",
        "Travaux",
        45_000,
        180_000,
        5,
        "Sans objet",
        "Sans objet",
    ),
    (
        "Aménagement d'une voie verte entre le bourg et {quartier}",
        "45233161",
        "Travaux",
        90_000,
        1_200_000,
        10,
        "Sans objet",
        "Tranches",
    ),
    (
        "Fourniture de denrées alimentaires pour la restauration scolaire – lot {lot} : produits laitiers",
        "15500000",
        "Fournitures courantes et services",
        40_000,
        400_000,
        48,
        "Accord-cadre",
        "Bons de commande",
    ),
    (
        "Fourniture de fruits et légumes issus de l'agriculture biologique – lot {lot}",
        "03221000",
        "Fournitures courantes et services",
        40_000,
        250_000,
        48,
        "Accord-cadre",
        "Bons de commande",
    ),
    (
        "Acquisition de véhicules utilitaires électriques",
        "34144900",
        "Fournitures courantes et services",
        60_000,
        500_000,
        12,
        "Sans objet",
        "Sans objet",
    ),
    (
        "Entretien des espaces verts du secteur {quartier}",
        "77310000",
        "Fournitures courantes et services",
        40_000,
        300_000,
        36,
        "Accord-cadre",
        "Bons de commande",
    ),
    (
        "Nettoyage des locaux administratifs et de l'hôtel de ville",
        "90910000",
        "Fournitures courantes et services",
        80_000,
        600_000,
        48,
        "Sans objet",
        "Sans objet",
    ),
    (
        "Maîtrise d'œuvre pour la construction d'une salle multisports",
        "71000000",
        "Maitrise d'œuvre",
        50_000,
        400_000,
        30,
        "Sans objet",
        "Tranches",
    ),
    (
        "Transport scolaire des élèves des écoles publiques",
        "60130000",
        "Fournitures courantes et services",
        100_000,
        900_000,
        48,
        "Accord-cadre",
        "Bons de commande",
    ),
    (
        "Maintenance des installations de chauffage, ventilation et climatisation",
        "50720000",
        "Fournitures courantes et services",
        40_000,
        350_000,
        36,
        "Accord-cadre",
        "Bons de commande",
    ),
    (
        "Prestations d'assistance à maîtrise d'ouvrage pour le programme local de l'habitat",
        "71241000",
        "Prestations intellectuelles",
        40_000,
        150_000,
        18,
        "Sans objet",
        "Sans objet",
    ),
    (
        "Renouvellement du parc informatique des écoles – lot {lot}",
        "30213000",
        "Techniques de l'information et de la communication",
        40_000,
        300_000,
        24,
        "Accord-cadre",
        "Bons de commande",
    ),
)
_CONCESSIONS = (
    (
        "Délégation du service public de l'eau potable",
        "Délégation de service public",
        2_000_000,
        30_000_000,
        144,
    ),
    ("Exploitation du camping municipal de {quartier}", "Concession de service", 200_000, 2_000_000, 84),
    ("Gestion et animation du port de plaisance", "Concession de service public", 1_000_000, 12_000_000, 180),
)
_FOOD_CPV = ("15", "03")


@dataclass
class Modification:
    ident: int
    notified: date
    entered: date
    montant: float | None
    duree: int | None


@dataclass
class Contract:
    kind: str
    buyer: Buyer
    ident: str
    notified: date
    entered: date
    fields: dict[str, Any]
    modifications: list[Modification] = field(default_factory=list)
    acte: dict[str, Any] | None = None
    acte_incomplete: bool = False
    defects: dict[str, bool] = field(default_factory=dict)
    invalid: str | None = None

    def visible(self, today: date) -> bool:
        return self.entered <= today

    def export(self, today: date, options: Defects, upto: int | None = None) -> dict[str, Any]:
        """The record as the SDM exports it on ``today`` (``upto`` limits modifications: older versions)."""
        mods = [m for m in self.modifications if m.entered <= today][: upto if upto is not None else None]
        buyer_id = self.buyer.siren if self.defects.get("siren") else self.buyer.siret
        if self.kind == "marche":
            record: dict[str, Any] = {"id": self.ident}
            if options.type_field:
                record["_type"] = "Marché"
            record["acheteur"] = {"id": buyer_id}
            record.update(copy.deepcopy(self.fields))
            record["dateNotification"] = self.notified.isoformat()
            record["datePublicationDonnees"] = self.entered.isoformat()
            if self.acte is not None:
                acte = dict(self.acte)
                if self.acte_incomplete:
                    acte = {"id": acte["id"], "sousTraitant": acte["sousTraitant"]}
                record["actesSousTraitance"] = [{"acteSousTraitance": acte}]
            if options.empty_arrays or self.acte is not None:
                record["modificationsActesSousTraitance"] = []
            if mods or options.empty_arrays:
                record["modifications"] = [{"modification": _mod(m, "marche")} for m in mods]
        else:
            record = {"id": self.ident, "autoriteConcedante": {"id": buyer_id}}
            record.update(copy.deepcopy(self.fields))
            record["dateSignature"] = self.notified.isoformat()
            record["datePublicationDonnees"] = self.entered.isoformat()
            record["dateDebutExecution"] = (self.notified + timedelta(days=30)).isoformat()
            if mods:
                record["modifications"] = [{"modification": _mod(m, "contrat-concession")} for m in mods]
            elif options.empty_arrays:
                record["modifications"] = []
        if self.defects.get("nan") and "tauxAvance" in record:
            record["tauxAvance"] = float("nan")
        _apply_invalid(record, self.invalid)
        return record


def _mod(m: Modification, kind: str) -> dict[str, Any]:
    if kind == "marche":
        out: dict[str, Any] = {"id": m.ident}
        if m.duree is not None:
            out["dureeMois"] = m.duree
        if m.montant is not None:
            out["montant"] = m.montant
        out["dateNotificationModification"] = m.notified.isoformat()
        out["datePublicationDonneesModification"] = m.entered.isoformat()
        return out
    out = {
        "id": m.ident,
        "dateSignatureModification": m.notified.isoformat(),
        "datePublicationDonneesModification": m.entered.isoformat(),
    }
    if m.duree is not None:
        out["dureeMois"] = m.duree
    if m.montant is not None:
        out["valeurGlobale"] = m.montant
    return out


INVALID_KINDS = ("origine", "date_texte", "titulaire_siret", "considerations", "lieu_absent")


def _apply_invalid(record: dict[str, Any], invalid: str | None) -> None:
    if invalid == "origine" and record.get("acheteur"):
        record["origineUE"], record["origineFrance"] = 0.2, 0.5
    elif invalid == "date_texte":
        key = "dateNotification" if "dateNotification" in record else "dateSignature"
        record[key] = f"le {record[key]} !"
    elif invalid == "titulaire_siret":
        holders = record.get("titulaires") or record.get("concessionnaires") or []
        if holders:
            inner = next(iter(holders[0].values()))
            inner["id"] = inner["id"][:-1] + str((int(inner["id"][-1]) + 1) % 10)
    elif invalid == "considerations":
        record["considerationsSociales"] = {
            "considerationSociale": ["Pas de considération sociale", "Clause sociale"]
        }
    elif invalid == "lieu_absent" and "lieuExecution" in record:
        del record["lieuExecution"]


def _prefix(buyer: Buyer) -> str:
    letters = "".join(c for c in buyer.nom.upper() if c.isalpha() and c.isascii())
    return (letters[:2] + letters[-1:]).ljust(3, "X")


def generate(
    buyers: list[Buyer], start: date, end: date, seed: int, per_month: int, options: Defects
) -> list[Contract]:
    """Every contract notified from ``start`` to ``end`` (a few per buyer and month, deterministic)."""
    holders_rng = random.Random(f"{seed}:titulaires")
    pool = [fictitious_siret(holders_rng) for _ in range(60)]
    contracts: list[Contract] = []
    for buyer in buyers:
        year, month = start.year, start.month
        while (year, month) <= (end.year, end.month):
            for rank in range(per_month):
                rng = random.Random(f"{seed}:{buyer.siren}:{year}:{month}:{rank}")
                day = rng.randint(1, 28)
                notified = date(year, month, day)
                if notified < start or notified > end:
                    continue
                if rank == per_month - 1 and rng.random() < 0.15:
                    contracts.append(_concession(buyer, notified, rng, pool, options, year, month, rank))
                else:
                    contracts.append(_marche(buyer, notified, rng, pool, options, year, month, rank))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return contracts


def _draw_defects(rng: random.Random, options: Defects) -> tuple[dict[str, bool], str | None]:
    defects = {
        "newline": rng.random() < options.newlines_in_objet,
        "siren": rng.random() < options.siren_instead_of_siret,
        "nan": rng.random() < options.nan,
        "backslash": rng.random() < options.stray_backslash,
    }
    invalid = rng.choice(INVALID_KINDS) if rng.random() < options.invalid else None
    return defects, invalid


def _marche(
    buyer: Buyer,
    notified: date,
    rng: random.Random,
    pool: list[str],
    options: Defects,
    year: int,
    month: int,
    rank: int,
) -> Contract:
    template, cpv, ccag, low, high, months, technique, modalite = rng.choice(_CATALOGUE)
    objet = template.format(quartier=rng.choice(_QUARTIERS), saint=rng.choice(_SAINTS), lot=rng.randint(1, 6))
    defects, invalid = _draw_defects(rng, options)
    if defects["newline"]:
        objet += "\nRelance suite à déclaration sans suite"
    if defects["backslash"]:
        objet += f" {BACKSLASH_MARK} tranche ferme"
    montant = round(rng.uniform(low, high), 2 if rng.random() < 0.5 else 0)
    procedure = (
        "Procédure adaptée"
        if montant < 221_000 or (ccag == "Travaux" and montant < 1_000_000)
        else "Appel d'offres ouvert"
    )
    letter = {"Travaux": "T", "Maitrise d'œuvre": "S", "Prestations intellectuelles": "S"}.get(ccag, "F")
    ident = f"{_prefix(buyer)}{year}{letter}{month:02d}{rank:05d}"
    titulaires = rng.sample(pool, 2 if rng.random() < 0.1 else 1)
    attribution = rng.random() < 0.3
    fields: dict[str, Any] = {
        "nature": "Marché",
        "objet": objet,
        "codeCPV": cpv,
        "techniques": {"technique": [technique]},
        "modalitesExecution": {"modaliteExecution": [modalite]},
        "marcheInnovant": False,
        "ccag": ccag,
        "offresRecues": rng.randint(1, 12),
        "attributionAvance": attribution,
        "tauxAvance": round(rng.choice((0.05, 0.1, 0.2)), 2) if attribution else 0.0,
        "typeGroupementOperateurs": "Conjoint" if len(titulaires) > 1 else "Pas de groupement",
        "sousTraitanceDeclaree": False,
        "procedure": procedure,
        "lieuExecution": dict(buyer.lieu),
        "dureeMois": months,
        "montant": float(montant),
        "typesPrix": {
            "typePrix": [rng.choice(("Définitif ferme", "Définitif révisable", "Définitif actualisable"))]
        },
        "formePrix": "Unitaire" if modalite == "Bons de commande" else "Forfaitaire",
        "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": t}} for t in titulaires],
        "considerationsSociales": {
            "considerationSociale": [rng.choice(("Pas de considération sociale", "Clause sociale"))]
        },
        "considerationsEnvironnementales": {
            "considerationEnvironnementale": [
                rng.choice(("Pas de considération environnementale", "Critère environnemental"))
            ]
        },
    }
    if cpv.startswith(_FOOD_CPV) or cpv.startswith("341"):
        fr = round(rng.uniform(0.2, 0.7), 2)
        fields["origineUE"] = round(min(1.0, fr + rng.uniform(0.1, 0.3)), 2)
        fields["origineFrance"] = fr
    entered = notified + timedelta(days=rng.randint(1, 50))
    contract = Contract("marche", buyer, ident, notified, entered, fields, defects=defects, invalid=invalid)
    if rng.random() < 0.35:
        contract.acte = {
            "id": rng.randint(50_000, 60_000),
            "sousTraitant": {"typeIdentifiant": "SIRET", "id": rng.choice(pool)},
            "dureeMois": max(1, months // 2),
            "dateNotification": (notified + timedelta(days=rng.randint(0, 20))).isoformat(),
            "datePublicationDonnees": (entered + timedelta(days=1)).isoformat(),
            "montant": round(montant * rng.uniform(0.05, 0.3), 2),
            "variationPrix": "Révisable",
        }
        contract.acte_incomplete = rng.random() < options.incomplete_actes / 0.35
        fields["sousTraitanceDeclaree"] = not contract.acte_incomplete
    if rng.random() < 0.3:
        when = notified
        for number in range(1, rng.randint(1, 3) + 1):
            when = when + timedelta(days=rng.randint(30, 200))
            contract.modifications.append(
                Modification(
                    number,
                    when,
                    when + timedelta(days=rng.randint(1, 20)),
                    round(montant * (1 + 0.05 * number), 2),
                    months + number if rng.random() < 0.5 else None,
                )
            )
    return contract


def _concession(
    buyer: Buyer,
    notified: date,
    rng: random.Random,
    pool: list[str],
    options: Defects,
    year: int,
    month: int,
    rank: int,
) -> Contract:
    template, nature, low, high, months = rng.choice(_CONCESSIONS)
    defects, invalid = _draw_defects(rng, options)
    valeur = float(round(rng.uniform(low, high), 0))
    fields: dict[str, Any] = {
        "nature": nature,
        "objet": template.format(quartier=rng.choice(_QUARTIERS)),
        "procedure": "Procédure négociée ouverte",
        "dureeMois": months,
        "valeurGlobale": valeur,
        "montantSubventionPublique": 0.0,
        "concessionnaires": [{"concessionnaire": {"typeIdentifiant": "SIRET", "id": rng.choice(pool)}}],
        "considerationsSociales": {"considerationSociale": ["Pas de considération sociale"]},
        "considerationsEnvironnementales": {"considerationEnvironnementale": ["Critère environnemental"]},
    }
    ident = f"{_prefix(buyer)}{year}C{month:02d}{rank:05d}"
    entered = notified + timedelta(days=rng.randint(1, 40))
    contract = Contract(
        "contrat-concession", buyer, ident, notified, entered, fields, defects=defects, invalid=invalid
    )
    if rng.random() < 0.3:
        when = notified + timedelta(days=rng.randint(100, 300))
        contract.modifications.append(
            Modification(1, when, when + timedelta(days=5), round(valeur * 1.1, 0), None)
        )
    return contract


def render(records: dict[str, list[dict[str, Any]]], options: Defects) -> bytes:
    """The answer body: the SDM's 2.0.x JSON (4-space indent), with text-level defects applied."""
    text = json.dumps(
        {"marches": {"marche": records["marche"], "contrat-concession": records["contrat-concession"]}},
        ensure_ascii=False,
        indent=options.indent,
        allow_nan=True,
    )
    text = text.replace(BACKSLASH_MARK, "\\")
    data = text.encode("utf-8")
    return b"\xef\xbb\xbf" + data if options.bom else data
