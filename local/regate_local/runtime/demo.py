"""``regate demo``: the whole chain on a laptop, no cloud account, no network.

Starts an S3 endpoint (moto) and the Pastell, Atexo SDM (marchés publics) and data.gouv.fr simulators on
loopback, runs capture (pull and depot ZIP push) → normalise → publish through the real handlers with S3
events delivered the way production delivers them — and the scheduled marchés function (capture of the
profils d'acheteur → DECP normalisation), published by the publish function's scheduled reconcile — prints
a summary in French and English with the URLs to open, then serves the API — and,
on the same port, the back-office (``/admin/v1/``) behind a local OIDC stand-in with two demo accounts: an
OPSN admin and an agent of the Ville de Rennes (:func:`demo_back_office`, :func:`demo_resolver`).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from regate.settings import Settings
from regate.storage import ObjectStore, layout, make_s3_client
from regate_local.runtime.chain import ChainResult, LocalChain, StageOutcome
from regate_local.runtime.environment import create_buckets, export_settings, start_s3

DEMO_COLLECTIVITES_CSV = Path(__file__).with_name("demo_collectivites.csv")
#: depot ZIPs pushed in the demo: some seeded acts also arrive by push (same act = one document)
DEMO_PUSHED_ACTS = 3


@dataclass
class DemoSummary:
    collectivites: int
    captured: int
    published: int
    metadata_only: int
    withheld: int
    pending: int
    quarantined: int
    years: list[int]
    sirens: list[str]
    example_partition: tuple[str, int] | None
    #: curated scdl/budgets/{siren}/{annee}.csv → rows
    budget_files: dict[str, int] = field(default_factory=dict)


@dataclass
class MarchesSummary:
    """Marchés publics read back from the curated bucket: the published DECP files and the quarantine."""

    contracts: int
    buyers: int
    quarantined: int
    files: int
    example: tuple[str, int] | None


def demo_settings(s3_endpoint: str, pastell_url: str, datagouv_url: str, api_port: int) -> Settings:
    from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG
    from regate_local.pastell_sim import DEMO_LOGIN, DEMO_PASSWORD

    return Settings(
        s3_endpoint_url=s3_endpoint,
        raw_bucket="regate-demo-raw",
        curated_bucket="regate-demo-curated",
        pastell_url=pastell_url,
        pastell_user=DEMO_LOGIN,
        pastell_password=DEMO_PASSWORD,
        pastell_default_since="2020-01-01 00:00:00",
        datagouv_url=datagouv_url,
        datagouv_api_key=DEMO_API_KEY,
        datagouv_org=DEMO_ORG_SLUG,
        public_base_url=f"http://127.0.0.1:{api_port}",
        recherche_entreprises_enabled=False,
        http_backoff_base_seconds=0.05,
        api_cache_dir=str(Path(tempfile.gettempdir()) / "regate-demo-cache"),
    )


def push_depot_zips(pastell_sim: Any, raw: ObjectStore, count: int = DEMO_PUSHED_ACTS) -> list[str]:
    """Drop depot ZIPs of a few acknowledged acts into ``inbox/``, as Pastell's SFTP depot connector does."""
    keys: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for id_e, id_d in depot_candidates(pastell_sim)[:count]:
            path = pastell_sim.write_depot_zip(id_e, id_d, Path(folder))
            key = f"{layout.INBOX_PREFIX}{path.name}"
            raw.client.put_object(
                Bucket=raw.bucket, Key=key, Body=path.read_bytes(), ContentType="application/zip"
            )
            keys.append(key)
    return keys


def depot_candidates(pastell_sim: Any) -> list[tuple[str, str]]:
    """Acknowledged, not cancelled délibérations of the simulator, in a stable order."""
    with pastell_sim.lock:
        documents = list(pastell_sim.platform.documents.values())
    chosen = [
        (doc.id_e, doc.id_d)
        for doc in documents
        if doc.passed_through("acquiter-tdt")
        and not doc.passed_through("annuler-tdt")
        and doc.data.get("acte_nature") == "1"
    ]
    return sorted(chosen)


