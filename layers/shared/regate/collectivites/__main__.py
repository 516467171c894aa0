"""``python -m regate.collectivites``: check an operator file before upload, look a SIREN up (offline).

Why here and not in ``regate`` subcommands: operators need it with nothing but the library installed, and
it touches neither S3 nor the network.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from regate.collectivites.config import parse_collectivites_csv
from regate.collectivites.reference import ReferenceData


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m regate.collectivites", description=__doc__.splitlines()[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a config/collectivites.csv file")
    check.add_argument("file", type=Path)
    show = commands.add_parser("show", help="print the reference entry of SIRENs (or INSEE codes)")
    show.add_argument("codes", nargs="+")
    args = parser.parse_args(argv)

    if args.command == "check":
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            print(f"cannot read {args.file}: {exc}", file=sys.stderr)
            return 2
        configs, problems = parse_collectivites_csv(data)
        for problem in problems:
            where = f"line {problem.line}" if problem.line else "file"
            column = f", column {problem.column}" if problem.column else ""
            print(f"{problem.severity.upper():7} {where}{column}: [{problem.code}] {problem.message}")
        errors = sum(1 for p in problems if p.severity == "error")
        warnings = len(problems) - errors
        if errors:
            print(
                f"REFUSED: {errors} error(s), {warnings} warning(s) — uploaded as is, this file would be "
                "ignored whole and its last good version kept"
            )
            return 1
        print(f"{len(configs)} collectivité(s) configured, 0 error(s), {warnings} warning(s)")
        return 0

    reference = ReferenceData.load_default()
    status = 0
    for code in args.codes:
        entry = reference.get(code) or reference.by_insee(code)
        if entry is None:
            print(json.dumps({"query": code, "found": False}))
            status = 1
        else:
            print(json.dumps(entry.model_dump(), ensure_ascii=False))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
