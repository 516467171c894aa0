"""Generate the Lambda requirements files from pyproject.toml — versions are pinned in ONE place.

The shared layer gets the light dependencies; the two heavy ones ship only with the functions that need
them (pyarrow with normalize and marches; duckdb with api and admin, whose queue reads the internal
Parquet), so every function + layer stays under Lambda's 250 MB unzipped limit. The OCR wheels (the ``ocr``
extra: tesserocr, Pillow) ship only with the OCR function, which has pypdfium2 but no pyarrow/duckdb: the
normaliser + layer has no room left for them. boto3 is provided by the
Lambda runtime but pinned here too, for reproducible behaviour.
``--check`` exits 1 when a file is out of date (used by the test suite).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "# Generated from pyproject.toml by `make requirements` — do not edit.\n"
#: dependency name → where it ships (one file or several)
PLACEMENT: dict[str, str | tuple[str, ...]] = {
    "pyarrow": ("functions/normalize/requirements.txt", "functions/marches/requirements.txt"),
    "duckdb": ("functions/api/requirements.txt", "functions/admin/requirements.txt"),
    "pypdfium2": ("functions/normalize/requirements.txt", "functions/ocr/requirements.txt"),
    "tesserocr": "functions/ocr/requirements.txt",
    "pillow": "functions/ocr/requirements.txt",
}
#: optional-dependency groups shipped to Lambda (each of their packages must have a PLACEMENT)
EXTRAS = ("ocr",)
LAYER = "layers/shared/requirements.txt"
FUNCTIONS = (
    "functions/capture",
    "functions/normalize",
    "functions/publish",
    "functions/api",
    "functions/admin",
    "functions/marches",
    "functions/ocr",
)


def _name(requirement: str) -> str:
    for separator in ("[", "=", "<", ">", "~", "!"):
        requirement = requirement.split(separator, 1)[0]
    return requirement.strip().lower()


def expected_files() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    files: dict[str, list[str]] = {LAYER: []}
    files.update({f"{function}/requirements.txt": [] for function in FUNCTIONS})
    extras = [r for extra in EXTRAS for r in project["optional-dependencies"][extra]]
    for requirement in [*project["dependencies"], *extras]:
        # typer/rich are the CLI; PyJWT/cryptography verify tokens under `regate serve` (API Gateway's JWT
        # authorizer does it in AWS): not needed in Lambda.
        if _name(requirement) in {"typer", "rich", "pyjwt", "cryptography"}:
            continue
        default = None if requirement in extras else LAYER
        placed = PLACEMENT.get(_name(requirement), default)
        if placed is None:
            raise SystemExit(f"{requirement}: an extra shipped to Lambda needs a PLACEMENT")
        for path in (placed,) if isinstance(placed, str) else placed:
            files[path].append(requirement)
    return {path: HEADER + "".join(f"{line}\n" for line in sorted(lines)) for path, lines in files.items()}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, content in expected_files().items():
        target = ROOT / path
        if target.exists() and target.read_text(encoding="utf-8") == content:
            continue
        stale.append(path)
        if not check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
    if check and stale:
        print("Out of date (run `make requirements`): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
