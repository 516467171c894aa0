"""The product stands apart from its rehearsal kit: nothing under layers/ imports regate_local, the simulator
lives outside the Lambda layer, and the schema file ships inside the flux folder."""

from __future__ import annotations

import ast
from pathlib import Path

import regate
import regate_local

LAYER = Path(regate.__file__).resolve().parents[1]


def test_product_never_imports_the_rehearsal_kit() -> None:
    offenders = []
    for path in (LAYER / "regate").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "regate_local" or n.startswith("regate_local.") for n in names):
                offenders.append(str(path.relative_to(LAYER)))
    assert offenders == []


def test_simulator_is_outside_the_layer_and_the_schema_inside_the_flux() -> None:
    assert LAYER not in Path(regate_local.__file__).resolve().parents
    assert not (LAYER / "regate_local").exists()
    assert (LAYER / "regate" / "flux" / "marches" / "schemas" / "schema_decp_v2.0.4.json").is_file()