def summarize(curated: ObjectStore, raw: ObjectStore) -> DemoSummary:
    """Figures read back from the buckets (not from the handlers' own claims)."""
    import pyarrow.parquet as pq

    decisions: dict[str, int] = {}
    sirens: set[str] = set()
    years: set[int] = set()
    for key in curated.list_keys(layout.ACTES_PARQUET_PREFIX):
        table = pq.read_table(io.BytesIO(curated.get_bytes(key)), columns=["siren", "annee", "decision"])
        for siren, annee, decision in zip(
            *(table.column(c).to_pylist() for c in table.column_names), strict=True
        ):
            decisions[decision] = decisions.get(decision, 0) + 1
            sirens.add(siren)
            years.add(annee)
    captured = sum(1 for k in raw.list_keys(layout.PASTELL_PREFIX) if k.endswith("/detail.json"))
    # the partition with the most published délibérations makes the best example URL
    example: tuple[str, int] | None = None
    best = 0
    for obj in curated.list_objects(layout.SCDL_DELIBERATIONS_PREFIX):
        parts = obj["Key"].removeprefix(layout.SCDL_DELIBERATIONS_PREFIX).split("/")
        if len(parts) == 2 and parts[0] != layout.NATIONAL and obj["Size"] > best:
            best, example = obj["Size"], (parts[0], int(parts[1].removesuffix(".csv")))
    quarantined = sum(
        1
        for key in curated.list_keys(layout.QUARANTINE_PREFIX)
        if not key.startswith(layout.DECP_QUARANTINE_PREFIX)  # marchés: see summarize_marches
    )
    budget_files = {
        key: curated.get_bytes(key).count(b"\n") - 1
        for key in curated.list_keys(layout.SCDL_BUDGETS_PREFIX)
        if (parsed := layout.parse_scdl_budgets_key(key)) and parsed[0] != layout.NATIONAL
    }
    return DemoSummary(
        collectivites=len(sirens),
        captured=captured,
        published=decisions.get("publier", 0),
        metadata_only=decisions.get("metadonnees", 0),
        withheld=decisions.get("retenir", 0),
        pending=decisions.get("a_statuer", 0),
        quarantined=quarantined,
        years=sorted(years),
        sirens=sorted(sirens),
        example_partition=example,
        budget_files=budget_files,
    )


def summarize_marches(curated: ObjectStore) -> MarchesSummary:
    """Contracts (marchés + concessions) in the per-buyer DECP files, and the quarantined records."""
    contracts, buyers, files, best = 0, set(), 0, 0
    example: tuple[str, int] | None = None
    for key in curated.list_keys(layout.DECP_PREFIX):
        parsed = layout.parse_decp_key(key)
        if parsed is None or parsed[0] == layout.NATIONAL:
            continue
        document = curated.get_json(key) or {}
        count = len((document.get("marches") or {}).get("marche") or []) + len(
            (document.get("marches") or {}).get("contrat-concession") or []
        )
        contracts, files = contracts + count, files + 1
        buyers.add(parsed[0])
        if count > best:
            best, example = count, parsed
    quarantined = sum(
        len((curated.get_json(key) or {}).get("quarantaine") or [])
        for key in curated.list_keys(layout.DECP_QUARANTINE_PREFIX)
    )
    return MarchesSummary(contracts, len(buyers), quarantined, files, example)


def run_marches_stage(function: Any) -> StageOutcome:
    """The scheduled marchés function, invoked as EventBridge Scheduler does (input ``{}``)."""
    from regate_local.runtime.events import scheduler_event

    outcome = StageOutcome("marches")
    result = function.invoke(scheduler_event({}))
    outcome.invocations += 1
    outcome.results.append(result)
    if not (isinstance(result, dict) and result.get("ok")):
        outcome.failures.append(f"marches: {json.dumps(result, ensure_ascii=False, default=str)[:300]}")
    return outcome


def print_report(
    console: Any,
    result: ChainResult,
    summary: DemoSummary,
    urls: dict[str, str],
    summary_marches: MarchesSummary | None = None,
) -> None:
    from rich.table import Table

    stages = Table(title="Chaîne / Chain", show_lines=False)
    for column in ("étape / stage", "invocations", "événements / events", "statut / status"):
        stages.add_column(column)
    for stage in result.stages:
        status = "[green]OK[/]" if stage.ok else "[red]" + "; ".join(stage.failures)[:120] + "[/]"
        stages.add_row(stage.name, str(stage.invocations), str(stage.events), status)
    console.print(stages)
    s = summary
    console.print(
        f"[bold]Résumé[/] : {s.collectivites} collectivités, {s.captured} actes capturés, "
        f"{s.published} publiés (+ {s.metadata_only} en métadonnées seules), {s.withheld} retenus, "
        f"{s.pending} à statuer, {s.quarantined} en quarantaine."
    )
    console.print(
        f"[bold]Summary[/]: {s.collectivites} local authorities, {s.captured} acts captured, {s.published} "
        f"published (+ {s.metadata_only} metadata only), {s.withheld} withheld, "
        f"{s.pending} pending a decision, {s.quarantined} quarantined."
    )
    if summary_marches is not None:
        m = summary_marches
        console.print(
            f"[bold]Marchés publics[/] : {m.contracts} contrats de {m.buyers} acheteurs publiés "
            f"({m.files} fichiers DECP), {m.quarantined} en quarantaine (avec leurs raisons)."
        )
        console.print(
            f"[bold]Public contracts[/]: {m.contracts} contracts of {m.buyers} buyers published "
            f"({m.files} DECP files), {m.quarantined} quarantined (with their reasons)."
        )
    rows = sum(s.budget_files.values())
    console.print(
        f"[bold]Budgets[/] : {len(s.budget_files)} fichier(s) SCDL budget, {rows} lignes / "
        f"{len(s.budget_files)} SCDL budget file(s), {rows} lines: {', '.join(sorted(s.budget_files))}",
        soft_wrap=True,
        highlight=False,
    )
    console.print("\n[bold]À ouvrir / Open[/]:")
    for label, url in urls.items():
        console.print(f"  {label}\n      {url}", soft_wrap=True, highlight=False)


