"""Fixtures of the API tests: a seeded curated bucket on moto, a fake collectivité directory, the app."""

from __future__ import annotations

import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from regate.api.app import ApiServices, build_services, create_app
from regate.api.local_server import http_api_event
from regate.api.sampledata import Acte, write_partitions
from regate.collectivites.models import Collectivite
from regate.storage import layout

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


def _buckets(moto_endpoint: str, cache_dir: Path) -> tuple[Any, Any, Any]:
    """Fresh versioned raw + curated buckets and settings for them."""
    from regate.settings import Settings
    from regate.storage import ObjectStore, make_s3_client

    suffix = uuid.uuid4().hex[:10]
    settings = Settings(
        s3_endpoint_url=moto_endpoint,
        raw_bucket=f"raw-api-{suffix}",
        curated_bucket=f"curated-api-{suffix}",
        public_base_url="https://regate.example.org",
        recherche_entreprises_enabled=False,
        api_cache_dir=str(cache_dir),
    )
    client = make_s3_client(settings)
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return settings, client, ObjectStore(client, settings.curated_bucket)


@pytest.fixture(scope="module")
def shared_env(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, Any]:
    """One seeded bucket shared by the read-only tests of a module (seeding costs ~1 s)."""
    settings, client, curated = _buckets(moto_endpoint, tmp_path_factory.mktemp("api-cache"))
    seed(curated, settings)
    return settings, client, curated


@pytest.fixture(scope="module")
def services(shared_env: tuple[Any, Any, Any]) -> ApiServices:
    settings, client, _ = shared_env
    # list_ttl 0: every request re-lists, so tests see writes at once; memory_threshold 2: national
    # requests go through the in-memory table, per-collectivité ones through read_parquet on files
    return build_services(settings, client, directory=FakeDirectory(), list_ttl_seconds=0, memory_threshold=2)


@pytest.fixture()
def fresh_env(moto_endpoint: str, tmp_path: Path) -> tuple[Any, Any, Any]:
    settings, client, curated = _buckets(moto_endpoint, tmp_path / "cache")
    seed(curated, settings)
    return settings, client, curated


@pytest.fixture()
def api_settings(fresh_env: tuple[Any, Any, Any]) -> Any:
    return fresh_env[0]


@pytest.fixture()
def seeded(fresh_env: tuple[Any, Any, Any]) -> Any:
    """The curated store of the fresh environment (tests that write)."""
    return fresh_env[2]


@pytest.fixture()
def raw_store(fresh_env: tuple[Any, Any, Any]) -> Any:
    from regate.storage import ObjectStore

    return ObjectStore(fresh_env[1], fresh_env[0].raw_bucket)


@pytest.fixture()
def fresh_services(fresh_env: tuple[Any, Any, Any]) -> ApiServices:
    settings, client, _ = fresh_env
    return build_services(settings, client, directory=FakeDirectory(), list_ttl_seconds=0)


class Client:
    """Calls the resolver with API Gateway v2 events, like API Gateway would."""

    def __init__(self, services: ApiServices) -> None:
        self.app = create_app(services)

    def get(self, target: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        return self.app.resolve(http_api_event("GET", target, headers or {}), {})

    def json(self, target: str, status: int = 200) -> Any:
        response = self.get(target)
        assert response["statusCode"] == status, response
        return json.loads(response["body"])


@pytest.fixture(scope="module")
def client(services: ApiServices) -> Client:
    return Client(services)


@pytest.fixture()
def fresh_client(fresh_services: ApiServices) -> Client:
    return Client(fresh_services)
