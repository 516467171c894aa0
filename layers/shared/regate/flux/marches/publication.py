"""Publication of the DECP files to data.gouv.fr / udata.

One dataset under the OPSN's organisation ("Données essentielles des marchés publics"), one **hosted**
resource per buyer and year: the file ``decp/{siret}/{annee}.json`` uploaded as
``decp-{siret}-{annee}.json``, so the resource URL ends in ``.json`` (the national consolidation only
harvests those, and only the resources whose ``last_modified`` moved). Every resource declares the schema
``139bercy/format-commande-publique`` 2.0.2 (:data:`regate.flux.marches.PUBLISHED_SCHEMA`). The national
yearly files are not uploaded: the consolidation would read every contract twice; they stay on the API
(``/v1/marches/all/{annee}.json``).

Idempotent: the dataset is found again by its stored id or its ``extras`` marker (never by title), a
resource by its stored id, its ``regate:fichier`` marker or its stable title; a file is uploaded only when
its sha1 differs from the portal's checksum, metadata is PUT only when it differs. A second run with nothing
changed makes no write. A file failing the schema or the business rules (:func:`.writer.check_file`) is
reported and never uploaded; a file that disappeared from the bucket has its resource deleted (full run
only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from regate.clock import PARIS, Clock, SystemClock, utc_iso
from regate.datagouv.client import DatagouvClient, sha1_hex
from regate.datagouv.models import AuthError, DatagouvError, Dataset, Resource
from regate.datagouv.publisher import MARK_FLUX, MARK_SCOPE, PublishOptions, _dataset_diff, _resource_diff
from regate.flux.marches.schema import PUBLISHED_SCHEMA
from regate.flux.marches.writer import check_file
from regate.storage import ObjectStore, layout
from regate.storage.store import dumps_canonical

FLUX = "marches"
SCOPE = "decp"
MARK_FILE = "regate:fichier"
LICENSE = "lov2"
FREQUENCY = "daily"
TAGS = ("decp", "marches-publics", "commande-publique", "donnees-essentielles", "collectivites-territoriales")
SCHEMA_DOC_URL = "https://schema.data.gouv.fr/139bercy/format-commande-publique/"


class MarchesResourceState(BaseModel):
    resource_id: str
    sha1: str
    contrats: int
    published_at: str


class MarchesPublishState(BaseModel):
    """``_state/publish/marches.json``."""

    dataset_id: str | None = None
    resources: dict[str, MarchesResourceState] = Field(default_factory=dict)  # curated key → resource


class MarchesPublishReport(BaseModel):
    stage: str = layout.MARCHES_PUBLISH_STAGE
    started_at: str
    finished_at: str = ""
    dry_run: bool = False
    dataset_id: str | None = None
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    writes: int = 0
    failed: list[dict[str, str]] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class BuyerFile:
    key: str
    siret: str
    annee: int
    data: bytes

    @property
    def title(self) -> str:
        """Stable resource title = uploaded file name (the portal resets the title to it on upload)."""
        return f"decp-{self.siret}-{self.annee}.json"

    @property
    def counts(self) -> tuple[int, int]:
        import json

        body = json.loads(self.data).get("marches", {})
        return len(body.get("marche", [])), len(body.get("contrat-concession", []))


def buyer_files(curated: ObjectStore) -> dict[str, BuyerFile]:
    files: dict[str, BuyerFile] = {}
    for key in curated.list_keys(layout.DECP_PREFIX):
        parsed = layout.parse_decp_key(key)
        if parsed is None or parsed[0] == layout.NATIONAL:
            continue
        files[key] = BuyerFile(key, parsed[0], parsed[1], curated.get_bytes(key))
    return files


@dataclass
class MarchesPublisher:
    curated: ObjectStore
    client: DatagouvClient
    options: PublishOptions
    today: date
    clock: Clock = field(default_factory=SystemClock)
    describe: Callable[[str], Any] | None = None  # SIREN → object with ``nom`` (collectivités directory)

    def run(self) -> MarchesPublishReport:
        report = MarchesPublishReport(started_at=utc_iso(self.clock.now()), dry_run=self.options.dry_run)
        if not self.options.org:
            raise DatagouvError("REGATE_DATAGOUV_ORG is not set: the OPSN's organisation is required")
        self.client.me()  # a bad key stops here, before any write
        writes_before = self.client.writes
        raw_state = self.curated.get_json(layout.MARCHES_PUBLISH_STATE_KEY) or {}
        state = MarchesPublishState.model_validate(raw_state)
        files = buyer_files(self.curated)
        valid = {}
        for key, item in sorted(files.items()):
            known = state.resources.get(key)
            if known is not None and known.sha1 == sha1_hex(item.data):
                valid[key] = item  # these exact bytes were checked when they were published
                continue
            errors = check_file(item.data, self.today)
            if errors:
                reasons = "; ".join(f"{e.code}: {e.message}" for e in errors[:3])
                report.failed.append(
                    {"fichier": key, "raison": f"fichier DECP invalide, non publié : {reasons}"}
                )
            else:
                valid[key] = item
        org = self.client.get_organization(self.options.org)
        dataset = self._find_dataset(state, org.id)
        if dataset is None and not valid:
            return self._finish(report, state, raw_state, writes_before)
        desired = self._dataset_payload(org.name)
        if dataset is None:
            dataset = self.client.create_dataset({**desired, "organization": {"id": org.id}})
        elif _dataset_diff(dataset, desired):
            self.client.update_dataset(dataset.id, desired)
        state.dataset_id = dataset.id
        report.dataset_id = dataset.id
        for key, item in sorted(valid.items()):
            try:
                self._publish_file(dataset, state, item, report)
            except AuthError:
                raise
            except DatagouvError as exc:
                report.failed.append({"fichier": key, "raison": str(exc)})
        for resource in list(dataset.resources):  # files gone from the bucket: their resource goes too
            marked = str(resource.extras.get(MARK_FILE, ""))
            if resource.extras.get(MARK_FLUX) == FLUX and marked and marked not in files:
                self.client.delete_resource(dataset.id, resource.id)
                state.resources.pop(marked, None)
                report.deleted += 1
        return self._finish(report, state, raw_state, writes_before)

    def _finish(
        self, report: MarchesPublishReport, state: MarchesPublishState, raw_state: Any, writes_before: int
    ) -> MarchesPublishReport:
        report.writes = self.client.writes - writes_before + len(self.client.planned)
        report.finished_at = utc_iso(self.clock.now())
        if not self.options.dry_run:
            if state.model_dump(mode="json") != raw_state:
                self.curated.put_json_if_changed(
                    layout.MARCHES_PUBLISH_STATE_KEY, state.model_dump(mode="json")
                )
            self.curated.put_if_changed(
                layout.run_report_key(layout.MARCHES_PUBLISH_STAGE),
                dumps_canonical(report.model_dump(mode="json")),
                content_type="application/json",
            )
        return report

    def _find_dataset(self, state: MarchesPublishState, org_id: str) -> Dataset | None:
        if state.dataset_id:
            found = self.client.get_dataset(state.dataset_id)
            if found is not None and found.deleted is None:
                return found
        for dataset in self.client.iter_organization_datasets(org_id):
            if dataset.extras.get(MARK_FLUX) == FLUX and dataset.extras.get(MARK_SCOPE) == SCOPE:
                return self.client.get_dataset(dataset.id) or dataset
        return None

    def _publish_file(
        self, dataset: Dataset, state: MarchesPublishState, item: BuyerFile, report: MarchesPublishReport
    ) -> None:
        sha1 = sha1_hex(item.data)
        existing = _find_resource(dataset, state.resources.get(item.key), item)
        if existing is not None and existing.filetype != "file":
            self.client.delete_resource(dataset.id, existing.id)  # filetype cannot change: recreate
            existing = None
        same = existing is not None and existing.checksum is not None and existing.checksum.value == sha1
        if existing is None:
            resource = self.client.upload_new(dataset.id, item.title, item.data)
            report.created += 1
        elif not same:
            resource = self.client.upload_replace(dataset.id, existing.id, item.title, item.data)
            report.replaced += 1
        else:
            resource = existing
            report.unchanged += 1
        marches, concessions = item.counts
        meta = {
            "title": item.title,
            "description": self._resource_description(item, marches, concessions),
            "type": "main",
            "schema": dict(PUBLISHED_SCHEMA),
            "extras": {**resource.extras, MARK_FLUX: FLUX, MARK_FILE: item.key},
        }
        if _resource_diff(resource, meta):
            self.client.update_resource(dataset.id, resource.id, meta)
        previous = state.resources.get(item.key)
        if previous is None or previous.sha1 != sha1 or previous.resource_id != resource.id:
            state.resources[item.key] = MarchesResourceState(
                resource_id=resource.id,
                sha1=sha1,
                contrats=marches + concessions,
                published_at=utc_iso(self.clock.now()),
            )

    # --------------------------------------------------------------------------------- texts
    def _buyer_name(self, siret: str) -> str:
        if self.describe is not None:
            try:
                found = self.describe(siret[:9])
            except Exception:  # the directory is a nicety: the SIRET is always enough
                found = None
            if found is not None and getattr(found, "nom", None):
                return f"{found.nom} (SIRET {siret})"
        return f"l'acheteur SIRET {siret}"

    def _resource_description(self, item: BuyerFile, marches: int, concessions: int) -> str:
        parts = [f"{marches} marché{'s' if marches > 1 else ''}"]
        if concessions:
            parts.append(f"{concessions} contrat{'s' if concessions > 1 else ''} de concession")
        return (
            f"Contrats notifiés en {item.annee} par {self._buyer_name(item.siret)} : {' et '.join(parts)}. "
            f"Format DECP (arrêtés du 22 décembre 2022), JSON conforme au schéma "
            f"{PUBLISHED_SCHEMA['name']} {PUBLISHED_SCHEMA['version']}."
        )

    def _dataset_payload(self, opsn_name: str) -> dict[str, Any]:
        api = f"{self.options.public_base_url.rstrip('/')}/v1/marches"
        description = "\n".join(
            [
                f"Données essentielles des marchés publics et des contrats de concession des acheteurs "
                f"publics accompagnés par {opsn_name} (communes, intercommunalités, syndicats…).",
                "",
                "**Ce que contient ce jeu de données.** Pour chaque contrat de 40 000 € HT ou plus : "
                "l'acheteur, l'objet, la nature, la procédure, le code CPV, le lieu d'exécution, la durée, "
                "le montant, la forme du prix, les entreprises titulaires et les modifications du contrat "
                "(avenants). Un fichier par acheteur et par année de notification, au format JSON du "
                f"[schéma national des données essentielles]({SCHEMA_DOC_URL}).",
                "",
                "**Pourquoi ces données sont publiées.** Depuis le 1er janvier 2024, les acheteurs publics "
                "publient sur data.gouv.fr les données essentielles de leurs marchés dans les deux mois qui "
                "suivent leur notification (articles R. 2196-1 et R. 3131-1 du code de la commande publique, "
                "arrêtés du 22 décembre 2022). Ces fichiers sont repris dans la consolidation nationale.",
                "",
                "**Qualité.** Chaque contrat est vérifié (schéma et règles de gestion) avant publication ; "
                "un contrat incomplet ou incohérent n'est pas publié tant que l'acheteur ne l'a pas corrigé "
                "sur son profil d'acheteur.",
                "",
                "**Mise à jour.** Quotidienne et automatique, à partir des profils d'acheteur "
                "(chaîne Rég@te).",
                "",
                f"**API.** Recherche, filtres et statistiques : {api} ; fichier d'un acheteur : "
                f"{api}/{{SIRET}}/{{année}}.json ; fichier national : {api}/all/{{année}}.json.",
            ]
        )
        return {
            "title": f"Données essentielles des marchés publics – acheteurs accompagnés par {opsn_name}",
            "description": description,
            "license": LICENSE,
            "frequency": FREQUENCY,
            "tags": list(TAGS),
            "spatial": {"zones": list(self.options.opsn_zones), "granularity": "fr:commune"},
            "private": self.options.private,
            "extras": {MARK_FLUX: FLUX, MARK_SCOPE: SCOPE},
        }


def _find_resource(dataset: Dataset, known: MarchesResourceState | None, item: BuyerFile) -> Resource | None:
    if known is not None:
        for res in dataset.resources:
            if res.id == known.resource_id:
                return res
    for res in dataset.resources:
        if res.extras.get(MARK_FILE) == item.key:
            return res
    for res in dataset.resources:  # marker lost (edited by hand): the stable title
        if res.title.lower() == item.title.lower():
            return res
    return None


def today_paris(clock: Clock | None = None) -> date:
    """The run's date in Paris (what the business rules compare publication dates with)."""
    return (clock or SystemClock()).now().astimezone(PARIS).date()


def publish_marches(
    curated: ObjectStore,
    client: DatagouvClient,
    options: PublishOptions,
    today: date,
    clock: Clock | None = None,
    describe: Callable[[str], Any] | None = None,
) -> MarchesPublishReport:
    """The publish stage's hook: publish every buyer-year DECP file (a full reconcile, cheap when nothing
    changed: one listing of the bucket, a few GETs on the portal, no write)."""
    return MarchesPublisher(curated, client, options, today, clock or SystemClock(), describe).run()