#: the ``regate:flux`` markers of the flows other than délibérations (whose datasets may predate the marker)
_OTHER_FLUX = ("marches", "budgets")


def _dataset_url(datagouv_url: str, datagouv_sim: Any, flux: str) -> str:
    def of_flux(dataset: dict[str, Any]) -> bool:
        marker = (dataset.get("extras") or {}).get("regate:flux")
        return marker == flux if flux in _OTHER_FLUX else marker not in _OTHER_FLUX

    dataset = next((d for d in datagouv_sim.datasets.values() if of_flux(d)), None)
    return f"{datagouv_url}/api/1/datasets/{dataset['id']}/" if dataset else f"{datagouv_url}/api/1/datasets/"


def _budget_urls(base: str, summary: DemoSummary, datagouv_url: str, datagouv_sim: Any) -> dict[str, str]:
    parsed = next((layout.parse_scdl_budgets_key(key) for key in sorted(summary.budget_files)), None)
    if not parsed:
        return {}
    siren, annee = parsed
    return {
        "Budgets (API) / budget lines": f"{base}/v1/budgets?siren={siren}&annee={annee}&limit=5",
        "Fichier SCDL budget publié / published SCDL budget file": f"{base}/v1/budgets/{siren}/{annee}.csv",
        "Synthèse du budget / budget summary": f"{base}/v1/budgets/{siren}/{annee}/synthese",
        "Lignes mReport budgets / mReport rows (budgets)": f"{base}/v1/mreport/budgets?dataid={siren}",
        "Jeu budgets simulé data.gouv.fr / simulated budgets dataset": _dataset_url(
            datagouv_url, datagouv_sim, "budgets"
        ),
    }


def demo_urls(
    settings: Settings,
    summary: DemoSummary,
    datagouv_url: str,
    datagouv_sim: Any,
    summary_marches: MarchesSummary | None = None,
) -> dict[str, str]:
    base = settings.public_base_url
    siren, year = summary.example_partition or ("213502388", 2024)
    dataset_url = _dataset_url(datagouv_url, datagouv_sim, "deliberations")
    marches: dict[str, str] = {}
    if summary_marches is not None:
        siret, annee = summary_marches.example or ("21350238800019", 2024)
        marches = {
            "Marchés publics (API) / public contracts": (
                f"{base}/v1/marches?acheteur={siret}&annee={annee}&limit=5"
            ),
            "Fichier DECP publié / published DECP file": f"{base}/v1/marches/{siret}/{annee}.json",
            "Statistiques des marchés / contract stats": f"{base}/v1/marches/stats?group=procedure",
            "Lignes mReport marchés / mReport rows (contracts)": (
                f"{base}/v1/mreport/marches?dataid={siret[:9]}"
            ),
            "Jeu DECP simulé data.gouv.fr / simulated DECP dataset": _dataset_url(
                datagouv_url, datagouv_sim, "marches"
            ),
        }
    return {
        "Fichier SCDL / SCDL CSV": f"{base}/v1/deliberations/{siren}/{year}.csv",
        "API JSON filtrée / filtered JSON API": f"{base}/v1/deliberations?siren={siren}&annee={year}&limit=5",
        "Carte GeoJSON (mViewer) / map layer": f"{base}/v1/collectivites.geojson?annee={year}",
        "Lignes mReport / mReport rows": f"{base}/v1/mreport/deliberations?dataid={siren}",
        "Recherche marque blanche / white-label search": f"{base}/v1/marque-blanche?siren={siren}",
        "Jeu simulé data.gouv.fr / simulated dataset": dataset_url,
        **marches,
        **_budget_urls(base, summary, datagouv_url, datagouv_sim),
        "Documentation de l'API / API docs": f"{base}/v1/docs",
    }


def load_demo_extension(name: str) -> Any:
    """The rehearsal kit's piece ``name`` (entry point group ``regate.demo``, declared by ``regate_local``).

    The product never imports the kit by name: in Lambda the kit is not installed and this is never called."""
    from importlib.metadata import entry_points

    found = list(entry_points(group="regate.demo", name=name))
    if not found:
        raise RuntimeError(
            f"regate demo needs the rehearsal kit's {name!r} (package regate_local): run `make install`"
        )
    return found[0].load()


