"""Publication of the SCDL délibérations files to data.gouv.fr / udata.

Two modes (``settings.publication_mode``):

* ``opsn``: ONE dataset for the flow under the OPSN's organisation, one resource per year holding the
  national file ``scdl/deliberations/all/{annee}.csv``;
* ``collectivite``: one dataset per collectivité, under its own organisation when the key is a member
  of it (found by SIRET, ``business_number_id``), else under the OPSN's with the collectivité named;
  one resource per year (``scdl/deliberations/{siren}/{annee}.csv``).

Idempotent: datasets are found again by an ``extras`` marker (never by title), resources by their
stored id or their ``regate:annee`` marker; a file is uploaded only when its sha1 differs from the
portal's checksum, metadata is PUT only when it differs. A run with nothing changed makes no write.
A failed resource is reported and retried by the next run without blocking the others; a bad API key
stops the run before anything is written.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, Field

from regate.clock import Clock, SystemClock, utc_iso
from regate.datagouv.client import DatagouvClient, sha1_hex
from regate.datagouv.models import AuthError, DatagouvError, Dataset, Organization, Resource
from regate.datagouv.state import (
    DatasetState,
    PublishState,
    ResourceState,
    dataset_key,
    load_state,
    save_state,
)
from regate.storage import ObjectStore, layout

FLUX = "deliberations"
SCHEMA_NAME = "scdl/deliberations"
SCHEMA_VERSION = "2.1.5"
SCHEMA_URL = f"https://schema.data.gouv.fr/schemas/{SCHEMA_NAME}/{SCHEMA_VERSION}/schema.json"
SCHEMA_DOC_URL = f"https://schema.data.gouv.fr/{SCHEMA_NAME}/{SCHEMA_VERSION}/"
LICENSE = "lov2"
FREQUENCY = "daily"
TAGS = ("scdl", "deliberations", "actes-administratifs", "collectivites-territoriales")
MARK_FLUX = "regate:flux"
MARK_SCOPE = "regate:scope"
MARK_ANNEE = "regate:annee"
REPORT_STAGE = "publish"


class Validator(Protocol):
    def __call__(self, data: bytes) -> Any: ...


class CollectiviteInfo(BaseModel):
    """What the publisher needs to know about a collectivité (from the directory or the CSV)."""

    siren: str
    nom: str
    siret: str | None = None
    code_insee: str | None = None
    kind: str | None = None
    departement: str | None = None
    region: str | None = None


def directory_describer(directory: Any) -> Callable[[str], CollectiviteInfo | None]:
    """Adapt a :class:`regate.collectivites.directory.CollectiviteDirectory` to the publisher.

    A directory failure (e.g. Sirene unreachable) falls back to the CSV's own COLL_NOM / COLL_SIRET.
    """

    def describe(siren: str) -> CollectiviteInfo | None:
        try:
            found = directory.describe(siren)
        except Exception:  # the CSV fallback is always available
            return None
        return CollectiviteInfo(
            siren=siren,
            nom=found.nom,
            siret=found.siret,
            code_insee=found.code_insee,
            kind=found.kind,
            departement=getattr(found, "departement", None),
            region=getattr(found, "region", None),
        )

    return describe


class Failure(BaseModel):
    siren: str | None = None
    annee: int
    reason: str


class PublishReport(BaseModel):
    """Run report saved at ``layout.run_report_key("publish")``."""

    stage: str = REPORT_STAGE
    started_at: str
    finished_at: str = ""
    mode: str
    resource_kind: str
    dry_run: bool = False
    created: int = 0
    replaced: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[Failure] = Field(default_factory=list)
    catalog: dict[str, Any] = Field(default_factory=dict)
    planned_calls: list[str] = Field(default_factory=list)
    consumed_markers: list[str] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class YearFile:
    """One yearly SCDL file as found in the curated bucket (``data`` None = no file)."""

    scope: str
    annee: int
    data: bytes | None
    rows: int


@dataclass
class PublishOptions:
    """Publication choices (defaults = settings); plain values so tests and the CLI pass their own."""

    mode: str = "opsn"
    resource_kind: str = "hosted"
    org: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    portal_url: str = "https://demo.data.gouv.fr"
    private: bool = False
    opsn_zones: tuple[str, ...] = ("country:fr",)
    opsn_siret: str | None = None
    dry_run: bool = False

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> PublishOptions:
        values: dict[str, Any] = {
            "mode": settings.publication_mode,
            "resource_kind": settings.resource_kind,
            "org": settings.datagouv_org,
            "public_base_url": settings.public_base_url,
            "portal_url": settings.datagouv_url,
            # Not a setting yet (asked to the lead): else the OPSN organisation's business_number_id.
            "opsn_siret": getattr(settings, "opsn_siret", None) or None,
        }
        values.update(overrides)
        return cls(**values)


def national_remote_url(public_base_url: str, annee: int) -> str:
    """Stable public URL of the national yearly file (served by the Rég@te API)."""
    return f"{public_base_url.rstrip('/')}/v1/deliberations/{layout.NATIONAL}/{int(annee)}.csv"


def collectivite_remote_url(public_base_url: str, siren: str, annee: int) -> str:
    return f"{public_base_url.rstrip('/')}/v1/deliberations/{siren}/{int(annee)}.csv"


def resource_title(scope: str, annee: int) -> str:
    """Stable resource title (also the uploaded file name, so a replace keeps it)."""
    if scope == layout.NATIONAL:
        return f"deliberations-{int(annee)}.csv"
    return f"deliberations-{scope}-{int(annee)}.csv"


def count_rows(data: bytes) -> int:
    """Data rows of a CSV (header excluded; quoted newlines handled)."""
    text = data.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    return max(sum(1 for row in reader if row) - 1, 0)


def first_row(data: bytes) -> dict[str, str]:
    text = data.decode("utf-8-sig", errors="replace")
    for row in csv.DictReader(io.StringIO(text, newline="")):
        return {k: v for k, v in row.items() if k is not None}
    return {}


def list_year_files(curated: ObjectStore, mode: str) -> dict[str, set[int]]:
    """Scopes (``all`` or SIREN) and years that have a file in the curated bucket, for ``mode``."""
    found: dict[str, set[int]] = {}
    for key in curated.list_keys(layout.SCDL_DELIBERATIONS_PREFIX):
        rest = key[len(layout.SCDL_DELIBERATIONS_PREFIX) :]
        parts = rest.split("/")
        if len(parts) != 2 or not parts[1].endswith(".csv") or not parts[1][:-4].isdigit():
            continue
        scope, annee = parts[0], int(parts[1][:-4])
        try:
            layout.safe_segment(scope, "siren")
        except ValueError:
            continue  # not a partition written by normalisation
        if (mode == "opsn") != (scope == layout.NATIONAL):
            continue
        found.setdefault(scope, set()).add(annee)
    return found


def file_key(scope: str, annee: int) -> str:
    if scope == layout.NATIONAL:
        return layout.scdl_deliberations_national_key(annee)
    return layout.scdl_deliberations_key(scope, annee)


def read_year_file(curated: ObjectStore, scope: str, annee: int) -> YearFile:
    found = curated.get_with_etag(file_key(scope, annee))
    if found is None:
        return YearFile(scope, annee, None, 0)
    return YearFile(scope, annee, found[0], count_rows(found[0]))


def validate_catalogue_csv(data: bytes) -> Any:
    """SCDL catalogue 0.1.3 check with the generic validator (same rules as Validata)."""
    from regate.scdl.validator import load_schema, validate_csv

    return validate_csv(data, load_schema("scdl/catalogue", "0.1.3"))


def default_validator(data: bytes) -> Any:
    from regate.scdl.validator import validate_deliberations_csv

    return validate_deliberations_csv(data)


@dataclass
class Publisher:
    """Publishes the curated SCDL files; every dependency is injected."""

    curated: ObjectStore
    client: DatagouvClient
    options: PublishOptions
    clock: Clock = field(default_factory=SystemClock)
    validate: Validator = default_validator
    describe: Callable[[str], CollectiviteInfo | None] | None = None
    progress: Callable[[str], None] | None = None

    #: the flux this publisher serves (the datasets' ``regate:flux`` marker) and where it keeps its state;
    #: another flux (budgets) subclasses and overrides these and the ``_…`` hooks below
    flux = FLUX
    state_key = layout.PUBLISH_STATE_KEY
    write_catalog = True

    def _year_files(self, mode: str) -> dict[str, set[int]]:
        return list_year_files(self.curated, mode)

    def _read_year_file(self, scope: str, annee: int) -> YearFile:
        return read_year_file(self.curated, scope, annee)

    def _resource_title(self, scope: str, annee: int) -> str:
        return resource_title(scope, annee)

    # ------------------------------------------------------------------------------ entry
    def run(self, dirty: Iterable[tuple[str, int]] | None = None) -> PublishReport:
        """Full reconciliation when ``dirty`` is None, else only the partitions given.

        Raises :class:`AuthError` (bad key) before any write. Never raises for one resource.
        """
        opts = self.options
        report = PublishReport(
            started_at=utc_iso(self.clock.now()),
            mode=opts.mode,
            resource_kind=opts.resource_kind,
            dry_run=opts.dry_run,
        )
        if not opts.org:
            raise DatagouvError(
                "REGATE_DATAGOUV_ORG is not set: the OPSN's organisation (id or slug) is required"
            )
        me = self.client.me()  # fail fast on a bad key: nothing has been written yet
        self._member_of = {o.id for o in me.organizations} | {o.slug for o in me.organizations if o.slug}
        self._opsn_org: Organization | None = None
        state, etag = load_state(self.curated, self.state_key)
        if state.mode != opts.mode and state.datasets:
            self._note(f"publication mode changed from {state.mode} to {opts.mode}")
        state.mode = opts.mode
        self._now = utc_iso(self.clock.now())

        plan = self._plan(state, dirty)
        touched: set[str] = set()
        for scope, years in sorted(plan.items()):
            key = dataset_key(opts.mode, scope)
            try:
                changed = self._publish_scope(state, scope, years, report)
            except AuthError:
                raise
            except DatagouvError as exc:
                for annee in sorted(years):
                    report.failed.append(_failure(scope, annee, f"dataset: {exc}"))
                continue
            if changed:
                touched.add(key)

        if not opts.dry_run:
            state = save_state(self.curated, state, etag, touched, key=self.state_key)
        report.catalog = self._write_catalog(state) if self.write_catalog else {}
        report.planned_calls = [str(call) for call in self.client.planned]
        report.finished_at = utc_iso(self.clock.now())
        return report

    # ------------------------------------------------------------------------------ plan
    def _plan(self, state: PublishState, dirty: Iterable[tuple[str, int]] | None) -> dict[str, set[int]]:
        """Scope → years to reconcile (files present, plus published years that may need deleting)."""
        opts = self.options
        plan: dict[str, set[int]] = {}
        if dirty is None:
            for scope, years in self._year_files(opts.mode).items():
                plan.setdefault(scope, set()).update(years)
            for ds in state.datasets.values():
                plan.setdefault(ds.scope, set()).update(int(a) for a in ds.resources)
            plan = {s: y for s, y in plan.items() if (opts.mode == "opsn") == (s == layout.NATIONAL)}
            self._full = True
        else:
            for siren, annee in dirty:
                scope = layout.NATIONAL if opts.mode == "opsn" else siren
                if opts.mode == "collectivite" and siren == layout.NATIONAL:
                    continue
                plan.setdefault(scope, set()).add(int(annee))
            self._full = False
        return plan

    # ----------------------------------------------------------------------------- scope
    def _publish_scope(self, state: PublishState, scope: str, years: set[int], report: PublishReport) -> bool:
        opts = self.options
        key = dataset_key(opts.mode, scope)
        files = {annee: self._read_year_file(scope, annee) for annee in sorted(years)}
        ds_state = state.datasets.get(key)
        info = self._collectivite(scope, files) if scope != layout.NATIONAL else None
        dataset = self._find_dataset(ds_state, scope, info)
        if dataset is None:
            # Nothing on the portal yet: validate first so an invalid file never creates an empty dataset.
            for annee, year_file in list(files.items()):
                if year_file.rows and not self._valid(year_file, report):
                    del files[annee]
            if not any(f.rows for f in files.values()):
                return False  # nothing published, nothing (valid) to publish
        org_id, under_coll = self._organization_for(scope, info, dataset)
        desired = self._dataset_payload(scope, info, under_coll)
        changed = False
        if dataset is None:
            self._note(f"create dataset for {scope}")
            payload = {**desired, "organization": {"id": org_id}} if org_id else desired
            dataset = self.client.create_dataset(payload)
            changed = True
        else:
            diff = _dataset_diff(dataset, desired)
            if diff:
                self.client.update_dataset(dataset.id, desired)
                changed = True
        if ds_state is None or ds_state.dataset_id != dataset.id:
            ds_state = DatasetState(
                scope=scope,
                dataset_id=dataset.id,
                organization_id=org_id,
                under_collectivite_org=under_coll,
                title=desired["title"],
                first_published_at=self._now,
                modified_at=self._now,
            )
            state.datasets[key] = ds_state
            changed = True
        update = {
            "title": desired["title"],
            "description": desired["description"],
            "page": dataset.page or ds_state.page,
            "organization_id": org_id,
            "under_collectivite_org": under_coll,
            "coll_nom": info.nom if info else None,
            "coll_siret": info.siret if info else None,
            "coll_kind": info.kind if info else None,
        }
        if any(getattr(ds_state, k) != v for k, v in update.items()):
            for k, v in update.items():
                setattr(ds_state, k, v)
            changed = True

        if self._full:  # years on the portal with no local file any more are reconciled too
            for res in dataset.resources:
                marked = str(res.extras.get(MARK_ANNEE, ""))
                if marked.isdigit() and int(marked) not in files:
                    files[int(marked)] = self._read_year_file(scope, int(marked))

        for annee, year_file in sorted(files.items()):
            if self.progress:
                self.progress(f"{scope} {annee}")
            try:
                if self._publish_year(dataset, ds_state, year_file, report):
                    changed = True
            except AuthError:
                raise
            except DatagouvError as exc:
                report.failed.append(_failure(scope, annee, str(exc)))
        return changed

    def _publish_year(
        self, dataset: Dataset, ds_state: DatasetState, year_file: YearFile, report: PublishReport
    ) -> bool:
        """Create, replace, delete or leave one yearly resource. Returns True when the state changed."""
        opts = self.options
        scope, annee = year_file.scope, year_file.annee
        title = self._resource_title(scope, annee)
        existing = _find_resource(dataset, ds_state.resources.get(str(annee)), annee, title)
        if year_file.rows == 0:
            if existing is not None:
                self.client.delete_resource(dataset.id, existing.id)
                report.deleted += 1
            if ds_state.resources.pop(str(annee), None) is not None or existing is not None:
                ds_state.modified_at = self._now
                return True
            return False

        data = year_file.data or b""
        sha1 = sha1_hex(data)
        desired = self._resource_payload(scope, annee, year_file.rows, data, sha1)
        kind = opts.resource_kind
        same_file = existing is not None and existing.checksum is not None and existing.checksum.value == sha1
        if existing is not None and kind == "hosted" and existing.filetype != "file":
            self._drop(dataset, existing)  # filetype cannot change: recreate
            existing = None
            same_file = False
        if existing is not None and kind == "remote" and existing.filetype != "remote":
            self._drop(dataset, existing)
            existing = None
            same_file = False

        if not same_file and not self._valid(year_file, report):
            return False

        if kind == "hosted":
            if existing is None:
                resource = self.client.upload_new(dataset.id, title, data)
                action = "created"
            elif not same_file:
                resource = self.client.upload_replace(dataset.id, existing.id, title, data)
                action = "replaced"
            else:
                resource, action = existing, "unchanged"
            meta = {k: desired[k] for k in ("title", "description", "type", "schema", "extras")}
            meta["extras"] = {**resource.extras, **desired["extras"]}
            if _resource_diff(resource, meta):
                self.client.update_resource(dataset.id, resource.id, meta)
        else:
            if existing is None:
                resource = self.client.create_remote_resource(dataset.id, desired)
                action = "created"
            else:
                payload = {**desired, "extras": {**existing.extras, **desired["extras"]}}
                diff = _resource_diff(existing, payload)
                if diff:
                    self.client.update_resource(dataset.id, existing.id, payload)
                resource = existing
                action = "unchanged" if same_file else "replaced"

        setattr(report, action, getattr(report, action) + 1)
        previous = ds_state.resources.get(str(annee))
        url = desired["url"] if kind == "remote" else (resource.latest or resource.url)
        entry = ResourceState(
            resource_id=resource.id,
            title=title,
            kind=kind,
            sha1=sha1,
            filesize=len(data),
            rows=year_file.rows,
            url=url or (previous.url if previous else None),
            first_published_at=previous.first_published_at if previous else self._now,
            published_at=(
                previous.published_at if previous is not None and previous.sha1 == sha1 else self._now
            ),
        )
        if previous == entry:
            return False
        ds_state.resources[str(annee)] = entry
        ds_state.modified_at = self._now
        return True

    def _valid(self, year_file: YearFile, report: PublishReport) -> bool:
        """Validate once per content; an invalid file is reported (every time) and never published."""
        cache: dict[str, str | None] = self.__dict__.setdefault("_verdicts", {})
        data = year_file.data or b""
        digest = sha1_hex(data)
        if digest not in cache:
            verdict = self.validate(data)
            problem = None
            if not getattr(verdict, "valid", False):
                errors = getattr(verdict, "errors", []) or []
                problem = "; ".join(e.render() if hasattr(e, "render") else str(e) for e in errors[:3])
            cache[digest] = problem
        problem = cache[digest]
        if problem is not None:
            report.failed.append(
                _failure(year_file.scope, year_file.annee, f"invalid SCDL file, not published: {problem}")
            )
        return problem is None

    def _drop(self, dataset: Dataset, resource: Resource) -> None:
        self.client.delete_resource(dataset.id, resource.id)
        return None

    # -------------------------------------------------------------------------- datasets
    def _find_dataset(
        self, ds_state: DatasetState | None, scope: str, info: CollectiviteInfo | None
    ) -> Dataset | None:
        """Stored id first; else the ``extras`` marker in the candidate organisations; never the title."""
        if ds_state is not None:
            found = self.client.get_dataset(ds_state.dataset_id)
            if found is not None and found.deleted is None:
                return found
        listings: dict[str, list[Dataset]] = self.__dict__.setdefault("_org_listings", {})
        for org_id in self._candidate_orgs(scope, info):
            if org_id not in listings:  # one listing per organisation and run, not per collectivité
                listings[org_id] = list(self.client.iter_organization_datasets(org_id))
            for dataset in listings[org_id]:
                if _is_ours(dataset, scope, self.flux):
                    return self.client.get_dataset(dataset.id) or dataset
        return None

    def _candidate_orgs(self, scope: str, info: CollectiviteInfo | None) -> list[str]:
        orgs: list[str] = []
        if scope != layout.NATIONAL and info is not None:
            own = self._collectivite_org(info)
            if own is not None:
                orgs.append(own.id)
        opsn = self._opsn()
        if opsn is not None and opsn.id not in orgs:
            orgs.append(opsn.id)
        return orgs

    def _opsn(self) -> Organization | None:
        if self._opsn_org is None and self.options.org:
            self._opsn_org = self.client.get_organization(self.options.org)
        return self._opsn_org

    def _collectivite_org(self, info: CollectiviteInfo) -> Organization | None:
        """The collectivité's own organisation, if it exists AND the key may publish there."""
        cache: dict[str, Organization | None] = self.__dict__.setdefault("_coll_orgs", {})
        if info.siren in cache:
            return cache[info.siren]
        result = None
        if info.siret:
            for org in self.client.find_organizations_by_siret(info.siret):
                if org.id in self._member_of or (org.slug and org.slug in self._member_of):
                    result = org
                    break
        cache[info.siren] = result
        return result

    def _organization_for(
        self, scope: str, info: CollectiviteInfo | None, dataset: Dataset | None
    ) -> tuple[str | None, bool]:
        if dataset is not None and dataset.organization is not None:
            # Already published: its organisation cannot change; no SIRET lookup needed.
            opsn = self._opsn()
            under_coll = info is not None and (opsn is None or dataset.organization.id != opsn.id)
            return dataset.organization.id, under_coll
        if info is not None:
            own = self._collectivite_org(info)
            if own is not None:
                return own.id, True
        opsn = self._opsn()
        return (opsn.id if opsn else None), False

    def _collectivite(self, siren: str, files: dict[int, YearFile]) -> CollectiviteInfo:
        """The CSV's first row (name, SIRET) completed by the directory (kind, INSEE code → spatial)."""
        described = self.describe(siren) if self.describe is not None else None
        from_csv: dict[str, str] = {}
        for year_file in files.values():
            if year_file.data:
                from_csv = first_row(year_file.data)
                if from_csv.get("COLL_NOM"):
                    break
        # The published file's own COLL_NOM / COLL_SIRET win: the dataset must name what the file says.
        nom = from_csv.get("COLL_NOM") or (described.nom if described else None) or f"SIREN {siren}"
        siret = from_csv.get("COLL_SIRET") or (described.siret if described else None) or None
        if described is not None:
            return described.model_copy(update={"nom": nom, "siret": siret})
        return CollectiviteInfo(siren=siren, nom=nom, siret=siret)

    def _dataset_payload(self, scope: str, info: CollectiviteInfo | None, under_coll: bool) -> dict[str, Any]:
        opts = self.options
        opsn = self._opsn()
        opsn_name = opsn.name if opsn else "l'opérateur de services numériques"
        api = f"{opts.public_base_url.rstrip('/')}/v1/deliberations"
        if scope == layout.NATIONAL:
            title = f"Délibérations des collectivités accompagnées par {opsn_name}"
            who = (
                f"les collectivités (communes, intercommunalités, syndicats…) qui transmettent leurs actes "
                f"au contrôle de légalité par la plateforme de {opsn_name}"
            )
            files = "un fichier par année, qui rassemble toutes les collectivités"
            api_link = f"{api}/{layout.NATIONAL}/{{année}}.csv"
            spatial = {"zones": list(opts.opsn_zones), "granularity": "fr:commune"}
        else:
            assert info is not None
            title = f"Délibérations – {info.nom}"
            who = f"{info.nom} (SIREN {info.siren})"
            if not under_coll:
                who += f", publiées pour son compte par {opsn_name}"
            files = "un fichier par année"
            api_link = f"{api}/{scope}/{{année}}.csv"
            spatial = _spatial(info)
        description = "\n".join(
            [
                f"Liste des délibérations adoptées par {who}.",
                "",
                "**Ce que contient ce jeu de données.** Pour chaque délibération : la collectivité, la date, "
                "la matière (nomenclature ACTES), l'objet, le budget concerné, la date de réception en "
                "préfecture, le résultat du vote lorsqu'il est connu et le lien vers le document publié. "
                f"Les fichiers sont au format CSV ({files}) et respectent le schéma national "
                f"[SCDL Délibérations {SCHEMA_VERSION}]({SCHEMA_DOC_URL}) "
                "du Socle commun des données locales.",
                "",
                "**Pourquoi ces données sont publiées.** Les collectivités publient en open data "
                "les documents administratifs qu'elles détiennent (article L. 312-1-1 du code des "
                "relations entre le public et l'administration, issu de la loi n° 2016-1321 du "
                "7 octobre 2016 pour une République "
                "numérique). Seuls les actes dont la publication a été décidée figurent ici ; les actes "
                "individuels et les données personnelles en sont exclus.",
                "",
                "**Mise à jour.** Quotidienne et automatique, à partir des actes transmis au contrôle de "
                "légalité (chaîne Rég@te).",
                "",
                f"**API.** Les mêmes données sont interrogeables par l'API Rég@te : {api_link} "
                f"(filtres et autres formats : {opts.public_base_url.rstrip('/')}/v1/).",
            ]
        )
        return {
            "title": title,
            "description": description,
            "license": LICENSE,
            "frequency": FREQUENCY,
            "tags": list(TAGS),
            "spatial": spatial,
            "private": opts.private,
            "extras": {MARK_FLUX: FLUX, MARK_SCOPE: scope},
        }

    def _resource_payload(self, scope: str, annee: int, rows: int, data: bytes, sha1: str) -> dict[str, Any]:
        opts = self.options
        if scope == layout.NATIONAL:
            url = national_remote_url(opts.public_base_url, annee)
            what = f"Délibérations de l'année {annee}, toutes collectivités confondues"
        else:
            url = collectivite_remote_url(opts.public_base_url, scope, annee)
            what = f"Délibérations de l'année {annee}"
        description = (
            f"{what} ({rows} délibération{'s' if rows > 1 else ''}), au format SCDL Délibérations "
            f"{SCHEMA_VERSION} (CSV UTF-8, séparateur virgule)."
        )
        return {
            "title": resource_title(scope, annee),
            "description": description,
            "url": url,
            "type": "main",
            "format": "csv",
            "mime": "text/csv",
            "filesize": len(data),
            "checksum": {"type": "sha1", "value": sha1},
            "schema": {"name": SCHEMA_NAME, "version": SCHEMA_VERSION},
            "extras": {MARK_FLUX: FLUX, MARK_SCOPE: scope, MARK_ANNEE: str(annee)},
        }

    # --------------------------------------------------------------------------- catalog
    def _write_catalog(self, state: PublishState) -> dict[str, Any]:
        from regate.datagouv.catalog import Producer, build_catalog_csv, build_catalog_jsonld

        opsn = self._opsn()
        producer = Producer(
            nom=opsn.name if opsn else "Rég@te",
            siret=self.options.opsn_siret or (opsn.business_number_id if opsn else None) or "",
            page=opsn.page if opsn else None,
        )
        jsonld = build_catalog_jsonld(state, producer, self.options.public_base_url, self.options.portal_url)
        csv_bytes = build_catalog_csv(state, producer, self.options.portal_url)
        summary: dict[str, Any] = {
            "jsonld": layout.CATALOG_JSONLD_KEY,
            "csv": layout.CATALOG_CSV_KEY,
            "datasets": sum(1 for d in state.datasets.values() if d.resources),
            "resources": sum(len(d.resources) for d in state.datasets.values()),
        }
        verdict = validate_catalogue_csv(csv_bytes)
        summary["csv_valid"] = verdict.valid
        if not verdict.valid:  # never publish an invalid file, the catalogue included
            summary["csv_errors"] = [e.render() for e in verdict.errors[:5]]
        if self.options.dry_run:
            summary["written"] = False
            return summary
        a = self.curated.put_if_changed(layout.CATALOG_JSONLD_KEY, jsonld, content_type="application/ld+json")
        written = a.written
        if verdict.valid:
            b = self.curated.put_if_changed(
                layout.CATALOG_CSV_KEY, csv_bytes, content_type="text/csv; charset=utf-8"
            )
            written = written or b.written
        summary["written"] = written
        return summary

    def _note(self, message: str) -> None:
        if self.progress:
            self.progress(message)


