"""``python -m regate.collectivites``: the operators' offline checker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regate.collectivites.__main__ import main

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "collectivites"


def test_check_valid_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "valid.csv")]) == 0
    assert "3 collectivité(s) configured, 0 error(s), 0 warning(s)" in capsys.readouterr().out


def test_check_reports_errors_with_line_and_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "bad_values.csv")]) == 1
    out = capsys.readouterr().out
    assert "line 4, column siren: [invalid_siren]" in out
    assert "line 1, column commentaire: [unknown_column]" in out
    assert "REFUSED" in out and "last good version" in out


def test_check_warnings_only_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FIXTURES / "bom_semicolon.csv")]) == 0
    assert "[semicolon_separator]" in capsys.readouterr().out


def test_check_missing_file(tmp_path: Path) -> None:
    assert main(["check", str(tmp_path / "absent.csv")]) == 2


def test_show_by_siren_and_insee(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "243500139", "01015"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["nom"] == "Rennes Métropole"
    assert lines[1]["siren"] == "200053668"
    assert main(["show", "999999999"]) == 1
