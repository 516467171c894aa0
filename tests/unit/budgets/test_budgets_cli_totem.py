"""`regate totem FILE.xml… [--out DIR]`: one CSV per input, the report, and the exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regate.cli.main import app

runner = CliRunner()


def test_converts_each_input_and_reports(tmp_path: Path, totem_samples: Path) -> None:
    inputs = [
        totem_samples / "BP2022_TRANSPORT.xml",
        totem_samples / "DOCBUDG-21560046100085-056025-DM1-2022-05072022000000.xml",
    ]
    result = runner.invoke(app, ["totem", *map(str, inputs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    for path in inputs:
        csv = tmp_path / "out" / f"{path.stem}.csv"
        assert csv.read_bytes().startswith(b"BGT_NATDEC,")
    assert "123 lignes" in result.output and "valide" in result.output
    assert "4581001" in result.output and "6518" in result.output  # fallbacks are reported


def test_json_report(tmp_path: Path, budget_fixtures: Path) -> None:
    result = runner.invoke(
        app, ["totem", str(budget_fixtures / "converter_cases.xml"), "--out", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["valide"] is True and report["validation"]["erreurs"] == []
    assert report["rapport"]["lignes_calculees"] == 1 and len(report["rapport"]["lignes_rejetees"]) == 11
    assert report["document"]["etape"] == "BP" and report["document"]["encodage"] == "UTF-8"


def test_pdf_hostile_and_planless_inputs_exit_1_and_the_rest_goes_on(
    tmp_path: Path, budget_fixtures: Path
) -> None:
    inputs = [
        budget_fixtures / "budget.pdf",
        budget_fixtures / "hostile" / "xxe_file.xml",
        budget_fixtures / "hostile" / "unknown_nomenclature.xml",
        budget_fixtures / "minimal_utf8.xml",
    ]
    result = runner.invoke(app, ["totem", *map(str, inputs), "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "PDF" in result.output and "dtd_interdite" in result.output and "plan_introuvable" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["minimal_utf8.csv"]


def test_an_invalid_produced_file_exits_1(tmp_path: Path, budget_fixtures: Path, monkeypatch) -> None:
    """The validation step is one call; when it says invalid, the command says so and exits 1."""
    from regate.flux.budgets import scdl

    real = scdl.validate_budget_csv

    def corrupting(data: bytes, *, strict: bool = True):
        return real(data.replace(b"21560046100085", b"21560046100086"), strict=strict)  # bad SIRET

    monkeypatch.setattr(scdl, "validate_budget_csv", corrupting)
    result = runner.invoke(app, ["totem", str(budget_fixtures / "minimal_utf8.xml"), "--out", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert "INVALIDE" in result.output and "BGT_SIRET" in result.output


def test_usage_errors_exit_2(tmp_path: Path, budget_fixtures: Path) -> None:
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(budget_fixtures / "minimal_utf8.xml", other / "minimal_utf8.xml")
    same_name = runner.invoke(
        app, ["totem", str(budget_fixtures / "minimal_utf8.xml"), str(other / "minimal_utf8.xml")]
    )
    assert same_name.exit_code == 2
    missing = runner.invoke(app, ["totem", str(tmp_path / "absent.xml"), "--out", str(tmp_path)])
    assert missing.exit_code == 2


@pytest.mark.parametrize("name", ["billion_laughs.xml", "truncated.xml", "not_xml.bin"])
def test_no_csv_for_unreadable_totem(tmp_path: Path, budget_fixtures: Path, name: str) -> None:
    result = runner.invoke(app, ["totem", str(budget_fixtures / "hostile" / name), "--out", str(tmp_path)])
    assert result.exit_code == 1 and "non converti" in result.output
    assert list(tmp_path.iterdir()) == []
