"""Install the test-only oracle packages of ``[tool.regate.oracle]`` (pyproject.toml) into the running venv.

validata-table pins ``opening-hours-py<0.7``, whose releases have no wheel for Python 3.13 (the Lambda
runtime, which the test suite runs on) — only a Rust sdist that cannot build offline. pip cannot override a
dependency's pin, so each oracle package is installed ``--no-deps``, then its own requirements with the
overrides of ``[tool.regate.oracle]`` applied, constrained by the project's own pins (runtime and dev
dependencies: installing the oracle can move none of them). Run by ``make install``, after the project.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from importlib.metadata import requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args], check=True)


def requirements_with_overrides(packages: list[str], overrides: list[str]) -> list[str]:
    """The requirements of the (installed) ``packages``, those named in ``overrides`` replaced by them."""
    replaced = {canonicalize_name(Requirement(o).name): o for o in overrides}
    own = {canonicalize_name(Requirement(p).name) for p in packages}
    out: list[str] = list(replaced.values())
    for package in packages:
        for line in requires(Requirement(package).name) or []:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue  # an optional extra or another platform's requirement
            name = canonicalize_name(requirement.name)
            if name not in replaced and name not in own:
                out.append(str(requirement))
    return out


def main() -> int:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    config = pyproject["tool"]["regate"]["oracle"]
    packages: list[str] = config["packages"]
    overrides: list[str] = config.get("overrides", [])
    project = pyproject["project"]
    pins = [r for r in project["dependencies"] + project["optional-dependencies"]["dev"] if "==" in r]
    _pip("install", "--quiet", "--no-deps", *packages)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as constraints:
        # constraints take no extras: "moto[server]==5" → "moto==5"
        constraints.writelines(f"{Requirement(pin).name}{Requirement(pin).specifier}\n" for pin in pins)
        constraints.flush()
        _pip(
            "install",
            "--quiet",
            "--constraint",
            constraints.name,
            *requirements_with_overrides(packages, overrides),
        )
    if overrides:
        print(f"Overridden on purpose (pip may call them conflicts above): {', '.join(overrides)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
