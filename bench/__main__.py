"""Run every benchmark module, or those named: ``python -m bench [capture normalize …]``."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))
    wanted = [a for a in argv if not a.startswith("-")]
    selected = [n for n in names if not wanted or n.removesuffix("_bench") in wanted]
    if not selected:
        available = ", ".join(n.removesuffix("_bench") for n in names)
        print(f"No benchmark matches {wanted}; available: {available}")
        return 2
    for name in selected:
        print(f"\n=== {name.removesuffix('_bench')} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main([a for a in argv if a.startswith("-")])
        print(f"--- {name} done in {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
