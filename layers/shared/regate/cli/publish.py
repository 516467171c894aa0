"""`regate publish`: reconcile data.gouv.fr / udata with the curated SCDL files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Attach ``publish`` to the ``regate`` app."""
    app.command("publish")(publish)


def publish(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the calls that would be made; write nothing anywhere.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write the run report (JSON) to this file.")
    ] = None,
) -> None:
    """Publish the SCDL délibérations files to data.gouv.fr (REGATE_DATAGOUV_URL, REGATE_DATAGOUV_ORG).

    Full reconciliation: every yearly file is compared with the portal (sha1) and only what changed is
    uploaded; years without rows lose their resource; dirty markers are consumed; the DCAT-AP and SCDL
    catalogues are regenerated. Exit code 1 when anything failed (the run report says what).
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from regate.cli.errors import OperatorError, check_buckets, translate
    from regate.datagouv.client import DatagouvClient
    from regate.datagouv.models import AuthError, DatagouvError
    from regate.datagouv.publisher import PublishOptions
    from regate.datagouv.run import collectivite_describer, run_publish
    from regate.datagouv.state import StateCorrupt
    from regate.settings import get_settings
    from regate.storage import ObjectStore, make_s3_client

    console = Console(stderr=True)
    settings = get_settings()
    if not settings.datagouv_api_key.get_secret_value():
        raise OperatorError(
            f"no data.gouv.fr API key for {settings.datagouv_url}: nothing published",
            "set REGATE_DATAGOUV_API_KEY (or REGATE_DATAGOUV_SECRET_ARN); "
            "REGATE_DATAGOUV_URL names the portal",
        )
    s3 = make_s3_client(settings)
    check_buckets(settings, s3, settings.curated_bucket)
    curated = ObjectStore(s3, settings.curated_bucket)
    client = DatagouvClient.from_settings(settings, dry_run=dry_run)
    options = PublishOptions.from_settings(settings, dry_run=dry_run)
    try:
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True
        ) as bar:
            task = bar.add_task("publishing…", total=None)
            describe = collectivite_describer(curated, settings) if options.mode == "collectivite" else None
            result = run_publish(
                curated,
                client,
                options,
                describe=describe,
                progress=lambda text: bar.update(task, description=f"publishing {text}"),
            )
    except AuthError as exc:
        console.print(
            f"[red]Stopped: {exc}. Check REGATE_DATAGOUV_API_KEY for {settings.datagouv_url}; "
            "nothing was changed."
        )
        raise typer.Exit(1) from exc
    except (DatagouvError, StateCorrupt) as exc:
        unreachable = translate(exc) if isinstance(exc, DatagouvError) and exc.status is None else None
        if unreachable is not None:
            raise unreachable from exc
        console.print(f"[red]Stopped: {exc}")
        raise typer.Exit(1) from exc

    out = Console()
    if dry_run:
        out.print(f"[bold]Dry run[/bold]: {len(result.planned_calls)} write call(s) would be made:")
        for call in result.planned_calls:
            out.print(f"  {call}", markup=False, highlight=False)
    out.print(
        f"created {result.created}, replaced {result.replaced}, unchanged {result.unchanged}, "
        f"deleted {result.deleted}, failed {len(result.failed)}"
    )
    for failure in result.failed:
        who = f"{failure.siren} " if failure.siren else ""
        out.print(f"[red]  failed {who}{failure.annee}: {failure.reason}", highlight=False)
    if report is not None:
        report.write_text(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")
    if result.failed:
        raise typer.Exit(1)
