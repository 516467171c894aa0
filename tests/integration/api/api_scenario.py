"""Test data of the API integration tests: the scenario (acts, documents, files), a fake directory."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from regate.api.app import ApiServices, create_app
from regate.collectivites.models import Collectivite
from regate.storage import layout
from regate_local.sampledata import Acte, write_partitions
from regate_local.serve.server import http_api_event

RENNES = "213502388"
EPCI = "243500139"
BREST = "212900195"  # present in the data, unknown to the directory (no point)
#: published main document and annex; documents withheld (metadonnees); act absent from public/ (retenir)
DOC_PUBLIC = "pubdoc0001aaaa"
ANNEXE_PUBLIC = "pubannexe01bbbb"
DOC_WITHHELD_META = "withheld0001cccc"
DOC_WITHHELD_ACT = "retenu0001dddd"
EVENTS_DIR = Path(__file__).resolve().parents[2] / "events" / "api"


class FakeDirectory:
    """Stands in for ``regate.collectivites.CollectiviteDirectory`` (same ``describe`` contract)."""

    def __init__(self) -> None:
        self.entries = {
            RENNES: Collectivite(
                siren=RENNES,
                nom="Ville de Rennes",
                siret="21350238800019",
                code_insee="35238",
                kind="commune",
                population=227830,
                lon=-1.67494,
                lat=48.093066,
                departement="35",
                epci_siren=EPCI,
                epci_nom="Rennes Métropole",
            ),
            EPCI: Collectivite(
                siren=EPCI,
                nom="Rennes Métropole",
                siret=None,
                code_insee=None,
                kind="epci",
                population=None,
                lon=-1.68,
                lat=48.11,
                departement="35",
                epci_siren=None,
                epci_nom=None,
            ),
        }

    def describe(self, siren: str, pastell_denomination: str | None = None) -> Collectivite:
        return self.entries.get(siren) or Collectivite(
            siren=siren,
            nom=pastell_denomination or siren,
            siret=None,
            code_insee=None,
            kind="autre",
            population=None,
            lon=None,
            lat=None,
            departement=None,
            epci_siren=None,
            epci_nom=None,
        )


def scenario_actes(base_url: str) -> list[Acte]:
    a = []
    for i, (day, objet, code, nom) in enumerate(
        [
            (date(2024, 12, 16), "Budget primitif 2025", "7.1", "finances locales/décisions budgétaires"),
            (
                date(2024, 11, 5),
                "Attribution de subventions aux associations sportives",
                "7.5",
                "finances locales/subventions",
            ),
            (date(2024, 11, 5), "Tarifs de l'ÉCOLE de musique", "7.10", "finances locales/divers"),
            (
                date(2024, 3, 1),
                "Travaux de voirie rue de l'Église",
                "8.3",
                "domaines de compétences par thèmes/voirie",
            ),
            (date(2024, 2, 12), "Marché de nettoyage des locaux", "1.1", "commande publique/marchés publics"),
            (
                date(2023, 6, 30),
                "Modification du plan local d'urbanisme",
                "2.1",
                "urbanisme/documents d'urbanisme",
            ),
            (
                date(2023, 1, 20),
                "Élection des adjoints",
                "5.2",
                "institutions et vie politique/fonctionnement",
            ),
        ]
    ):
        a.append(
            Acte(
                RENNES,
                day,
                objet,
                delib_matiere_code=code,
                delib_matiere_nom=nom,
                delib_id=f"R{i:03d}",
                acte_id=f"rennes-{i:03d}",
                coll_nom="Ville de Rennes",
                base_url=base_url,
                document_id=DOC_PUBLIC if i == 0 else f"rennesdoc{i:04d}",
                annexes=[{"document_id": ANNEXE_PUBLIC, "nom": "annexe.pdf"}] if i == 0 else [],
            )
        )
    # metadata public, documents withheld
    a.append(
        Acte(
            RENNES,
            date(2024, 5, 2),
            "Convention confidentielle",
            documents_publics=False,
            document_id=DOC_WITHHELD_META,
            delib_id="R900",
            acte_id="rennes-900",
            coll_nom="Ville de Rennes",
            base_url=base_url,
        )
    )
    # an arrêté réglementaire (nature 2): not a délibération
    a.append(
        Acte(
            RENNES,
            date(2024, 4, 4),
            "Arrêté de circulation",
            nature=2,
            delib_id="A001",
            acte_id="rennes-a01",
            coll_nom="Ville de Rennes",
            base_url=base_url,
            document_id="arretedoc01",
        )
    )
    a.append(
        Acte(
            EPCI,
            date(2024, 7, 1),
            "Plan climat air énergie",
            delib_matiere_code="8.8",
            delib_matiere_nom="domaines de compétences par thèmes/environnement",
            delib_id="M001",
            acte_id="metro-001",
            coll_nom="Rennes Métropole",
            base_url=base_url,
            document_id="metrodoc01",
        )
    )
    a.append(
        Acte(
            BREST,
            date(2022, 9, 9),
            "Dénomination de voies",
            delib_matiere_code="9.1",
            delib_matiere_nom="autres domaines de compétences/autres",
            delib_id="B001",
            acte_id="brest-001",
            coll_nom="Ville de Brest",
            base_url=base_url,
            document_id="brestdoc01",
        )
    )
    return a


def seed(curated_store: Any, settings: Any) -> None:
    """Public partitions, one withheld act only in the internal dataset, documents, SCDL file, catalog."""
    write_partitions(curated_store, scenario_actes(settings.public_base_url))
    withheld = Acte(
        RENNES,
        date(2024, 6, 6),
        "Acte retenu secret",
        delib_id="R999",
        acte_id="rennes-999",
        document_id=DOC_WITHHELD_ACT,
        coll_nom="Ville de Rennes",
        base_url=settings.public_base_url,
    )
    write_partitions(curated_store, [withheld], public=False)
    for doc in (DOC_PUBLIC, ANNEXE_PUBLIC, DOC_WITHHELD_META, DOC_WITHHELD_ACT):
        curated_store.put_if_changed(
            layout.public_document_key(doc, f"{doc}.pdf"),
            b"%PDF-1.4 " + doc.encode(),
            content_type="application/pdf",
        )
    curated_store.put_if_changed(
        layout.scdl_deliberations_key(RENNES, 2024),
        'COLL_NOM,COLL_SIRET\r\n"Ville de Rennes, « test »",21350238800019\r\n'.encode(),
        content_type="text/csv",
    )


class Client:
    """Calls the resolver with API Gateway v2 events, like API Gateway would."""

    def __init__(self, services: ApiServices) -> None:
        self.app = create_app(services)

    def get(
        self, target: str, headers: dict[str, str] | None = None, method: str = "GET", follow: bool = True
    ) -> dict[str, Any]:
        """One request; like an HTTP client, follows a 307 to another route of the API (``format=csv``
        → ``/v1/exports/…``) unless ``follow=False``. Presigned (302, absolute) redirects are returned."""
        response = self.app.resolve(http_api_event(method, target, headers or {}), {})
        location = (response.get("headers") or {}).get("Location", "")
        if follow and response["statusCode"] == 307 and location.startswith("/v1/"):
            return self.get(location, headers, method, follow=False)
        return response

    def json(self, target: str, status: int = 200) -> Any:
        response = self.get(target)
        assert response["statusCode"] == status, response
        return json.loads(response["body"])