# ------------------------------------------------------------------------------ helpers
def _failure(scope: str, annee: int, reason: str) -> Failure:
    return Failure(siren=None if scope == layout.NATIONAL else scope, annee=annee, reason=reason)


def _is_ours(dataset: Dataset, scope: str, flux: str = FLUX) -> bool:
    return dataset.extras.get(MARK_FLUX) == flux and str(dataset.extras.get(MARK_SCOPE)) == scope


def _find_resource(dataset: Dataset, known: ResourceState | None, annee: int, title: str) -> Resource | None:
    if known is not None:
        for res in dataset.resources:
            if res.id == known.resource_id:
                return res
    for res in dataset.resources:
        if str(res.extras.get(MARK_ANNEE, "")) == str(annee):
            return res
    for res in dataset.resources:  # marker lost (e.g. edited by hand): the stable title
        if res.title.lower() == title.lower():
            return res
    return None


def _spatial(info: CollectiviteInfo) -> dict[str, Any]:
    kind = (info.kind or "").lower()
    if "commune" in kind and "communaut" not in kind and info.code_insee:
        return {"zones": [f"fr:commune:{info.code_insee}"], "granularity": "fr:commune"}
    if kind in {"epci", "cc", "ca", "cu", "metropole", "métropole"} or "communaut" in kind:
        return {"zones": [f"fr:epci:{info.siren}"], "granularity": "fr:epci"}
    if kind == "departement" and info.departement:
        return {"zones": [f"fr:departement:{info.departement}"], "granularity": "fr:departement"}
    if kind == "region" and info.region:
        return {"zones": [f"fr:region:{info.region}"], "granularity": "fr:region"}
    return {"granularity": "other"}


