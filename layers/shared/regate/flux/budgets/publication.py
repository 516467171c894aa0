"""Publication of the SCDL budget files to data.gouv.fr / udata (issue 13, point 5).

The délibérations publisher (:class:`regate.datagouv.publisher.Publisher`) with the budget flux's files,
texts and schema — same two modes (``REGATE_PUBLICATION_MODE``), same two resource kinds
(``REGATE_RESOURCE_KIND``), same idempotence:

* ``opsn``: ONE dataset "Budgets des collectivités accompagnées par …" under the OPSN's organisation, one
  resource per exercice holding the national file ``scdl/budgets/all/{annee}.csv``;
* ``collectivite``: one dataset per collectivité (under its own organisation when the key is a member of
  it, else under the OPSN's, the collectivité named), one resource per exercice
  (``scdl/budgets/{siren}/{annee}.csv``).

Only the curated SCDL budget files are published — never the raw TOTEM XML (its annexes can hold
personal data; the normaliser never makes it public, see :mod:`.chain`). Every resource declares the
schema ``scdl/budget`` 0.8.3; every file is validated in strict mode (:func:`.scdl.validate_budget_csv`)
before its first upload and whenever its bytes change; an invalid file is reported and never uploaded.
Datasets carry ``regate:flux = budgets`` (found again by that marker and the scope, never by title); the
state is ``_state/publish/budgets.json``; a second run with nothing changed makes no write. Remote
resources point at ``/v1/budgets/{siren|all}/{annee}.csv``, which serves the same bytes.

Hooked into the publish stage's full (scheduled) reconcile, like the marchés (``publish_handler``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from regate.clock import Clock, SystemClock
from regate.datagouv.client import DatagouvClient
from regate.datagouv.publisher import (
    LICENSE,
    MARK_ANNEE,
    MARK_FLUX,
    MARK_SCOPE,
    CollectiviteInfo,
    Publisher,
    PublishOptions,
    PublishReport,
    YearFile,
    _spatial,
    count_rows,
    first_row,
)
from regate.flux.budgets.scdl import SCHEMA_NAME, SCHEMA_VERSION
from regate.storage import ObjectStore, layout
from regate.storage.store import dumps_canonical

FLUX = "budgets"
FREQUENCY = "daily"
TAGS = ("scdl", "budget", "budgets", "finances-locales", "collectivites-territoriales")
SCHEMA_DOC_URL = f"https://schema.data.gouv.fr/{SCHEMA_NAME}/{SCHEMA_VERSION}/"


def budget_year_files(curated: ObjectStore, mode: str) -> dict[str, set[int]]:
    """Scopes (``all`` or SIREN) and exercices with a curated SCDL budget file, for ``mode``."""
    found: dict[str, set[int]] = {}
    for key in curated.list_keys(layout.SCDL_BUDGETS_PREFIX):
        parsed = layout.parse_scdl_budgets_key(key)
        if parsed is None:
            continue
        scope, annee = parsed
        try:
            layout.safe_segment(scope, "siren")
        except ValueError:
            continue
        if (mode == "opsn") != (scope == layout.NATIONAL):
            continue
        found.setdefault(scope, set()).add(annee)
    return found


def budget_file_key(scope: str, annee: int) -> str:
    if scope == layout.NATIONAL:
        return layout.scdl_budgets_national_key(annee)
    return layout.scdl_budgets_key(scope, annee)


def budget_resource_title(scope: str, annee: int) -> str:
    """Stable resource title (= uploaded file name, which the portal resets the title to)."""
    if scope == layout.NATIONAL:
        return f"budgets-{int(annee)}.csv"
    return f"budgets-{scope}-{int(annee)}.csv"


def budget_remote_url(public_base_url: str, scope: str, annee: int) -> str:
    """The API route serving the same bytes (``/v1/budgets/{siren|all}/{annee}.csv``)."""
    return f"{public_base_url.rstrip('/')}/v1/budgets/{scope}/{int(annee)}.csv"


def validate_budget_file(data: bytes) -> Any:
    from regate.flux.budgets.scdl import validate_budget_csv

    return validate_budget_csv(data, strict=True)


def _stages(data: bytes) -> list[str]:
    """The ``BGT_NATDEC`` values of a file, in the budget's order of the year (for the texts)."""
    import csv
    import io

    order = ["budget primitif", "budget supplémentaire", "décision modificative", "compte administratif"]
    seen: set[str] = set()
    for row in csv.DictReader(io.StringIO(data.decode("utf-8-sig", errors="replace"), newline="")):
        seen.add(row.get("BGT_NATDEC") or "")
    return [s for s in order if s in seen]


