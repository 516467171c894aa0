"""``regate normalize`` (what changed in raw) and ``regate rebuild`` (the whole curated zone from raw)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

NORMALIZE_HELP = """
Normalise what is pending in the raw bucket into the curated bucket.

Pending = raw documents (`pastell/{id_e}/{id_d}/detail.json`) whose current version differs from the one
their record was built from, plus documents deleted from raw (their records, rows and public documents are
withdrawn). Then every touched (siren, year) partition is rebuilt: `scdl/deliberations/{siren}/{annee}.csv`,
the national `scdl/deliberations/all/{annee}.csv`, Parquet `actes/` and `public/actes/`, and
`public/documents/`; a partition whose CSV changed gets a marker under `_state/dirty/` for `regate publish`.

Pending also covers acts whose decision inputs changed: a row of `config/collectivites.csv`, a line of
`config/overrides.csv` or a flux definition (`pastell-flux/{flux}.json`) — a takedown is applied by the next
run, and the next `regate publish` follows the dirty markers.

The report (rows written, acts withheld or pending with their decision, quarantined acts with reasons,
warnings, errors) is saved at `_state/runs/normalize/latest.json` in the curated bucket and, with
`--report`, to a local file. Operator inputs: `config/collectivites.csv` and `config/overrides.csv` in the
curated bucket. An operator file that cannot be read (bad encoding, NUL bytes, unbalanced quote, wrong cell
count, bad value) is never half-applied: its last good S3 version is used and the run reports an error.

Example: `regate normalize --report run.json`. Exit code 1 when an act was quarantined or an input file
was refused.
"""

REBUILD_HELP = """
Recompute the whole curated zone from raw (records, SCDL files, Parquet, public documents, quarantine).

Every curated file is a pure function of raw + settings: a second rebuild is byte-identical and writes no
new S3 version. Use it after changing settings (REGATE_PUBLIC_BASE_URL…) or operator files.
"""


def _run(mode: str, report_path: Path | None, workers: int) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from regate.cli.errors import check_buckets
    from regate.normalize.run import run_normalize
    from regate.settings import get_settings
    from regate.storage import ObjectStore, make_s3_client

    console = Console(stderr=True)
    settings = get_settings()
    client = make_s3_client(settings)
    check_buckets(settings, client, settings.raw_bucket, settings.curated_bucket)
    raw = ObjectStore(client, settings.raw_bucket)
    curated = ObjectStore(client, settings.curated_bucket)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("documents", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = run_normalize(raw, curated, settings, mode=mode, workers=workers, progress=advance)  # type: ignore[arg-type]
    data = report.model_dump(mode="json")
    if report_path is not None:
        report_path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    console.print(
        f"[green]{mode}[/green]: {report.acts_normalised} acts normalised, "
        f"{report.documents_skipped} unchanged, "
        f"{report.rows_written} SCDL rows written in {sum(p.csv_changed for p in report.partitions)} files; "
        f"{len(report.withheld)} withheld, {len(report.pending)} pending, "
        f"{len(report.quarantined)} quarantined, "
        f"{len(report.withdrawn)} withdrawn, {len(report.warnings)} warnings, {len(report.errors)} errors."
    )
    for item in report.quarantined:
        console.print(f"[red]quarantine[/red] {item.id_e}/{item.id_d}: {item.reason} — {item.message}")
    for item in report.pending:
        console.print(f"[yellow]pending[/yellow] {item.id_e}/{item.id_d} ({item.numero}): {item.reason}")
    for error in report.errors:
        console.print(f"[bold red]ERROR[/bold red] {error.code}: {error.message}", highlight=False)
    if report.quarantined or report.errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach ``normalize`` and ``rebuild`` to the ``regate`` app."""

    @app.command("normalize", help=NORMALIZE_HELP)
    def normalize(
        report: Annotated[Path | None, typer.Option(help="Write the run report (JSON) to this file")] = None,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Documents normalised in parallel")] = 4,
    ) -> None:
        _run("normalize", report, workers)

    @app.command("rebuild", help=REBUILD_HELP)
    def rebuild(
        report: Annotated[Path | None, typer.Option(help="Write the run report (JSON) to this file")] = None,
        workers: Annotated[int, typer.Option(min=1, max=64, help="Documents normalised in parallel")] = 4,
    ) -> None:
        _run("rebuild", report, workers)
