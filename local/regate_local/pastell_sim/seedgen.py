"""Generator of the default seed (``seed/default.json``): ``python -m regate_local.pastell_sim.seedgen``.

The shipped JSON is the source of truth (operators edit it); this script only documents how it was built
and lets us rebuild it deterministically (fixed RNG seed, no clock). Real Breton SIRENs come from
``@etalab/decoupage-administratif`` 6.0.0 (communes.json, epci.json); Mégalis Bretagne from BANATIC.
"""

from __future__ import annotations

import base64
import json
import random
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from regate_local.pastell_sim.flux import MAIN_PIECE, STUDIO_FLUX

RNG_SEED = 35

ENTITIES: list[dict[str, Any]] = [
    {
        "id_e": "1",
        "denomination": "Mégalis Bretagne",
        "siren": "253514491",
        "entite_mere": "0",
        "departement": "35",
        "date_inscription": "2017-03-01 09:00:00",
    },
    {
        "id_e": "2",
        "denomination": "Centre de gestion de la fonction publique territoriale d'Ille-et-Vilaine",
        "siren": "",
        "type": "centre_de_gestion",
        "entite_mere": "1",
        "departement": "35",
        "date_inscription": "2017-03-02 10:15:00",
    },
    {
        "id_e": "12",
        "denomination": "Rennes Métropole",
        "siren": "243500139",
        "entite_mere": "1",
        "centre_de_gestion": "2",
        "departement": "35",
        "date_inscription": "2017-06-12 14:30:00",
    },
    {
        "id_e": "13",
        "denomination": "Ville de Rennes",
        "siren": "213502388",
        "entite_mere": "12",
        "centre_de_gestion": "2",
        "departement": "35",
        "date_inscription": "2017-06-12 14:42:00",
    },
    {
        "id_e": "14",
        "denomination": "Commune de Bruz",
        "siren": "213500473",
        "entite_mere": "12",
        "centre_de_gestion": "2",
        "departement": "35",
        "date_inscription": "2018-01-22 11:05:00",
    },
    {
        "id_e": "21",
        "denomination": "Brest Métropole",
        "siren": "242900314",
        "entite_mere": "1",
        "departement": "29",
        "date_inscription": "2017-09-04 09:20:00",
    },
    {
        "id_e": "22",
        "denomination": "Commune de Plouzané",
        "siren": "212902126",
        "entite_mere": "21",
        "departement": "29",
        "date_inscription": "2019-02-11 16:00:00",
    },
    {
        "id_e": "31",
        "denomination": "Commune de Bédée",
        "siren": "213500234",
        "entite_mere": "1",
        "centre_de_gestion": "2",
        "departement": "35",
        "date_inscription": "2020-05-18 08:45:00",
    },
    {
        "id_e": "32",
        "denomination": "Commune de Saint-Gonlay",
        "siren": "213502776",
        "entite_mere": "1",
        "centre_de_gestion": "2",
        "departement": "35",
        "is_active": False,
        "date_inscription": "2018-10-01 09:30:00",
    },
]

ACCOUNTS: list[dict[str, Any]] = [
    {
        "id_u": "1",
        "login": "regate",
        "password": "regate-demo",
        "token": "regate-demo-token",
        "nom": "Rég@te",
        "prenom": "Collecteur",
        "email": "regate@example.org",
        "roles": [{"id_e": "0", "droits": ["entite:lecture", "journal:lecture", "*:lecture", "*:edition"]}],
    },
    {
        "id_u": "2",
        "login": "lecteur",
        "password": "lecteur-demo",
        "nom": "Lecture",
        "prenom": "Seule",
        "email": "lecteur@example.org",
        "roles": [{"id_e": "0", "droits": ["entite:lecture", "journal:lecture", "*:lecture"]}],
    },
    {
        "id_u": "3",
        "login": "rennes-metropole",
        "password": "rennes-demo",
        "token": "rennes-demo-token",
        "nom": "Service",
        "prenom": "Assemblées",
        "email": "assemblees@example.org",
        "roles": [{"id_e": "12", "droits": ["entite:lecture", "journal:lecture", "*:lecture", "*:edition"]}],
    },
    {
        "id_u": "4",
        "login": "ancien-agent",
        "password": "ancien-demo",
        "nom": "Agent",
        "prenom": "Parti",
        "active": False,
        "roles": [{"id_e": "31", "droits": ["entite:lecture", "*:lecture"]}],
    },
]