@dataclass
class BudgetsPublisher(Publisher):
    """:class:`Publisher` for ``scdl/budgets/…`` (hooks overridden; no DCAT catalogue of its own yet)."""

    flux = FLUX
    state_key = layout.BUDGETS_PUBLISH_STATE_KEY
    write_catalog = False

    def _year_files(self, mode: str) -> dict[str, set[int]]:
        return budget_year_files(self.curated, mode)

    def _read_year_file(self, scope: str, annee: int) -> YearFile:
        found = self.curated.get_with_etag(budget_file_key(scope, annee))
        if found is None:
            return YearFile(scope, annee, None, 0)
        return YearFile(scope, annee, found[0], count_rows(found[0]))

    def _resource_title(self, scope: str, annee: int) -> str:
        return budget_resource_title(scope, annee)

    def _collectivite(self, siren: str, files: dict[int, YearFile]) -> CollectiviteInfo:
        """The directory's name first (a file's ``BGT_NOM`` may be a budget annexe's), else the file's."""
        described = self.describe(siren) if self.describe is not None else None
        from_csv: dict[str, str] = {}
        for year_file in files.values():
            if year_file.data:
                from_csv = first_row(year_file.data)
                if from_csv.get("BGT_NOM"):
                    break
        nom = (described.nom if described else None) or from_csv.get("BGT_NOM") or f"SIREN {siren}"
        siret = (described.siret if described else None) or from_csv.get("BGT_SIRET") or None
        if described is not None:
            return described.model_copy(update={"nom": nom, "siret": siret})
        return CollectiviteInfo(siren=siren, nom=nom, siret=siret)

    def _dataset_payload(self, scope: str, info: CollectiviteInfo | None, under_coll: bool) -> dict[str, Any]:
        opts = self.options
        opsn = self._opsn()
        opsn_name = opsn.name if opsn else "l'opérateur de services numériques"
        base = opts.public_base_url.rstrip("/")
        api = f"{base}/v1/budgets"
        if scope == layout.NATIONAL:
            title = f"Budgets des collectivités accompagnées par {opsn_name}"
            who = (
                f"des collectivités (communes, intercommunalités, syndicats…) qui transmettent leurs "
                f"documents budgétaires au contrôle de légalité par la plateforme de {opsn_name}"
            )
            files = "un fichier par exercice, qui rassemble toutes les collectivités"
            api_link = f"{api}/{layout.NATIONAL}/{{année}}.csv"
            spatial = {"zones": list(opts.opsn_zones), "granularity": "fr:commune"}
        else:
            assert info is not None
            title = f"Budgets – {info.nom}"
            who = f"de {info.nom} (SIREN {info.siren})"
            if not under_coll:
                who += f", publiés pour son compte par {opsn_name}"
            files = "un fichier par exercice"
            api_link = f"{api}/{scope}/{{année}}.csv"
            spatial = _spatial(info)
        description = "\n".join(
            [
                f"Les budgets votés et les comptes {who}.",
                "",
                "**Ce que contient ce jeu de données.** Chaque ligne est une ligne du document budgétaire : "
                "l'étape (budget primitif, budget supplémentaire, décision modificative, compte "
                "administratif), la section (fonctionnement ou investissement), le sens (recette ou "
                "dépense), le chapitre (`BGT_CONTNAT`) et le compte (`BGT_NATURE`) du plan de comptes avec "
                "leurs libellés, la fonction quand le budget est aussi présenté par fonction, et les "
                "montants du document (prévu, réalisé, propositions nouvelles, restes à réaliser…). "
                "Le budget principal et les budgets annexes (eau, assainissement…) figurent dans le même "
                "fichier et se distinguent par leur nom (`BGT_NOM`) et leur SIRET. "
                f"Les fichiers sont au format CSV ({files}) et respectent le schéma national "
                f"[SCDL Budget {SCHEMA_VERSION}]({SCHEMA_DOC_URL}) du Socle commun des données locales.",
                "",
                "**Comment lire les montants.** Le montant qui compte dépend de l'étape : le prévu "
                "(`BGT_MTPREV`) pour un budget primitif, les propositions nouvelles (`BGT_MTPROPNOUV`) "
                "pour une décision modificative ou un budget supplémentaire, le réalisé (`BGT_MTREAL`) pour "
                "un compte administratif. Un compte financier unique (qui remplace le compte administratif "
                "à partir des comptes 2026) est publié comme compte administratif.",
                "",
                "**Pourquoi ces données sont publiées.** Les documents budgétaires sont des documents "
                "publics (articles L. 2313-1 et L. 1612-1 et suivants du code général des collectivités "
                "territoriales) et les collectivités publient en open data les documents qu'elles "
                "détiennent (article L. 312-1-1 du code des relations entre le public et "
                "l'administration). Seules les lignes budgétaires sont publiées : les fichiers TOTEM "
                "transmis à la préfecture, dont les annexes peuvent contenir des données personnelles, "
                "ne le sont pas.",
                "",
                "**Mise à jour.** Quotidienne et automatique, à partir des documents budgétaires transmis "
                "au contrôle de légalité (chaîne Rég@te). Quand une collectivité transmet une nouvelle "
                "version scellée d'un même document, elle remplace la précédente.",
                "",
                f"**API.** Les mêmes données sont interrogeables par l'API Rég@te : {api_link} ; lignes "
                f"filtrées (étape, section, chapitre, fonction…) : {api} ; synthèse d'un budget : "
                f"{api}/{{SIREN}}/{{année}}/synthese.",
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
        who = "toutes collectivités confondues" if scope == layout.NATIONAL else None
        stages = _stages(data)
        what = f"Lignes budgétaires de l'exercice {annee}"
        if who:
            what += f", {who}"
        description = (
            f"{what} ({rows} ligne{'s' if rows > 1 else ''}"
            + (f" ; étapes : {', '.join(stages)}" if stages else "")
            + f"), au format SCDL Budget {SCHEMA_VERSION} (CSV UTF-8, séparateur virgule)."
        )
        return {
            "title": budget_resource_title(scope, annee),
            "description": description,
            "url": budget_remote_url(opts.public_base_url, scope, annee),
            "type": "main",
            "format": "csv",
            "mime": "text/csv",
            "filesize": len(data),
            "checksum": {"type": "sha1", "value": sha1},
            "schema": {"name": SCHEMA_NAME, "version": SCHEMA_VERSION},
            "extras": {MARK_FLUX: FLUX, MARK_SCOPE: scope, MARK_ANNEE: str(annee)},
        }


def publish_budgets(
    curated: ObjectStore,
    client: DatagouvClient,
    options: PublishOptions,
    clock: Clock | None = None,
    describe: Callable[[str], CollectiviteInfo | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> PublishReport:
    """The publish stage's hook: a full reconcile of the budget files (cheap when nothing changed: one
    listing of ``scdl/budgets/``, a few GETs on the portal, no write). The run report is saved at
    ``_state/runs/publish-budgets/latest.json`` (not on a dry run).

    Raises :class:`regate.datagouv.models.AuthError` on a bad key, before any write.
    """
    clock = clock or SystemClock()
    publisher = BudgetsPublisher(
        curated, client, options, clock=clock, validate=validate_budget_file, describe=describe
    )
    publisher.progress = progress
    report = publisher.run(None)
    report.stage = layout.BUDGETS_PUBLISH_STAGE
    if not options.dry_run:
        curated.put_if_changed(
            layout.run_report_key(layout.BUDGETS_PUBLISH_STAGE),
            dumps_canonical(report.model_dump(mode="json", exclude={"planned_calls"})),
            content_type="application/json",
        )
    return report
