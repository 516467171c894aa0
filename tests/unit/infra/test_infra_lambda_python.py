"""`make install` builds .venv on the Lambda runtime's Python (scripts/find_python.sh) and installs the
validata-table oracle with its one override (scripts/install_oracle.py)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
FIND_PYTHON = REPO_ROOT / "scripts" / "find_python.sh"
RUNNING = f"{sys.version_info.major}.{sys.version_info.minor}"


def _find(version: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "pyenv")}
    return subprocess.run(
        ["bash", str(FIND_PYTHON), version], env={**base, **env}, capture_output=True, text=True, check=False
    )


def test_python_override_of_the_right_version_is_used(tmp_path: Path) -> None:
    result = _find(RUNNING, tmp_path, PYTHON=sys.executable)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == sys.executable


@pytest.mark.parametrize("python", ["/nonexistent/python3.13", "/bin/true"])
def test_python_override_that_is_not_the_version_fails_and_says_why(tmp_path: Path, python: str) -> None:
    result = _find("3.99", tmp_path, PYTHON=python)
    assert result.returncode == 1 and result.stdout == ""
    assert f"PYTHON={python} is not a runnable Python interpreter" in result.stderr
    assert "python3.99" in result.stderr


def test_wrong_version_override_is_refused_not_replaced(tmp_path: Path) -> None:
    result = _find("3.99", tmp_path, PYTHON=sys.executable)
    assert result.returncode == 1 and result.stdout == ""
    assert f"is Python {RUNNING}" in result.stderr


def _fake_python(path: Path, answer: str) -> Path:
    """An executable that answers the version probe of find_python.sh with ``answer`` (or fails)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho {answer}\n" if answer else "#!/bin/sh\nexit 1\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_interpreter_found_in_pyenv_versions_newest_first(tmp_path: Path) -> None:
    versions = tmp_path / "pyenv" / "versions"
    _fake_python(versions / "3.99.2" / "bin" / "python3.99", "3.99")
    newest = _fake_python(versions / "3.99.10" / "bin" / "python3.99", "3.99")
    _fake_python(versions / "3.99.11" / "bin" / "python3.99", "")  # broken install: skipped
    _fake_python(versions / "3.98.1" / "bin" / "python3.98", "3.98")
    result = _find("3.99", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(newest)


def test_an_inactive_shim_on_path_is_skipped(tmp_path: Path) -> None:
    shims = tmp_path / "shims"
    _fake_python(shims / "python3.99", "")  # e.g. a pyenv shim for a version that is not activated
    found = _fake_python(tmp_path / "pyenv" / "versions" / "3.99.0" / "bin" / "python3.99", "3.99")
    result = _find("3.99", tmp_path, PATH=f"{shims}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(found)


def test_no_interpreter_explains_how_to_get_one(tmp_path: Path) -> None:
    result = _find("3.99", tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    for hint in ("No Python 3.99 found", "pyenv install 3.99", "PYTHON=/path/to/python3.99", "Lambda"):
        assert hint in result.stderr


def _install_oracle() -> object:
    spec = importlib.util.spec_from_file_location(
        "install_oracle", REPO_ROOT / "scripts" / "install_oracle.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_oracle_requirements_replace_only_the_overridden_pin() -> None:
    pytest.importorskip("validata_core")
    oracle = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["regate"][
        "oracle"
    ]
    assert [o.split("==")[0] for o in oracle["overrides"]] == ["opening-hours-py"]
    requirements = _install_oracle().requirements_with_overrides(  # type: ignore[attr-defined]
        oracle["packages"], oracle["overrides"]
    )
    assert requirements[0] == oracle["overrides"][0]
    assert not [r for r in requirements[1:] if r.lower().startswith(("opening", "validata"))]
    assert any(r.startswith("frictionless") for r in requirements)
    import opening_hours  # the override installed by make install serves validata's custom check

    assert opening_hours.validate("Mo-Fr 08:00-12:00") and not opening_hours.validate("garbage")