def demo_resolver(settings: Settings) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """One loopback port for both APIs, through the real handlers: ``/admin/v1…`` behind the local JWT
    authorizer (as API Gateway does in AWS) to the admin handler, everything else to the read API handler."""
    from regate.admin.routes import PREFIX
    from regate.admin.tokens import TokenVerifier
    from regate_local.runtime.lambdas import LocalFunction
    from regate_local.serve.admin import jwt_authorizer

    api, admin = LocalFunction("api"), LocalFunction("admin")
    admin_resolve = jwt_authorizer(admin.invoke, TokenVerifier.from_settings(settings).verify)

    def resolve(event: dict[str, Any]) -> dict[str, Any]:
        path = event.get("rawPath") or "/"
        if path == PREFIX or path.startswith(f"{PREFIX}/"):
            return admin_resolve(event)
        return api.invoke(event)

    return resolve


def run_demo(serve: bool = True, host: str = "127.0.0.1", port: int = 8000, console: Any = None) -> int:
    """Run the chain; return 0 only when every stage succeeded. With ``serve``, block serving the API."""
    from rich.console import Console

    from regate_local.datagouv_sim import DatagouvSimulator
    from regate_local.pastell_sim import PastellSimulator

    console = console or Console()
    # The handlers log JSON lines (Powertools) as in Lambda; on a terminal keep only warnings and errors.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    with ExitStack() as stack:
        console.print(
            "[bold]Rég@te — démo locale / local demo[/] "
            "(aucun compte cloud, aucun réseau / no cloud, no network)"
        )
        s3_endpoint = start_s3(stack)
        pastell_sim = PastellSimulator()
        pastell_server = stack.enter_context(pastell_sim.serve(host="127.0.0.1", port=0))
        datagouv_sim = DatagouvSimulator()
        datagouv_server = stack.enter_context(datagouv_sim.serve(host="127.0.0.1", port=0))
        settings = demo_settings(s3_endpoint, pastell_server.url, datagouv_server.url, port)
        settings, _atexo_sim, atexo_url = stack.enter_context(
            load_demo_extension("atexo_simulator")(settings)
        )
        export_settings(settings)
        client = make_s3_client(settings)
        create_buckets(client, settings)
        raw = ObjectStore(client, settings.raw_bucket)
        curated = ObjectStore(client, settings.curated_bucket)
        curated.put_if_changed(
            layout.CONFIG_COLLECTIVITES_KEY, DEMO_COLLECTIVITES_CSV.read_bytes(), content_type="text/csv"
        )
        console.print(
            f"S3 (moto) : {s3_endpoint}  ·  Pastell (simulateur) : {pastell_server.url}  ·  "
            f"Atexo SDM (simulateur) : {atexo_url}  ·  data.gouv.fr (simulateur) : {datagouv_server.url}"
        )
        chain = LocalChain(client, settings.raw_bucket, settings.curated_bucket)
        with console.status("capture → normalisation → publication…"):
            pushed = push_depot_zips(pastell_sim, raw)
            from regate_local.runtime.lambdas import LocalFunction

            marches = run_marches_stage(LocalFunction("marches"))  # before the publish reconcile
            result = chain.run()
            result.stages.insert(0, marches)
        summary = summarize(curated, raw)
        summary_marches = summarize_marches(curated)
        urls = demo_urls(settings, summary, datagouv_server.url, datagouv_sim, summary_marches)
        console.print(f"Dépôts ZIP poussés / depot ZIPs pushed: {len(pushed)}")
        print_report(console, result, summary, urls, summary_marches)
        status = 0 if result.ok and summary.published > 0 and summary_marches.contracts > 0 else 1
        if status:
            console.print(
                "[red]La démo a échoué / the demo failed[/]: "
                + json.dumps({s.name: s.failures for s in result.stages if s.failures}, ensure_ascii=False)
            )
        if not serve:
            return status
        from regate_local.serve.server import make_server, serve_until_interrupted

        oidc = stack.enter_context(load_demo_extension("oidc_simulator")())
        settings, accounts = load_demo_extension("back_office")(settings, oidc, f"http://{host}:{port}")
        export_settings(settings)
        server = make_server(host, port, demo_resolver(settings), verbose=False)
        console.print(f"\n[bold]Back-office[/] : http://{host}:{port}/admin/v1/  (OIDC local: {oidc.issuer})")
        console.print("  Comptes de démonstration / demo accounts (identifiant / mot de passe):")
        for who, credentials in accounts.items():
            console.print(f"    {who}\n        {credentials}", soft_wrap=True, highlight=False)
        console.print(f"\nAPI : http://{host}:{port}/v1/docs — Ctrl-C pour arrêter / to stop")
        serve_until_interrupted(server)
        return status
