"""The template passes `sam validate`, `sam validate --lint`, `cfn-lint`, and `sam build` succeeds with every
function + layers under Lambda's 250 MB unzipped limit, and the built layer holds no code of the local kit
(simulators, local runtime, local server, sample data). Uses the SAM CLI installed by `make install`
(.venv-infra); offline apart from `sam build`'s pip downloads from PyPI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
INFRA_BIN = REPO_ROOT / ".venv-infra" / "bin"
TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024

pytestmark = pytest.mark.integration


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(AWS_DEFAULT_REGION="eu-west-3", AWS_EC2_METADATA_DISABLED="true", SAM_CLI_TELEMETRY="0")
    # `sam build` resolves wheels with a python3.13 found on PATH: the suite's (checked to be the runtime's)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _tool(name: str) -> str:
    path = INFRA_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make install` (it installs the SAM CLI into .venv-infra)")
    return str(path)


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=REPO_ROOT, env=_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def test_sam_validate() -> None:
    result = _run(_tool("sam"), "validate", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint() -> None:
    result = _run(_tool("sam"), "validate", "--lint", "--template-file", str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_cfn_lint() -> None:
    result = _run(_tool("cfn-lint"), str(TEMPLATE))
    assert result.returncode == 0, result.stdout + result.stderr


#: modules of the local kit (issue 11) that must never be in the layer, whatever their old or new name
KIT_PATHS = (
    "regate_local",
    "moto",
    "fpdf",
    "regate/pastell/simulator",
    "regate/datagouv/simulator",
    "regate/runtime",
    "regate/api/local_server.py",
    "regate/admin/local.py",
    "regate/api/sampledata.py",
)


def kit_code_in(python_dir: Path) -> list[str]:
    """What of the local kit a built layer holds: its folders, simulator folders, modules importing it."""
    found = [p for p in KIT_PATHS if (python_dir / p).exists()]
    regate_dir = python_dir / "regate"
    found += [
        str(d.relative_to(python_dir))
        for d in regate_dir.rglob("*")
        if d.is_dir() and ("simulator" in d.name or d.name.endswith("_sim") or d.name == "runtime")
    ]
    found += [
        str(f.relative_to(python_dir))
        for f in regate_dir.rglob("*.py")
        if re.search(r"^\s*(from|import)\s+regate_local\b", f.read_text(encoding="utf-8"), re.MULTILINE)
    ]
    return sorted(set(found))


def test_kit_code_in_finds_what_it_must(tmp_path: Path) -> None:
    """The check of the built layer is able to fail (on a layer laid out the pre-issue-11 way)."""
    (tmp_path / "regate" / "pastell" / "simulator").mkdir(parents=True)
    (tmp_path / "regate" / "cli").mkdir()
    (tmp_path / "regate" / "cli" / "demo.py").write_text("from regate_local.runtime import demo\n")
    (tmp_path / "regate" / "cli" / "ok.py").write_text("# regate_local is mentioned, not imported\n")
    assert kit_code_in(tmp_path) == ["regate/cli/demo.py", "regate/pastell/simulator"]
    assert kit_code_in(tmp_path / "regate" / "cli") == []


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


@pytest.mark.slow
def test_sam_build_and_unzipped_sizes(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    result = _run(
        _tool("sam"),
        "build",
        "--template-file",
        str(TEMPLATE),
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(REPO_ROOT / ".aws-sam" / "cache"),
        "--cached",
        timeout=1200,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    layer = _size(build_dir / "SharedLayer")
    assert (build_dir / "SharedLayer" / "python" / "regate" / "__init__.py").exists()
    assert kit_code_in(build_dir / "SharedLayer" / "python") == []
    report = {"SharedLayer": layer}
    for function in (
        "CaptureFunction",
        "NormalizeFunction",
        "PublishFunction",
        "ApiFunction",
        "AdminFunction",
        "OcrFunction",
    ):
        total = _size(build_dir / function) + layer
        report[function] = total
        assert total < LAMBDA_UNZIPPED_LIMIT, f"{function}: {total / 2**20:.0f} MB unzipped with layer"
    print("unzipped sizes (MB, function + layer):", {k: round(v / 2**20, 1) for k, v in report.items()})
