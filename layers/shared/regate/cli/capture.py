"""``regate capture`` (pull from the Pastell API) and ``regate ingest`` (push: Pastell depot ZIPs)."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from regate.capture.report import RunReport
    from regate.cli.errors import OperatorError
    from regate.settings import Settings
    from regate.storage import ObjectStore

CAPTURE_HELP = """
Capture acknowledged acts from Pastell (API v2) into the raw bucket, as received.

For each entity (`GET /entite`) and each flux of REGATE_PASTELL_FLUX (REGATE_PASTELL_LISTING_CONCURRENCY
pairs at once), lists the documents that passed the
préfecture acknowledgement (`etatTransit=acquiter-tdt`; flux of REGATE_PASTELL_FLUX_SANS_TDT at `termine`)
since the last watermark minus REGATE_PASTELL_OVERLAP_SECONDS, then downloads the detail and files of new or
changed documents (REGATE_PASTELL_CONCURRENCY at once) to `s3://$REGATE_RAW_BUCKET/pastell/{id_e}/{id_d}/`.
An unchanged document costs no download and writes nothing.

Credentials: REGATE_PASTELL_URL plus REGATE_PASTELL_TOKEN (Bearer, Pastell ≥ 4) or REGATE_PASTELL_USER /
REGATE_PASTELL_PASSWORD (Basic). The account needs `<flux>:edition` (Pastell refuses details to read-only
accounts).

Examples:

* `regate capture` — the nightly incremental run;
* `regate capture --since 2024-01-01` — backfill (also re-checks old documents for corrections);
* `regate capture --entite 12 --flux deliberations-studio --report run.json`;
* `regate capture --reconcile` — also compare with a full listing now (documents deleted in Pastell are
  withdrawn; otherwise done every REGATE_PASTELL_RECONCILE_INTERVAL_HOURS).

Cancellations and corrections of old acts are seen by the incremental run: the transitions of
REGATE_PASTELL_TRANSITIONS are listed with their own watermarks. A file Pastell says does not exist is
recorded as missing (a warning), never a failure. The run stops at REGATE_PASTELL_RUN_DEADLINE_SECONDS with
its report saved.

Exit code 1 when any document failed (see the report; failed documents are retried by the next run).
"""

INGEST_HELP = """
Ingest Pastell depot ZIPs (`<id_d>.zip` = metadata.json + files, flux `ged-megalis-opendata`).

Each argument is a local file (copied to `inbox/` first, kept as received) or an `s3://…/inbox/…zip` key of
the raw bucket. Valid ZIPs are stored in the same raw layout as pulled documents; the same act pushed and
pulled is one document; a replayed ZIP changes nothing. Invalid ZIPs go to `inbox-rejected/` with a
`.reason.json` (code + message in French and English), never lost.

Every check (structure, encryption, compression, CRC, metadata.json nesting, file names, identifiers) is
done before anything is written; a ZIP that fails one is rejected with its code and the others go on.

