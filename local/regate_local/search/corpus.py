"""Synthetic French act texts: objets and document bodies, deterministic by seed (tests, demo, bench).

Plain text only (fast: a million objets in seconds); :mod:`regate_local.search.pdfs` turns bodies into
text-layer or scanned PDFs. The vocabulary is the one of French municipal acts, with accents, ``œ`` and
typographic apostrophes, so the analysis (elision, folding, stemming) is exercised.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

ACTIONS = (
    "Approbation",
    "Adoption",
    "Modification",
    "Attribution",
    "Renouvellement",
    "Création",
    "Fixation",
    "Autorisation de signer",
    "Désignation des représentants pour",
    "Révision",
    "Convention relative à",
    "Demande de subvention pour",
)
SUJETS = (
    "du règlement intérieur de la cantine scolaire",
    "des tarifs de la restauration scolaire",
    "du marché public de travaux de voirie",
    "de la convention avec le syndicat départemental d’énergie",
    "du plan local d’urbanisme intercommunal",
    "de la subvention à l’association sportive",
    "du budget primitif de l’exercice",
    "de la décision modificative n° 2",
    "de l’aménagement du centre-bourg",
    "de la rénovation énergétique de l’école élémentaire",
    "des œuvres sociales du personnel communal",
    "du tableau des effectifs",
    "de l’éclairage public et de la sobriété énergétique",
    "de la redevance d’occupation du domaine public",
    "du contrat de délégation du service public de l’eau",
    "de la dénomination des voies du lotissement",
    "de la médiathèque intercommunale",
    "du programme local de l’habitat",
    "de l’accueil de loisirs sans hébergement",
    "des travaux d’assainissement collectif",
    "de la vidéoprotection des bâtiments communaux",
    "du schéma de mutualisation des services",
    "de la piscine communautaire",
    "de la zone d’activités économiques",
)
LIEUX = (
    "Ille-et-Vilaine",
    "Côtes-d’Armor",
    "Finistère",
    "Morbihan",
    "Saint-Brieuc",
    "Quimper",
    "Vitré",
    "Lannion",
    "Pontivy",
    "Dinan",
)
PHRASES = (
    "Le conseil municipal, après en avoir délibéré, approuve à l’unanimité les dispositions présentées.",
    "Vu le code général des collectivités territoriales, et notamment ses articles L. 2121-29 et suivants ;",
    "Considérant la nécessité d’assurer la continuité du service public et la sécurité des usagers ;",
    "Monsieur le Maire expose que les crédits nécessaires sont inscrits au budget de l’exercice en cours.",
    "La commission des finances, réunie préalablement, a émis un avis favorable sur ce projet.",
    "Les travaux seront réalisés par tranches successives, selon le calendrier annexé à la présente.",
    "Le montant total de l’opération est estimé à {montant} euros hors taxes, études comprises.",
    "Il est proposé de solliciter le concours financier de l’État, de la Région et du Département.",
    "La présente délibération peut faire l’objet d’un recours devant le tribunal administratif de Rennes.",
    "Les élèves des écoles maternelles et élémentaires bénéficieront d’un accueil périscolaire renforcé.",
    "L’association s’engage à fournir chaque année un bilan de ses activités et ses comptes certifiés.",
    "Le règlement précise les conditions d’inscription, de facturation et de discipline des usagers.",
    "Les œuvres d’art acquises seront exposées dans le hall de la mairie et à la médiathèque.",
    "La société retenue a présenté l’offre économiquement la plus avantageuse au regard des critères.",
    "Le syndicat assurera la maîtrise d’ouvrage déléguée des travaux d’enfouissement des réseaux.",
    "Les tarifs applicables à compter du 1er septembre figurent dans le tableau ci-après.",
    "Le Maire est autorisé à signer tout document se rapportant à cette affaire.",
    "Après échange, l’assemblée décide de reporter l’examen de ce point à une séance ultérieure.",
    "Le projet s’inscrit dans la stratégie de transition écologique et de sobriété du territoire.",
    "Les agents concernés seront informés des nouvelles modalités d’organisation du temps de travail.",
)
#: Rare words planted by callers to find one document and only it.
MARQUEURS = (
    "xylophonique",
    "ornithorynque",
    "quetzalcoatl",
    "zygomatique",
    "kaléidoscope",
    "hippocampe",
)


@dataclass
class ActeSynthetique:
    """One act with its objet and the bodies of its documents (main act first, then annexes)."""

    numero: str
    siren: str
    date_acte: date
    nature: int
    matiere: str
    objet: str
    documents: list[list[str]] = field(default_factory=list)


def objet(rnd: random.Random) -> str:
    sujet = rnd.choice(SUJETS)
    text = f"{rnd.choice(ACTIONS)} {sujet}"
    if rnd.random() < 0.3:
        text += f" — {rnd.choice(LIEUX)}"
    if rnd.random() < 0.2:
        text += f" ({rnd.randrange(2015, 2027)})"
    return text


def paragraphes(rnd: random.Random, n: int) -> list[str]:
    """``n`` paragraphs of 2-5 sentences (about 60 words each)."""
    out = []
    for _ in range(n):
        sentences = [
            rnd.choice(PHRASES).format(montant=f"{rnd.randrange(5, 900) * 1000:,}".replace(",", " "))
            for _ in range(rnd.randrange(2, 6))
        ]
        out.append(" ".join(sentences))
    return out


def corps_acte(rnd: random.Random, acte: ActeSynthetique, n: int = 4) -> list[str]:
    head = [
        f"Délibération n° {acte.numero} — séance du {acte.date_acte.strftime('%d/%m/%Y')}",
        f"Objet : {acte.objet}",
    ]
    return head + paragraphes(rnd, n)


def actes(
    count: int,
    seed: int = 0,
    sirens: int = 1000,
    documents_every: int = 10,
    start: int = 0,
    annex_ratio: float = 0.33,
) -> Iterator[ActeSynthetique]:
    """``count`` acts over ``sirens`` collectivités; every ``documents_every``-th act carries a main
    document and (with probability ``annex_ratio``) an annex. Act ``i`` depends only on ``(seed, i)``."""
    base = date(2020, 1, 1)
    for i in range(start, start + count):
        rnd = random.Random(f"{seed}:{i}")
        siren = f"2{(i % sirens):08d}"
        matiere_a = rnd.randrange(1, 10)
        acte = ActeSynthetique(
            numero=f"{2020 + i % 7}-{i:07d}",
            siren=siren,
            date_acte=base + timedelta(days=rnd.randrange(0, 7 * 365)),
            nature=rnd.choice((1, 1, 1, 2, 5, 4)),
            matiere=f"{matiere_a}.{rnd.randrange(1, 8)}",
            objet=objet(rnd),
        )
        if documents_every and i % documents_every == 0:
            acte.documents.append(corps_acte(rnd, acte, rnd.randrange(2, 8)))
            if rnd.random() < annex_ratio:
                acte.documents.append(paragraphes(rnd, rnd.randrange(1, 5)))
        yield acte
