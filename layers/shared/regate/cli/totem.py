"""`regate totem FILE.xml… [--out DIR]`: TOTEM budget documents → SCDL « Budget » 0.8.3 CSV files.

One CSV per input (``DIR/<input name>.csv``), then the report: lines converted, calculated totals skipped,
lines set aside (with reasons), every fallback (plan of another exercice or declinaison, chapter by prefix,
label of a parent account…). Every produced file is validated (``validate_budget_csv``, the one call).

Exit codes: 0 every input gave a valid CSV; 1 at least one did not (invalid file written, unreadable or
hostile XML, PDF budget, no plan de comptes); 2 usage error (unreadable input, two inputs with one name).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

MAX_LIGNES_AFFICHEES = 10  # rejected lines printed per file (all are in --json)


def register(app: typer.Typer) -> None:
    """Attach ``totem`` to the ``regate`` app."""

    @app.command("totem")
    def totem_command(
        files: list[Path] = typer.Argument(..., help="Fichiers TOTEM (XML).", show_default=False),
        out: Path = typer.Option(Path("."), "--out", help="Dossier des CSV produits (créé au besoin)."),
        as_json: bool = typer.Option(False, "--json", help="Écrire le rapport complet en JSON sur stdout."),
    ) -> None:
        """Convertir des documents budgétaires TOTEM en fichiers SCDL Budget 0.8.3 (un CSV par fichier).

        Code de sortie : 0 tout est valide, 1 un fichier au moins n'a pas donné de CSV valide,
        2 erreur d'usage (fichier illisible, deux entrées de même nom).
        """
        stems = [f.stem for f in files]
        duplicates = sorted({s for s in stems if stems.count(s) > 1})
        if duplicates:
            typer.echo(f"Deux entrées donneraient le même CSV : {', '.join(duplicates)}", err=True)
            raise typer.Exit(2)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            typer.echo(f"Dossier de sortie inutilisable : {out} ({exc.strerror or exc})", err=True)
            raise typer.Exit(2) from exc
        reports: list[dict[str, Any]] = []
        code = 0
        for file in files:
            try:
                report = convert_file(file, out)
            except OSError as exc:
                typer.echo(f"Fichier illisible : {file} ({exc.strerror or exc})", err=True)
                code = 2
                continue
            reports.append(report)
            if not report["valide"]:
                code = max(code, 1)
            if not as_json:
                _print(report)
        if as_json:
            typer.echo(json.dumps(reports, ensure_ascii=False, indent=2, default=str))
        raise typer.Exit(code)


def convert_file(path: Path, out: Path) -> dict[str, Any]:
    """Convert one file; the report is a plain dict (the JSON of ``--json``). ``OSError`` if unreadable."""
    from regate.flux.budgets.convert import convert_document
    from regate.flux.budgets.plans import PlanIntrouvable
    from regate.flux.budgets.scdl import write_budget_csv
    from regate.flux.budgets.totem import TotemLu, read_totem

    data = path.read_bytes()
    report: dict[str, Any] = {"fichier": str(path), "csv": None, "valide": False}
    result = read_totem(data)
    if not isinstance(result, TotemLu):
        report["resultat"] = result.kind
        code = getattr(result, "code", None)  # TotemInvalide has one, BudgetPdf not
        report["erreur"] = code and str(code)
        report["message"] = result.message
        return report
    try:
        conversion = convert_document(result)
    except PlanIntrouvable as exc:
        report.update(resultat="totem", erreur="plan_introuvable", message=str(exc))
        return report
    csv_bytes = write_budget_csv(conversion.lignes)
    target = out / f"{path.stem}.csv"
    target.write_bytes(csv_bytes)
    validation = validate_step(csv_bytes)
    meta = conversion.metadata
    report.update(
        resultat="totem",
        csv=str(target),
        valide=validation["valide"],
        validation=validation,
        document={
            "siret": meta.siret,
            "nom": meta.libelle_etab,
            "cod_bud": meta.cod_bud,
            "exercice": meta.exercice,
            "etape": meta.etape.value,
            "nomenclature": meta.nomenclature,
            "scellement": meta.scellement.isoformat() if meta.scellement else None,
            "encodage": meta.encodage,
        },
        rapport=conversion.rapport.model_dump(mode="json"),
    )
    return report


def validate_step(csv_bytes: bytes) -> dict[str, Any]:
    """The validation step, one call: the project's validator on the budget schema, strict SCDL mode."""
    from regate.flux.budgets.scdl import validate_budget_csv

    validation = validate_budget_csv(csv_bytes, strict=True)
    return {
        "valide": validation.valid,
        "resume": validation.summary(),
        "erreurs": [issue.render() for issue in validation.errors],
        "avertissements": [issue.render() for issue in validation.warnings],
    }


def _print(report: dict[str, Any]) -> None:
    name = Path(report["fichier"]).name
    if report.get("resultat") != "totem" or report.get("csv") is None:
        typer.echo(f"{name} : non converti — {report.get('message')} [{report.get('erreur') or 'pdf'}]")
        return
    doc, rapport, validation = report["document"], report["rapport"], report["validation"]
    verdict = "valide" if report["valide"] else "INVALIDE"
    typer.echo(
        f"{name} → {report['csv']} : {rapport['lignes_converties']} lignes "
        f"({doc['etape']} {doc['exercice']}, {doc['nom']}, SIRET {doc['siret']}), "
        f"plan {rapport['plan_utilise']} — {verdict}"
    )
    typer.echo(
        f"  lignes calculées ignorées : {rapport['lignes_calculees']} ; "
        f"lignes écartées : {len(rapport['lignes_rejetees'])}"
    )
    if rapport["repli_plan"]:
        typer.echo(f"  repli : {rapport['repli_plan']}")
    for repli in rapport["replis"]:
        typer.echo(f"  repli ({repli['nombre']} ligne(s)) : {repli['message']}")
    for rejet in rapport["lignes_rejetees"][:MAX_LIGNES_AFFICHEES]:
        typer.echo(f"  écartée ligne {rejet['numero']} ({rejet['motif']}) : {rejet['message']}")
    if len(rapport["lignes_rejetees"]) > MAX_LIGNES_AFFICHEES:
        typer.echo(f"  … {len(rapport['lignes_rejetees']) - MAX_LIGNES_AFFICHEES} autre(s) (voir --json)")
    for error in validation["erreurs"][:MAX_LIGNES_AFFICHEES]:
        typer.echo(f"  erreur : {error}")
    if not report["valide"]:
        typer.echo(f"  {validation['resume']}")