# (objet template, classification); {y}/{d} are filled with the act's year / French date.
OBJETS: dict[str, list[tuple[str, str]]] = {
    "1": [
        ("Attribution de subventions aux associations sportives pour l'année {y}", "7.5 Subventions"),
        ("Tarifs de la restauration scolaire pour l'année scolaire {y}-{y1}", "7.2 Fiscalité"),
        (
            "Création d'un poste d'adjoint technique territorial à temps complet",
            "4.1 Personnel titulaires et stagiaires de la F.P.T.",
        ),
        (
            "Approbation de la modification simplifiée n°2 du plan local d'urbanisme",
            "2.1 Documents d'urbanisme",
        ),
        ("Adhésion au groupement de commandes pour la fourniture d'électricité", "1.1 Marchés publics"),
        ("Dénomination des voies du lotissement Les Jardins du Meu", "8.3 Voirie"),
        ("Garantie d'emprunt accordée à Néotoa pour la construction de 24 logements sociaux", "7.3 Emprunts"),
        ("Fixation des indemnités de fonction des élus", "5.6 Exercice des mandats locaux"),
        ("Acquisition amiable de la parcelle cadastrée AB 112 rue de la Libération", "3.1 Acquisitions"),
        ("Rapport d'orientation budgétaire {y}", "7.1 Décisions budgétaires"),
        (
            "Approbation du règlement intérieur du multi-accueil",
            "9.1 Autres domaines de compétences des communes",
        ),
        ("Modification du tableau des effectifs", "4.1 Personnel titulaires et stagiaires de la F.P.T."),
        (
            "Désignation des représentants au conseil d'administration du collège",
            "5.3 Désignation de représentants",
        ),
        ("Approbation du procès-verbal de la séance du {d}", "5.2 Fonctionnement des assemblées"),
    ],
    "2": [
        (
            "Réglementation du stationnement rue de Saint-Malo pendant les travaux de voirie",
            "6.1 Police municipale",
        ),
        (
            "Interdiction de la consommation d'alcool sur la voie publique en centre-ville",
            "6.1 Police municipale",
        ),
        ("Réglementation de la circulation à l'occasion du marché des producteurs", "6.1 Police municipale"),
        ("Horaires d'ouverture des parcs et jardins publics", "6.4 Autres actes réglementaires"),
        ("Limitation de la vitesse à 30 km/h dans l'agglomération", "6.1 Police municipale"),
    ],
    "3": [
        ("Délégation de fonction et de signature au quatrième adjoint", "5.5 Délégation de signature"),
        (
            "Permis de construire pour une maison individuelle, lieu-dit La Ville Aubert",
            "2.2 Actes relatifs au droit d'occupation ou d'utilisation des sols",
        ),
        (
            "Autorisation d'occupation temporaire du domaine public pour une terrasse",
            "3.5 Autres actes de gestion du domaine public",
        ),
        (
            "Nomination stagiaire d'un adjoint administratif territorial",
            "4.1 Personnel titulaires et stagiaires de la F.P.T.",
        ),
        (
            "Avancement d'échelon d'un rédacteur principal",
            "4.1 Personnel titulaires et stagiaires de la F.P.T.",
        ),
    ],
    "4": [
        (
            "Marché de travaux de réhabilitation de l'école élémentaire - lot 3 menuiseries extérieures",
            "1.1 Marchés publics",
        ),
        ("Convention de partenariat avec la médiathèque départementale", "1.4 Autres contrats"),
        (
            "Avenant n°1 au contrat de délégation de service public de l'eau potable",
            "1.2 Délégation de service public",
        ),
        (
            "Contrat de maintenance des installations de chauffage des bâtiments communaux",
            "1.1 Marchés publics",
        ),
    ],
    "5": [
        ("Budget primitif {y} - budget principal", "7.1 Décisions budgétaires"),
        ("Décision modificative n°1 du budget principal {y}", "7.1 Décisions budgétaires"),
        ("Compte financier unique {y0}", "7.1 Décisions budgétaires"),
        ("Affectation du résultat de l'exercice {y0}", "7.1 Décisions budgétaires"),
    ],
    "6": [
        ("Décision du président portant demande de subvention au titre de la DETR", "7.5 Subventions"),
        ("Décision du maire relative à la location d'un logement communal", "3.3 Locations"),
        ("Décision portant création d'une régie de recettes pour la piscine", "7.10 Divers"),
    ],
}
NATURE_7: list[tuple[str, str, str]] = [
    (
        "LD",
        "Liste des délibérations examinées en séance du conseil municipal du {d}",
        "5.2 Fonctionnement des assemblées",
    ),
    ("PV", "Procès-verbal de la séance du conseil municipal du {d}", "5.2 Fonctionnement des assemblées"),
    (
        "AT",
        "Arrêté temporaire de circulation pour la course cycliste des Boucles du Meu",
        "6.1 Police municipale",
    ),
    ("AP", "Arrêté permanent portant règlement du cimetière communal", "6.4 Autres actes réglementaires"),
]
ANNEXES = [
    "tableau_des_subventions.pdf",
    "plan_de_situation.pdf",
    "annexe_financiere.pdf",
    "rapport_de_presentation.pdf",
    "convention_signee.pdf",
    "etat_du_personnel.pdf",
]
PREFIX = {"1": "DEL", "2": "AR", "3": "AI", "4": "CT", "5": "BU", "6": "DEC", "7": "AU"}
STUDIO_BY_NATURE = {nature: fid for fid, (_nom, nature) in STUDIO_FLUX.items()}

