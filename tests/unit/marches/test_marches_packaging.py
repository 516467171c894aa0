"""The product stands apart from its rehearsal kit: nothing under layers/ imports regate_local (or the kit's
own dependencies), no simulator, local runtime, local server or sample-data module is left in the Lambda
layer, the kit's commands are reached through entry points, and the schema file ships inside the flux folder.
"""

from __future__ import annotations

import ast
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import regate
import regate_local

LAYER = Path(regate.__file__).resolve().parents[1]
ROOT = LAYER.parents[1]

#: modules that moved to the kit (issue 11): none may come back under layers/shared
MOVED_TO_THE_KIT = {
    "regate/pastell/simulator": "regate_local/pastell_sim",
    "regate/datagouv/simulator": "regate_local/datagouv_sim",
    "regate/runtime": "regate_local/runtime",
    "regate/api/local_server.py": "regate_local/serve/server.py",
    "regate/admin/local.py": "regate_local/serve/admin.py",
    "regate/api/sampledata.py": "regate_local/sampledata.py",
}
#: what only the kit may import: itself, and the dependencies of local runs (moto, the PDF writer)
KIT_ONLY_IMPORTS = ("regate_local", "moto", "fpdf", "werkzeug")


def imported_modules(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
    return names


def test_product_never_imports_the_rehearsal_kit() -> None:
    offenders = []
    for path in [*(LAYER / "regate").rglob("*.py"), *(ROOT / "functions").rglob("*.py")]:
        for name in imported_modules(path):
            if any(name == top or name.startswith(f"{top}.") for top in KIT_ONLY_IMPORTS):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []


def test_no_simulator_or_local_runtime_in_the_layer() -> None:
    left = [old for old in MOVED_TO_THE_KIT if (LAYER / old).exists()]
    assert left == []
    for new in MOVED_TO_THE_KIT.values():
        assert (ROOT / "local" / new).exists(), new
    folders = [
        str(p.relative_to(LAYER))
        for p in (LAYER / "regate").rglob("*")
        if p.is_dir() and ("simulator" in p.name or p.name.endswith("_sim") or p.name == "runtime")
    ]
    assert folders == []


def test_the_product_cli_reaches_the_kit_through_entry_points() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    commands = project["entry-points"]["regate.cli"]
    assert set(commands) == {"demo", "serve", "sim_pastell", "sim_datagouv"}
    for name, value in commands.items():
        assert value.startswith("regate_local."), name
        assert callable(EntryPoint(name=name, value=value, group="regate.cli").load())


def test_simulator_is_outside_the_layer_and_the_schema_inside_the_flux() -> None:
    assert LAYER not in Path(regate_local.__file__).resolve().parents
    assert not (LAYER / "regate_local").exists()
    assert (LAYER / "regate" / "flux" / "marches" / "schemas" / "schema_decp_v2.0.4.json").is_file()
