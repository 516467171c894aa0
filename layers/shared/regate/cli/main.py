"""Entry point of the ``regate`` command.

Each group of subcommands lives in its own module under ``regate.cli`` and registers itself here;
heavy imports happen inside the commands so ``regate --help`` stays instant.
"""

from __future__ import annotations

import typer

from regate.cli import capture, demo, normalize, publish, serve, sim, totem, validate
from regate.cli.errors import DEBUG_KEY, RegateGroup

app = typer.Typer(
    name="regate",
    help=(
        "Rég@te — chaîne open data des actes des collectivités (Pastell → SCDL → data.gouv.fr → API).\n\n"
        "Typical night: `regate capture` (pull from Pastell), `regate normalize` (SCDL + Parquet),\n"
        "`regate publish` (data.gouv.fr). Try everything locally with `regate demo`.\n"
        "Configuration comes from REGATE_* environment variables (see README).\n\n"
        "Exit codes: 0 done; 1 done with failed items (see the report) or an unexpected error;\n"
        "2 nothing done: configuration, credentials or reachability (the message says what to set)."
    ),
    cls=RegateGroup,
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _options(
    ctx: typer.Context,
    debug: bool = typer.Option(
        False, "--debug", envvar="REGATE_DEBUG", help="Show the full traceback of an error (for bug reports)."
    ),
) -> None:
    ctx.meta[DEBUG_KEY] = debug


sim_app = typer.Typer(
    help="Local simulators of the outside services (Pastell, data.gouv.fr), for rehearsals."
)
app.add_typer(sim_app, name="sim")

for module in (capture, normalize, validate, publish, serve, demo, totem):
    module.register(app)
sim.register(sim_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