Example: `regate ingest depot/*.zip --report ingest.json`. Exit code 1 when a ZIP was rejected.
"""


def register(app: typer.Typer) -> None:
    """Attach ``capture`` and ``ingest`` to the ``regate`` app."""

    @app.command("capture", help=CAPTURE_HELP)
    def capture(
        since: Annotated[
            str | None,
            typer.Option(help="Backfill from this date (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS', included)"),
        ] = None,
        entite: Annotated[
            list[str] | None, typer.Option("--entite", help="Only this Pastell id_e (repeatable)")
        ] = None,
        flux: Annotated[list[str] | None, typer.Option("--flux", help="Only this flux (repeatable)")] = None,
        report: Annotated[Path | None, typer.Option(help="Write the run report (JSON) to this file")] = None,
        reconcile: Annotated[
            bool, typer.Option("--reconcile", help="Compare with a full Pastell listing now (deletions)")
        ] = False,
    ) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from regate.capture.pull import CaptureOptions, run_capture
        from regate.capture.watermark import parse_pastell_timestamp
        from regate.cli.errors import OperatorError, check_buckets, translate
        from regate.clock import SystemClock
        from regate.pastell.client import PastellClient, PastellError, make_pastell_session
        from regate.settings import get_settings
        from regate.storage import ObjectStore, make_s3_client

        console = Console(stderr=True)
        if since:
            try:
                parse_pastell_timestamp(since)
            except ValueError as exc:
                raise typer.BadParameter(str(exc), param_hint="--since") from exc
        settings = get_settings()
        clock = SystemClock()
        require_pastell_credentials(settings)
        try:
            client = PastellClient.from_settings(settings, make_pastell_session(settings, clock))
        except PastellError as exc:
            raise translate(exc) or OperatorError(str(exc), "check the REGATE_PASTELL_* settings") from exc
        s3 = make_s3_client(settings)
        check_buckets(settings, s3, settings.raw_bucket)
        store = ObjectStore(s3, settings.raw_bucket)
        options = CaptureOptions.from_settings(
            settings,
            since=since,
            entites=entite or (),
            flux=flux or (),
            reconcile=True if reconcile else None,
        )
        columns = (TextColumn("capture"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("capture", total=0)

            def progress(event: str, n: int) -> None:
                if event == "total":
                    bar.update(task, total=(bar.tasks[0].total or 0) + n)
                else:
                    bar.advance(task, n)

            result = run_capture(client, store, clock, options, progress=progress)
        _finish(result, report, console, store, fatal=fatal_pastell_error(result, settings))

    @app.command("ingest", help=INGEST_HELP)
    def ingest(
        zips: Annotated[
            list[str],
            typer.Argument(help="Local ZIP files or s3://bucket/inbox/….zip keys", metavar="ZIP..."),
        ],
        report: Annotated[Path | None, typer.Option(help="Write the run report (JSON) to this file")] = None,
    ) -> None:
        from rich.console import Console
        from rich.progress import track

        from regate.capture.push import (
            DepotLimits,
            ingest_guarded,
            ingest_inbox_object,
            ingest_local_file,
            ingest_report,
        )
        from regate.cli.errors import OperatorError, check_buckets
        from regate.clock import SystemClock, utc_iso
        from regate.settings import get_settings
        from regate.storage import ObjectStore, make_s3_client

        console = Console(stderr=True)
        settings = get_settings()
        clock = SystemClock()
        s3 = make_s3_client(settings)
        check_buckets(settings, s3, settings.raw_bucket)
        store = ObjectStore(s3, settings.raw_bucket)
        started = utc_iso(clock.now())
        limits = DepotLimits.from_settings(settings)
        results = []
        for item in track(zips, description="ingest", console=console, transient=True, disable=len(zips) < 5):
            if item.startswith("s3://"):
                bucket, _, key = item[len("s3://") :].partition("/")
                if bucket != settings.raw_bucket:
                    raise OperatorError(
                        f"{item}: only the inbox of the raw bucket ({settings.raw_bucket}) is read",
                        "copy the ZIP to s3://$REGATE_RAW_BUCKET/inbox/, or pass a local file",
                    )
                results.append(
                    ingest_guarded(key, partial(ingest_inbox_object, store, key, clock, limits=limits))
                )
            else:
                if not Path(item).is_file():
                    raise typer.BadParameter(f"{item}: no such file", param_hint="ZIPS")
                results.append(ingest_guarded(item, partial(ingest_local_file, store, item, clock, limits)))
        _finish(ingest_report(results, clock, started), report, console, store)


def require_pastell_credentials(settings: Settings) -> None:
    """No account configured at all: say so before calling Pastell (it would answer 401 per call)."""
    from regate.cli.errors import OperatorError

    if not settings.pastell_url:
        raise OperatorError("REGATE_PASTELL_URL is not set", "set REGATE_PASTELL_URL to the Pastell root URL")
    if not (settings.pastell_token.get_secret_value() or settings.pastell_user):
        raise OperatorError(
            "no Pastell credentials configured",
            "set REGATE_PASTELL_TOKEN, or REGATE_PASTELL_USER and REGATE_PASTELL_PASSWORD "
            "(or REGATE_PASTELL_SECRET_ARN)",
        )


def fatal_pastell_error(result: RunReport, settings: Settings) -> OperatorError | None:
    """Pastell could not be reached at all (the run failed on ``*`` before any document): exit 2, not 1."""
    from regate.cli.errors import OperatorError

    whole_run = [e for e in result.errors if e.id_e == "*" and e.id_d is None]
    if whole_run and whole_run[0].reason == "injoignable" and not result.captured:
        return OperatorError(
            f"Pastell unreachable at {settings.pastell_url} ({(whole_run[0].message or '')[:160]})",
            "check REGATE_PASTELL_URL and the network (the run report was saved)",
        )
    return None


def _finish(
    result: RunReport,
    report_path: Path | None,
    console: Console,
    store: ObjectStore,
    fatal: OperatorError | None = None,
) -> None:
    """Save and write the report; then the operator error if the run could not start, else print the
    summary and exit 1 on errors."""
    result.save(store)
    if report_path is not None:
        report_path.write_bytes(result.to_json_bytes())
    if fatal is not None:
        raise fatal
    summary = result.summary()
    console.print(
        " · ".join(f"{name}: {count}" for name, count in summary.items())
        + (f"  (report: {report_path})" if report_path else "")
    )
    for error in result.errors[:20]:
        console.print(
            f"[red]✗ {error.id_e}/{error.id_d or '-'} {error.flux}: {error.reason} — {error.message}[/red]"
        )
    if len(result.errors) > 20:
        console.print(f"[red]… and {len(result.errors) - 20} more errors (see the report)[/red]")
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    if result.errors:
        raise typer.Exit(1)
