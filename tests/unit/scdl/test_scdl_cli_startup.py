"""`regate validate` starts fast: the command path imports nothing heavy before validating.

Run in a fresh interpreter (``sys.modules`` of the test process is polluted by other tests). The child runs
the real entry point (``regate.cli.main:main``) on a corpus file, with ``validate_csv`` wrapped so that it
records ``sys.modules`` at the moment validation starts (= the whole start-up: CLI, option parsing, schema).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import regate

FIXTURE = Path(__file__).parents[2] / "fixtures/scdl/corpus"

# Never needed to validate a CSV: the Parquet/SQL/AWS stacks and the help renderer.
HEAVY_AT_START = ("pyarrow", "duckdb", "boto3", "botocore", "rich", "pandas", "numpy", "pydantic_settings")
NEVER = ("duckdb", "boto3", "botocore", "pandas")

_CHILD = """
import json, sys
import regate.scdl.validator as validator
seen = {}
real = validator.validate_csv
def recording(*args, **kwargs):
    seen["start"] = sorted(sys.modules)
    return real(*args, **kwargs)
validator.validate_csv = recording
from regate.cli.main import main
sys.argv = ["regate", "validate", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    seen["exit"] = exc.code
seen["end"] = sorted(sys.modules)
print("\\n" + json.dumps(seen))
"""


def _run(*args: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(regate.__file__).parents[1]), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _roots(modules: list[str]) -> set[str]:
    return {m.partition(".")[0] for m in modules}


def test_validate_command_imports_nothing_heavy_before_validating() -> None:
    csv_file = next(iter(sorted(FIXTURE.glob("*.csv"))))
    for args in ([str(csv_file)], ["--validata", "--json", str(csv_file)]):
        seen = _run(*args)
        assert seen["exit"] in (0, 1), seen["exit"]  # the command really ran to a verdict
        start = _roots(seen["start"])
        assert {"typer", "regate", "pydantic"} <= start  # recorded where it should be: inside the command
        assert "regate.scdl.schema" in seen["start"]
        assert not start & set(HEAVY_AT_START), sorted(start & set(HEAVY_AT_START))
        assert not _roots(seen["end"]) & set(NEVER), sorted(_roots(seen["end"]) & set(NEVER))


def test_unreadable_file_exits_2_without_heavy_imports(tmp_path: Path) -> None:
    seen = _run(str(tmp_path / "absent.csv"))
    assert seen["exit"] == 2
    assert "start" not in seen  # validation never began
    assert not _roots(seen["end"]) & set(NEVER)