def _dataset_diff(dataset: Dataset, desired: dict[str, Any]) -> list[str]:
    """Fields of ``desired`` that the portal's dataset does not hold (tags compared as sets)."""
    diff: list[str] = []
    for name in ("title", "description", "license", "frequency", "private"):
        if getattr(dataset, name) != desired[name]:
            diff.append(name)
    if set(dataset.tags) != set(desired["tags"]):
        diff.append("tags")
    if any(dataset.extras.get(k) != v for k, v in desired["extras"].items()):
        diff.append("extras")
    spatial = dataset.spatial
    want = desired["spatial"]
    if (
        spatial is None
        or spatial.granularity != want.get("granularity")
        or (want.get("zones") is not None and list(spatial.zones or []) != want["zones"])
    ):
        diff.append("spatial")
    return diff


def _resource_diff(resource: Resource, desired: dict[str, Any]) -> list[str]:
    """Fields of ``desired`` that differ on the portal (schema by name+version, extras by our keys)."""
    diff: list[str] = []
    for name in ("title", "description", "type", "url", "format", "mime", "filesize"):
        if name in desired and getattr(resource, name) != desired[name]:
            diff.append(name)
    if "checksum" in desired:
        current = resource.checksum
        if current is None or (current.type, current.value) != (
            desired["checksum"]["type"],
            desired["checksum"]["value"],
        ):
            diff.append("checksum")
    schema = resource.schema_
    want = desired.get("schema")
    if want is not None and (
        schema is None or (schema.name, schema.version) != (want["name"], want["version"])
    ):
        diff.append("schema")
    if any(resource.extras.get(k) != v for k, v in desired.get("extras", {}).items()):
        diff.append("extras")
    return diff
