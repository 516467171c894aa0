"""`regate validate --schema budget FILE.csv`: the same engine and modes as délibérations, on budget files."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from regate.cli.main import app
from regate.cli.validate import resolve_schema_name
from regate.flux.budgets.convert import convert_document
from regate.flux.budgets.scdl import validate_budget_csv, write_budget_csv
from regate.flux.budgets.totem import read_totem
from regate_local.budgets.totem_generator import generate_totem

runner = CliRunner()


def _budget_file(tmp_path: Path) -> Path:
    out = io.BytesIO()
    generate_totem(out, etape="DM", exercice=2025, lignes=12, seed=4, fonctions=True)
    path = tmp_path / "budget.csv"
    path.write_bytes(write_budget_csv(convert_document(read_totem(out.getvalue())).lignes))
    return path


def test_short_names() -> None:
    assert resolve_schema_name("budget") == ("scdl/budget", "0.8.3")
    assert resolve_schema_name("budgets@0.8.2") == ("scdl/budget", "0.8.2")
    assert resolve_schema_name("deliberations") == ("scdl/deliberations", None)
    assert resolve_schema_name("scdl/catalogue@0.1.3") == ("scdl/catalogue", "0.1.3")


def test_valid_budget_file(tmp_path: Path) -> None:
    path = _budget_file(tmp_path)
    result = runner.invoke(app, ["validate", "--schema", "budget", str(path)])
    assert result.exit_code == 0, result.output
    assert "scdl/budget 0.8.3" in result.output and "strict" in result.output
    # the délibérations schema (the default) refuses it: the option really selects the schema
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 1


def test_invalid_budget_file_same_verdict_as_the_pipeline(tmp_path: Path) -> None:
    path = _budget_file(tmp_path)
    data = path.read_bytes()
    head, _, body = data.partition(b"\r\n")
    bad = head + b"\r\n" + body.replace(b"d\xc3\xa9cision modificative", b"D\xc3\xa9cision modificative", 1)
    path.write_bytes(bad)
    assert not validate_budget_csv(bad, strict=True).valid
    result = runner.invoke(app, ["validate", "--schema", "budget", str(path)])
    assert result.exit_code == 1 and "BGT_NATDEC" in result.output
    report = json.loads(runner.invoke(app, ["validate", "--schema", "budget", "--json", str(path)]).output)
    assert report["valid"] is False and report["errors"]
    # Validata mode: a missing optional column is a warning there, an error in strict mode
    rows = list(csv.reader(io.StringIO(data.decode(), newline="")))
    index = rows[0].index("BGT_ARTSPE")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(
        [c for i, c in enumerate(r) if i != index] for r in rows
    )
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    strict = runner.invoke(app, ["validate", "--schema", "budget", str(path)])
    lenient = runner.invoke(app, ["validate", "--schema", "budget", "--validata", str(path)])
    assert (strict.exit_code, lenient.exit_code) == (1, 0), (strict.output, lenient.output)
    assert runner.invoke(app, ["validate", "--schema", "budget@9.9", str(path)]).exit_code == 2
