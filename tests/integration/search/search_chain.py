"""A small normalised chain for the search tests: raw acts with real PDFs (text and scanned) → ``regate
normalize`` → public dataset + full-text index, as the API and the white-label page read them."""

from __future__ import annotations

import importlib.util
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from regate.normalize.run import run_normalize
from regate.storage import layout
from regate_local.search.pdfs import scanned_pdf, text_pdf

_spec = importlib.util.spec_from_file_location(
    "normalize_helpers_for_search", Path(__file__).resolve().parents[1] / "normalize" / "conftest.py"
)
assert _spec is not None and _spec.loader is not None
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)
RawSeeder = _helpers.RawSeeder

RENNES = "213502388"
RENNES_SIRET = "21350238800019"
HEADER = "siren,siret,nom,open_data,documents,annexes\n"
#: the act whose PDF holds "xylophonique" and whose scanned annex holds "ornithorynques"
MAIN_ID_D, MAIN_NUMERO = "Xk3P9aQ", "DEL2024_012"
WITHHELD_ID_D, WITHHELD_WORD = "Retenu01", "confidentielissime"
CANTINE_ACTS = 23  # acts whose objet says "cantine": more than two pages of 10
MATIERES = ("7.5 Subventions", "8.1 Enseignement", "2.1 Documents d'urbanisme")


def config(curated_store: Any, documents: str = "", annexes: str = "", open_data: str = "") -> None:
    row = f"{RENNES},{RENNES_SIRET},Ville de Rennes,{open_data},{documents},{annexes}\n"
    curated_store.put_if_changed(layout.CONFIG_COLLECTIVITES_KEY, (HEADER + row).encode())


def seed(raw_store: Any, curated_store: Any, settings: Any) -> Any:
    """Seed and normalise; returns the run report."""
    seeder = RawSeeder(raw_store)
    config(curated_store)
    main = text_pdf(["Le conseil approuve le projet xylophonique de l’école."], "Délibération DEL2024_012")
    scan = scanned_pdf(["Annexe : tableau des ornithorynques subventionnés."], seed=3)
    seeder.put(
        "pull_deliberation.json",
        data={"objet": "Attribution de subventions aux associations"},
        files={"acte_tamponne": main, "arrete": main, "autre_document_attache": scan},
    )
    private = text_pdf([f"Le mot {WITHHELD_WORD} est dans un acte retenu."], "DEL2024_099")
    seeder.put(
        "pull_deliberation.json",
        id_d=WITHHELD_ID_D,
        data={"numero_de_lacte": "DEL2024_099", "publication_open_data": "1", "objet": "Acte retenu cantine"},
        files={"acte_tamponne": private, "arrete": private, "autre_document_attache": private},
    )
    start = date(2024, 2, 1)
    for n in range(CANTINE_ACTS):
        day = start + timedelta(days=7 * n)
        body = text_pdf([f"Tarifs de la cantine scolaire, délibération numéro {n}."], f"DEL2024_{100 + n}")
        seeder.put(
            "pull_deliberation.json",
            id_d=f"Cantine{n:02d}",
            data={
                "numero_de_lacte": f"DEL2024_{100 + n}",
                "objet": f"Tarifs de la cantine scolaire n°{n}",
                "date_de_lacte": day.isoformat(),
                "date_ar": (day + timedelta(days=3)).isoformat(),
                "classification": MATIERES[n % len(MATIERES)],
                "acte_unique_id": f"035-213502388-{day:%Y%m%d}-DEL2024_{100 + n}-DE",
            },
            files={"acte_tamponne": body, "arrete": body, "autre_document_attache": body},
        )
    return run_normalize(raw_store, curated_store, settings)
