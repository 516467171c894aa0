"""`regate validate FILE.csv`: the fast SCDL validator from the command line.

Exit codes are the contract for scripts and CI: 0 valid (warnings allowed), 1 errors, 2 file or schema
unreadable. Messages are French (« ligne N, colonne X : … »), like validata.fr, for agents of collectivités.
"""

from __future__ import annotations

from pathlib import Path

import typer

_SCHEMA_HELP = (
    "Schéma : nom embarqué (`scdl/deliberations`, `scdl/catalogue`, `scdl/budget`) ou court "
    "(`deliberations`, `budget` = scdl/budget 0.8.3, la version produite par la chaîne), éventuellement "
    "`nom@version` "
    "(`scdl/deliberations@2.1.5`), ou chemin d'un fichier Table Schema JSON."
)


def resolve_schema_name(schema: str) -> tuple[str, str | None]:
    """``--schema`` value → (bundled name or path, version or None); short names come from each flux."""
    from regate.flux.budgets.scdl import CLI_SCHEMA_NAMES, SCHEMA_NAME, SCHEMA_VERSION

    name, _, version = schema.partition("@")
    if name in CLI_SCHEMA_NAMES:
        return SCHEMA_NAME, version or SCHEMA_VERSION
    if name == "deliberations":
        return "scdl/deliberations", version or None
    return name, version or None


def register(app: typer.Typer) -> None:
    """Attach ``validate`` to the ``regate`` app."""

    @app.command("validate")
    def validate_command(
        file: Path = typer.Argument(..., help="Fichier CSV à valider.", show_default=False),
        schema: str = typer.Option("scdl/deliberations", "--schema", help=_SCHEMA_HELP),
        as_json: bool = typer.Option(False, "--json", help="Écrire le rapport complet en JSON sur stdout."),
        validata: bool = typer.Option(
            False,
            "--validata",
            help=(
                "Mode Validata : verdicts identiques à validata.fr (colonnes manquantes facultatives, "
                "désordonnées ou en trop = avertissements). Par défaut : mode strict SCDL du pipeline."
            ),
        ),
    ) -> None:
        """Valider un CSV contre un schéma SCDL (types, contraintes, custom checks Validata).

        Code de sortie : 0 valide, 1 erreurs, 2 fichier ou schéma illisible.
        """
        from regate.scdl.schema import load_schema
        from regate.scdl.validator import validate_csv

        try:
            data = file.read_bytes()
        except OSError as exc:
            typer.echo(f"Fichier illisible : {file} ({exc.strerror or exc})", err=True)
            raise typer.Exit(2) from exc
        name, version = resolve_schema_name(schema)
        try:
            table_schema = load_schema(name, version)
        except (OSError, ValueError) as exc:
            typer.echo(f"Schéma illisible : {exc}", err=True)
            raise typer.Exit(2) from exc

        try:
            report = validate_csv(data, table_schema, strict=not validata)
        except ValueError as exc:  # a custom check of the schema is mis-parameterised
            typer.echo(f"Schéma inutilisable : {exc}", err=True)
            raise typer.Exit(2) from exc
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
        else:
            for issue in report.errors:
                typer.echo(f"erreur : {issue.render()} [{issue.code}]")
            for issue in report.warnings:
                typer.echo(f"avertissement : {issue.render()} [{issue.code}]")
            mode = "strict SCDL" if report.strict else "Validata"
            label = f"{name} {table_schema.version or ''}".strip()
            typer.echo(f"{file.name} — schéma {label}, mode {mode}. {report.summary()}")
            if report.encoding is not None:
                shown = {"\t": "tabulation", ",": "virgule", ";": "point-virgule", "|": "barre verticale"}
                delimiter = shown.get(report.delimiter or ",", repr(report.delimiter))
                typer.echo(
                    f"Lecture : encodage {report.encoding}, séparateur {delimiter}, "
                    f"en-tête ligne {report.header_row}."
                )
        raise typer.Exit(0 if report.valid else 1)