# entity → (flux pool, number of acts)
PLAN: dict[str, tuple[list[str], int]] = {
    "13": (
        [
            "deliberations-studio",
            "actes-reglementaires-studio",
            "arretes-individuels-studio",
            "contrats-studio",
            "documents-budgetaires-studio",
            "autres-studio",
            "autres-studio-sans-tdt",
        ],
        22,
    ),
    "12": (["ls-actes"], 12),
    "14": (
        [
            "deliberations-studio",
            "arretes-individuels-studio",
            "documents-budgetaires-studio",
            "autres-studio-sans-tdt",
        ],
        10,
    ),
    "21": (["actes-generique"], 12),
    "22": (["actes-generique", "actes-automatique"], 8),
    "31": (["deliberations-studio", "actes-reglementaires-studio", "contrats-studio"], 8),
    "32": (["deliberations-studio"], 3),
    "1": (["deliberations-studio"], 3),
}


def _fr(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


class _Builder:
    def __init__(self) -> None:
        self.rng = random.Random(RNG_SEED)
        self.counters: dict[tuple[str, str, int], int] = {}
        self.ids: set[str] = set()
        self.docs: list[dict[str, Any]] = []
        self.pod_cycle = ["3", "1", "2", "", None]
        self.pod_index = 0

    def id_d(self, uuid: bool = False) -> str:
        while True:
            if uuid:
                raw = bytearray(self.rng.getrandbits(8) for _ in range(16))
                raw[6] = (raw[6] & 0x0F) | 0x40
                raw[8] = (raw[8] & 0x3F) | 0x80
                h = raw.hex()
                value = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            else:
                alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                value = "".join(self.rng.choice(alphabet) for _ in range(7))
            if value not in self.ids:
                self.ids.add(value)
                return value

    def numero(self, id_e: str, nature: str, year: int) -> str:
        key = (id_e, nature, year)
        self.counters[key] = self.counters.get(key, 0) + 1
        n = self.counters[key]
        if id_e in ("21", "22"):
            return f"CM_{year}_{n:03d}" if nature == "1" else f"{PREFIX[nature]}_{year}_{n:03d}"
        return f"{PREFIX[nature]}{year}_{n:03d}"

    def act_date(self) -> date:
        start = date(2024, 1, 8)
        d = start + timedelta(days=self.rng.randrange(0, 680))
        while d.weekday() >= 5:
            d += timedelta(days=1)
        return d

    def act(
        self,
        id_e: str,
        flux: str,
        *,
        nature: str | None = None,
        state: str | None = None,
        objet: str | None = None,
        classification: str | None = None,
        decision: date | None = None,
        annexes: int | None = None,
        id_d: str | None = None,
        extra: dict[str, str] | None = None,
        pod: str | bool | None = False,
        twice: bool = False,
        ar_before_decision: bool = False,
        missing_annex: bool = False,
    ) -> dict[str, Any]:
        rng = self.rng
        studio = flux in STUDIO_FLUX
        if nature is None:
            nature = STUDIO_FLUX[flux][1] if studio else rng.choice(["1", "1", "1", "2", "3", "4", "5", "6"])
        decision = decision or self.act_date()
        nad = None
        if nature == "7":
            nad, template, default_class = rng.choice(NATURE_7)
        else:
            template, default_class = rng.choice(OBJETS[nature])
        y = decision.year
        objet = objet or template.format(y=y, y1=y + 1, y0=y - 1, d=_fr(decision))
        classification = classification or default_class
        numero = self.numero(id_e, nature, y)
        if state is None:
            roll = rng.random()
            if nature == "7" or flux == "autres-studio-sans-tdt":
                state = "termine" if roll < 0.85 else "modification"
            else:
                state = (
                    "modification"
                    if roll < 0.08
                    else "send-tdt"
                    if roll < 0.16
                    else "annuler-tdt"
                    if roll < 0.22
                    else "acquiter-tdt"
                )
        n_annexes = annexes if annexes is not None else (rng.choice([0, 0, 0, 1, 1, 2]))
        annex_names = rng.sample(ANNEXES, n_annexes)
        data: dict[str, str] = {
            "acte_nature": nature,
            "numero_de_lacte": numero,
            "objet": objet,
            "date_de_lacte": decision.isoformat(),
            "classification": classification,
        }
        if nature != "7":
            data["type_piece"] = f"{1 + n_annexes} fichier(s) typé(s)"
            data["type_acte"] = MAIN_PIECE[nature]
            data["type_pj"] = json.dumps(["41_NC"] * n_annexes)
        if nad:
            data["nature_autre_detail"] = nad
        if studio:
            data["envoi_tdt_actes"] = "" if flux == "autres-studio-sans-tdt" else "checked"
            if rng.random() < 0.5:
                data["envoi_depot"] = "checked"
            if pod is False:
                value = self.pod_cycle[self.pod_index % len(self.pod_cycle)]
                self.pod_index += 1
            else:
                value = pod  # type: ignore[assignment]
            if value is not None:
                data["publication_open_data"] = value
        elif flux == "ls-actes":
            data["envoi_tdt_actes"] = "checked"
        else:
            data["envoi_tdt"] = "checked"
        files: dict[str, list[dict[str, Any]]] = {"arrete": [{"kind": "acte"}]}
        if annex_names:
            files["autre_document_attache"] = [{"kind": "annexe", "name": n} for n in annex_names]
            if missing_annex:
                files["autre_document_attache"].append(
                    {"kind": "missing", "name": "deliberation_signee_scan.pdf"}
                )

        created = datetime.combine(decision + timedelta(days=rng.randrange(0, 3)), datetime.min.time())
        created += timedelta(hours=rng.randrange(8, 17), minutes=rng.randrange(60), seconds=rng.randrange(60))
        t = created
        history: list[list[str]] = [["creation", _ts(t)]]
        t += timedelta(minutes=rng.randrange(3, 50), seconds=rng.randrange(60))
        history.append(["modification", _ts(t)])
        if state != "modification":
            t += timedelta(minutes=rng.randrange(5, 90), seconds=rng.randrange(60))
            history.append(["orientation", _ts(t)])
            if flux == "autres-studio-sans-tdt" or nature == "7":
                t += timedelta(seconds=rng.randrange(2, 30))
                history.append(["termine", _ts(t)])
            else:
                history.append(["send-tdt", _ts(t + timedelta(seconds=2))])
                data["tedetis_transaction_id"] = str(rng.randrange(4_000_000, 6_000_000))
                files["type_piece_fichier"] = [{"kind": "type-piece"}]
                if state != "send-tdt":
                    t += timedelta(
                        days=rng.randrange(0, 3), hours=rng.randrange(1, 5), minutes=rng.randrange(60)
                    )
                    history.append(["acquiter-tdt", _ts(t)])
                    date_ar = t.date()
                    if ar_before_decision:
                        data["date_de_lacte"] = (date_ar + timedelta(days=2)).isoformat()
                    data["has_bordereau"] = "1"
                    data["date_ar"] = date_ar.isoformat()
                    if not studio or rng.random() < 0.5:
                        dep = next(e["departement"] for e in ENTITIES if e["id_e"] == id_e).zfill(3)
                        siren = next(e["siren"] for e in ENTITIES if e["id_e"] == id_e)
                        short = {"1": "DE", "2": "AR", "3": "AI", "4": "CC", "5": "BF", "6": "AU"}[nature]
                        data["acte_unique_id"] = (
                            f"{dep}-{siren}-{data['date_de_lacte'].replace('-', '')}-{numero}-{short}"
                        )
                    files["aractes"] = [{"kind": "aractes"}]
                    files["bordereau"] = [{"kind": "bordereau"}]
                    files["acte_tamponne"] = [{"kind": "acte-tampon"}]
                    if annex_names:
                        files["annexes_tamponnees"] = [{"kind": "annexe-tampon"} for _ in annex_names]
                    if rng.random() < 0.4:
                        data["acte_publication_date"] = (
                            date_ar + timedelta(days=rng.randrange(0, 5))
                        ).isoformat()
                    if twice:
                        t += timedelta(hours=1, minutes=rng.randrange(60))
                        history.append(["tamponner-tdt", _ts(t)])
                        t += timedelta(days=1, minutes=rng.randrange(60))
                        history.append(["acquiter-tdt", _ts(t)])
                    if state == "annuler-tdt":
                        t += timedelta(days=rng.randrange(3, 20), hours=rng.randrange(1, 4))
                        history.append(["annulation-tdt", _ts(t)])
                        history.append(["verif-annulation-tdt", _ts(t + timedelta(minutes=30))])
                        t += timedelta(hours=2)
                        history.append(["annuler-tdt", _ts(t)])
                        data["tedetis_annulation_id"] = str(rng.randrange(6_000_000, 7_000_000))
                        data["date_ar_annulation"] = t.date().isoformat()
                    elif flux == "actes-automatique":
                        t += timedelta(minutes=rng.randrange(1, 20))
                        history.append(["prepare-ged", _ts(t)])
                        history.append(["send-ged", _ts(t + timedelta(seconds=5))])
                        history.append(["termine", _ts(t + timedelta(seconds=7))])
                    elif studio or flux == "ls-actes":
                        t += timedelta(minutes=rng.randrange(1, 20), seconds=rng.randrange(60))
                        history.append(["termine", _ts(t)])
        if extra:
            data.update(extra)
        use_uuid = flux == "ls-actes" or rng.random() < 0.08
        doc = {
            "id_d": id_d or self.id_d(uuid=use_uuid),
            "id_e": id_e,
            "type": flux,
            "data": data,
            "files": files,
            "history": history,
        }
        self.docs.append(doc)
        return doc


TOTEM_DIR = Path(__file__).parent / "seed" / "totem"
TOTEM_BUDGETS: tuple[tuple[str, date, str], ...] = (
    ("DOCBUDG-21350238800019-BP-2025.xml", date(2025, 3, 24), "Budget primitif 2025 - budget principal"),
    (
        "DOCBUDG-21350238800019-DM1-2025.xml",
        date(2025, 7, 7),
        "Décision modificative n°1 du budget principal 2025",
    ),
)


def _totem_main_file(doc: dict[str, Any], name: str) -> None:
    """The TOTEM XML as ``arrete`` (base64 of the shipped file), and no stamped copy."""
    content = base64.b64encode((TOTEM_DIR / name).read_bytes()).decode("ascii")
    doc["files"]["arrete"] = [{"kind": "base64", "name": name, "content_base64": content}]
    doc["files"].pop("acte_tamponne", None)
    doc["data"]["type_acte"] = "99_BU"


def _renumber(docs: list[dict[str, Any]]) -> None:
    """Give each register (entity, nature, year) numbers that grow with the decision date, as in real life.

    Done after generation so the RNG sequence, hence every ``id_d`` other tests rely on, stays the same.
    """
    registers: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for doc in docs:
        numero = doc["data"]["numero_de_lacte"]
        prefix = numero.rsplit("_", 1)[0]
        registers.setdefault((doc["id_e"], prefix, doc["data"]["date_de_lacte"][:4]), []).append(doc)
    for (_id_e, prefix, _year), members in registers.items():
        ordered = sorted(members, key=lambda d: (d["data"]["date_de_lacte"], d["history"][0][1]))
        for n, doc in enumerate(ordered, start=1):
            data = doc["data"]
            old = data["numero_de_lacte"]
            data["numero_de_lacte"] = f"{prefix}_{n:03d}"
            if "acte_unique_id" in data:
                data["acte_unique_id"] = data["acte_unique_id"].replace(
                    f"-{old}-", f"-{data['numero_de_lacte']}-"
                )


def build() -> dict[str, Any]:
    b = _Builder()
    for id_e, (pool, count) in PLAN.items():
        for i in range(count):
            b.act(id_e, pool[i % len(pool)])
    # The §20 cases, explicitly (each one findable by its numero/objet; see tests/unit/pastell_sim).
    b.act(
        "13",
        "deliberations-studio",
        state="acquiter-tdt",
        twice=True,
        decision=date(2024, 3, 11),
        objet="Approbation de la convention d'occupation du domaine public avec l'office de tourisme",
    )
    b.act(
        "21",
        "actes-generique",
        nature="4",
        state="acquiter-tdt",
        decision=date(2024, 5, 14),
        classification="1.1.2 Marchés publics passés selon une procédure adaptée",
        objet="Marché de fourniture de repas pour les restaurants scolaires - accord-cadre à bons de commande",  # noqa: E501
    )
    b.act(
        "14",
        "deliberations-studio",
        state="acquiter-tdt",
        decision=date(2024, 6, 17),
        ar_before_decision=True,
        objet="Vote des taux d'imposition des taxes directes locales",
    )
    b.act(
        "13",
        "deliberations-studio",
        state="acquiter-tdt",
        decision=date(2024, 6, 24),
        annexes=1,
        pod="3",
        objet="Subvention de 1 500 € à l’association « Cœur de quartier » pour la fête de la musique 🎶",
        classification="7.5 Subventions",
    )
    b.act(
        "13",
        "deliberations-studio",
        state="acquiter-tdt",
        decision=date(2024, 9, 30),
        pod="1",
        objet='Convention "Petites villes de demain", avenant n°2, avec l\'État et la Banque des territoires',
        classification="7.5",
    )
    b.act(
        "31",
        "deliberations-studio",
        state="acquiter-tdt",
        decision=date(2025, 2, 3),
        pod="2",
        objet="Œuvres sociales du personnel : adhésion au CNAS, cotisation de 212 € par agent",
        classification="7.5 Subventions",
    )
    b.act(
        "14",
        "autres-studio-sans-tdt",
        nature="7",
        state="termine",
        decision=date(2025, 3, 27),
        pod="",
        objet="Liste des délibérations examinées en séance du conseil municipal du 27/03/2025",
        extra={"nature_autre_detail": "LD"},
    )
    b.act(
        "13",
        "autres-studio",
        state="acquiter-tdt",
        decision=date(2025, 1, 20),
        pod=None,
        objet="Décision portant délégation au directeur général des services",
    )
    b.act(
        "13",
        "deliberations-studio",
        state="annuler-tdt",
        decision=date(2025, 4, 7),
        objet="Création d'une zone d'aménagement concerté sur le secteur de la Courrouze",
    )
    b.act(
        "12",
        "ls-actes",
        nature="1",
        state="modification",
        annexes=1,
        missing_annex=True,
        objet="Projet de délibération relatif au plan climat air énergie territorial",
    )
    b.act(
        "2",
        "actes-generique",
        nature="1",
        state="modification",
        objet="Tarifs des prestations du service de médecine préventive",
    )
    # TOTEM budgets (the XML is the main file; the TdT stamps PDFs only: no acte_tamponne), written by
    # ``python -m regate_local.budgets.demo_totem`` into seed/totem/ and embedded here
    for name, decision, objet in TOTEM_BUDGETS:
        doc = b.act(
            "13",
            "documents-budgetaires-studio",
            state="acquiter-tdt",
            decision=decision,
            pod="3",
            objet=objet,
            classification="7.1 Décisions budgétaires",
        )
        _totem_main_file(doc, name)
    _renumber(b.docs)
    return {
        "version": 1,
        "platform": {"version": "4.1.6", "revision": "9f3c2e1", "last_changed_date": "2025-03-18 14:05:12"},
        "accounts": ACCOUNTS,
        "entities": ENTITIES,
        "documents": b.docs,
    }


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0]) if args else Path(__file__).parent / "seed" / "default.json"
    target.write_text(json.dumps(build(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
