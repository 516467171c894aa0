"""The shipped plans de comptes are reproducible from the pinned source, and adding an exercice is a
data-only change (run the script with ``--add``; no code touched)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from regate.flux.budgets.plans import DATA_DIR, PlansDeComptes

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "build_plans_de_comptes.py"
SOURCE = REPO.parent / "shared" / "reference" / "budget" / "plans-de-comptes-2013-2024.tar.xz"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_shipped_data_match_a_rebuild_from_the_pinned_source() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_adding_an_exercice_is_a_data_only_change(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    with tarfile.open(SOURCE) as archive:
        member = archive.extractfile("plans_de_comptes/2024/M57/M57_A/planDeCompte.xml")
        assert member is not None
        xml = member.read().decode("utf-8")
    xml = xml.replace('Exer="2024"', 'Exer="2025"', 1).replace(
        'Libelle="Charges à caractère général"', 'Libelle="Charges à caractère général (2025)"', 1
    )
    new = tmp_path / "plans-2025" / "2025" / "M57" / "M57_A"
    new.mkdir(parents=True)
    (new / "planDeCompte.xml").write_text(xml, encoding="utf-8")

    before = PlansDeComptes(data_dir=data).resolve(2025, "M57-M57_A")
    assert before.repli is not None and before.plan.exercice == 2024

    result = _run("--add", str(tmp_path / "plans-2025"), "--data-dir", str(data))
    assert result.returncode == 0, result.stdout + result.stderr
    index = json.loads((data / "index.json").read_text(encoding="utf-8"))
    assert "2025/M57/M57_A" in index["plans"] and len(index["sources"]) == 2
    after = PlansDeComptes(data_dir=data).resolve(2025, "M57-M57_A")
    assert after.repli is None and after.plan.cle == "2025/M57/M57_A"
    assert after.plan.chapitre("011").libelle == "Charges à caractère général (2025)"
    assert PlansDeComptes(data_dir=data).plan(2024, "M57_A").chapitre("011").libelle == (
        "Charges à caractère général"
    )
