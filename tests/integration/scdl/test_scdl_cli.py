"""`regate validate`: messages, JSON output and exit codes (0 valid, 1 errors, 2 unreadable)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from regate.cli import validate as validate_cli

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "scdl" / "corpus"


def make_app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """Group, so ``validate`` stays a subcommand as in the real app."""

    validate_cli.register(app)
    return app


def run(*args: str):
    return CliRunner().invoke(make_app(), ["validate", *args])


def test_valid_file_exits_0() -> None:
    result = run(str(CORPUS / "valid_all_matieres.csv"))
    assert result.exit_code == 0, result.output
    assert "Fichier valide : 57 ligne(s) de données, 0 erreur(s)" in result.output


def test_errors_exit_1_with_french_row_and_column() -> None:
    result = run(str(CORPUS / "multi_rows_mixed.csv"))
    assert result.exit_code == 1
    assert (
        "erreur : ligne 3, colonne COLL_SIRET : La valeur n'est pas conforme au format Siret."
        in result.output
    )
    assert "ligne 5, colonne PREF_DATE" in result.output
    assert "Fichier invalide" in result.output


def test_warnings_do_not_fail_in_validata_mode_but_do_in_strict_mode() -> None:
    path = str(CORPUS / "disordered_columns.csv")
    lenient = run(path, "--validata")
    assert lenient.exit_code == 0
    assert "avertissement : ligne 1 : Colonnes désordonnées" in lenient.output
    assert run(path).exit_code == 1


def test_json_output() -> None:
    result = run(str(CORPUS / "pref_date_before_delib.csv"), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (2, "PREF_DATE", "compare-columns-value")
    ]


def test_schema_option(tmp_path: Path) -> None:
    path = str(CORPUS / "valid_full_row.csv")
    assert run(path, "--schema", "scdl/deliberations@2.1.5").exit_code == 0
    assert run(path, "--schema", "scdl/catalogue").exit_code == 1
    schema_file = tmp_path / "schema.json"
    schema_file.write_text(json.dumps({"fields": [{"name": "COLL_NOM", "constraints": {"required": True}}]}))
    assert run(path, "--schema", str(schema_file), "--validata").exit_code == 0


def test_unreadable_inputs_exit_2(tmp_path: Path) -> None:
    missing = run(str(tmp_path / "absent.csv"))
    assert missing.exit_code == 2
    assert "Fichier illisible" in missing.output
    assert run(str(tmp_path)).exit_code == 2  # a directory
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"fields": [{"name": "A"}], "custom_checks": [{"name": "siret", "params": {}}]})
    )
    assert run(str(CORPUS / "valid_full_row.csv"), "--schema", str(broken)).exit_code == 2
    bad_schema = run(str(CORPUS / "valid_full_row.csv"), "--schema", "scdl/inconnu")
    assert bad_schema.exit_code == 2
    assert "Schéma illisible" in bad_schema.output


def test_non_utf8_and_empty_files_are_reported_not_crashing() -> None:
    latin1 = run(str(CORPUS / "latin1_encoded.csv"))
    assert latin1.exit_code == 1
    assert "n'est pas encodé en UTF-8" in latin1.output
    empty = run(str(CORPUS / "empty_file.csv"))
    assert empty.exit_code == 1
    assert "Le fichier est vide" in empty.output


OUTSIDE = CORPUS.parent / "outside"


def test_validata_mode_reads_a_windows_1252_excel_export_and_says_how() -> None:
    path = str(OUTSIDE / "erp_all_quoted_cp1252_title.csv")
    result = run("--validata", path)
    assert result.exit_code == 0, result.output
    assert "Lecture : encodage cp1252, séparateur point-virgule, en-tête ligne 2." in result.output
    strict = run(path)
    assert strict.exit_code == 1 and "encoding-error" in strict.output


def test_validata_mode_json_reports_reading_and_the_error_cap() -> None:
    result = run("--validata", "--json", str(OUTSIDE / "size_error_cap_mid_row.csv"))
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert len(report["errors"]) == 1000 and report["truncated"] is True
    assert (report["encoding"], report["delimiter"], report["header_row"]) == ("utf-8", ",", 1)
