"""Synthetic public Parquet partitions with exactly ``PUBLIC_ACTES_SCHEMA`` — for tests, the benchmark
and rehearsals of the API before real data exists. Deterministic for a given seed.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from regate.actes.model import NATURES

MATIERES = [
    ("1.1", "commande publique/marchés publics"),
    ("2.1", "urbanisme/documents d'urbanisme"),
    ("3.1", "domaine et patrimoine/acquisitions"),
    ("4.1", "fonction publique/personnel titulaire et stagiaire de la fpt"),
    ("5.2", "institutions et vie politique/fonctionnement des assemblées"),
    ("7.1", "finances locales/décisions budgétaires"),
    ("7.5", "finances locales/subventions"),
    ("7.10", "finances locales/divers"),
    ("8.3", "domaines de compétences par thèmes/voirie"),
    ("9.1", "autres domaines de compétences/autres domaines de compétences des communes"),
]
OBJETS = [
    "Attribution de subventions aux associations sportives",
    "Budget primitif de l'exercice",
    "Tarifs municipaux de la cantine scolaire",
    "Élection du maire et des adjoints",
    "Création d'un poste d'adjoint technique",
    "Travaux de voirie rue de l'Église",
    "Modification du plan local d'urbanisme",
    "Acquisition d'une parcelle pour l'école",
    "Décision modificative n°2 du budget annexe",
    "Convention avec la communauté de communes pour la piscine",
]
NATURE_LIBELLES = NATURES


@dataclass
class Acte:
    """One public row; unspecified fields get plausible values."""

    siren: str
    delib_date: date
    delib_objet: str
    nature: int = 1
    delib_matiere_code: str | None = "7.5"
    delib_matiere_nom: str | None = "finances locales/subventions"
    documents_publics: bool = True
    document_id: str | None = None
    annexes: list[dict[str, str]] = field(default_factory=list)
    delib_id: str | None = None
    coll_nom: str | None = None
    acte_id: str | None = None
    base_url: str = "https://regate.example.org"

    def row(self) -> dict[str, Any]:
        from regate.storage import layout

        acte_id = self.acte_id or f"{self.siren}-{self.delib_date:%Y%m%d}-{self.delib_id or id(self)}"
        published = self.documents_publics
        return {
            "acte_id": acte_id,
            "siren": self.siren,
            "annee": self.delib_date.year,
            "nature": self.nature,
            "nature_libelle": NATURE_LIBELLES[self.nature],
            "nature_autre_detail": None,
            "classification_code": self.delib_matiere_code,
            "coll_nom": self.coll_nom or f"Commune {self.siren}",
            "coll_siret": f"{self.siren}00010",
            "delib_id": self.delib_id or acte_id,
            "delib_date": self.delib_date,
            "delib_matiere_code": self.delib_matiere_code,
            "delib_matiere_nom": self.delib_matiere_nom,
            "delib_objet": self.delib_objet,
            "budget_annee": None,
            "budget_nom": None,
            "pref_id": "PREF035",
            "pref_date": self.delib_date + timedelta(days=2),
            "vote_effectif": 23,
            "vote_reel": 20,
            "vote_pour": 18,
            "vote_contre": 1,
            "vote_abstention": 1,
            "delib_url": layout.public_document_url(self.base_url, self.document_id)
            if published and self.document_id
            else None,
            "decision": "publier" if published else "metadonnees",
            "documents_publics": published,
            "document_id": self.document_id if published else None,
            "annexes": json.dumps(self.annexes, ensure_ascii=False) if published and self.annexes else None,
        }


def parquet_bytes(rows: Iterable[dict[str, Any]], schema: Any = None) -> bytes:
    """Rows → Parquet bytes with the public schema (same writer settings as a plain pyarrow write)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from regate.storage.datasets import PUBLIC_ACTES_SCHEMA

    table = pa.Table.from_pylist(list(rows), schema=schema or PUBLIC_ACTES_SCHEMA)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def write_partitions(store: Any, actes: Iterable[Acte], public: bool = True) -> dict[tuple[str, int], int]:
    """Group acts by (siren, year) and write one ``data.parquet`` per partition (replacing it)."""
    from regate.storage import layout

    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for acte in actes:
        row = acte.row()
        groups.setdefault((row["siren"], row["annee"]), []).append(row)
    for (siren, annee), rows in groups.items():
        store.put_if_changed(layout.actes_parquet_key(siren, annee, public=public), parquet_bytes(rows))
    return {k: len(v) for k, v in groups.items()}


def siren_with_luhn(prefix8: str) -> str:
    """A SIREN with a valid Luhn check digit (realistic identifiers)."""
    digits = [int(c) for c in prefix8]
    for check in range(10):
        total = 0
        for i, d in enumerate([*digits, check][::-1]):
            d2 = d * 2 if i % 2 else d
            total += d2 - 9 if d2 > 9 else d2
        if total % 10 == 0:
            return prefix8 + str(check)
    raise AssertionError("unreachable")


def synthetic_actes(
    n_collectivites: int, years: Iterable[int], per_partition: int, seed: int = 7
) -> Iterable[tuple[str, int, list[dict[str, Any]]]]:
    """Large synthetic dataset, partition by partition (for the benchmark)."""
    rng = random.Random(seed)
    years = list(years)
    for c in range(n_collectivites):
        siren = siren_with_luhn(f"2135{c:04d}")
        nom = f"Commune n°{c}"
        for year in years:
            rows = []
            for i in range(per_partition):
                code, nom_matiere = rng.choice(MATIERES)
                nature = 1 if rng.random() < 0.7 else rng.choice([2, 4, 5, 6])
                published = rng.random() < 0.8
                day = date(year, 1, 1) + timedelta(days=rng.randrange(365))
                acte = Acte(
                    siren=siren,
                    delib_date=day,
                    delib_objet=f"{rng.choice(OBJETS)} ({i})",
                    nature=nature,
                    delib_matiere_code=code,
                    delib_matiere_nom=nom_matiere,
                    documents_publics=published,
                    document_id=f"doc{c:04d}{year}{i:06d}x" if published else None,
                    delib_id=f"D{year}_{i:05d}",
                    coll_nom=nom,
                    acte_id=f"{siren}-{year}-{i:06d}",
                )
                rows.append(acte.row())
            yield siren, year, rows
