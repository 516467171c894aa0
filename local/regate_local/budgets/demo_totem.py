"""The TOTEM budgets of the Pastell simulator's default seed (Ville de Rennes, exercice 2025: a BP and a
DM), written deterministically by the synthetic generator into ``regate_local/pastell_sim/seed/totem/``;
``python -m regate_local.pastell_sim.seedgen`` then embeds them in ``seed/default.json``.

Run: ``python -m regate_local.budgets.demo_totem`` (then the seedgen).
"""

from __future__ import annotations

import sys
from pathlib import Path

from regate_local.budgets.totem_generator import generate_totem

RENNES_SIRET = "21350238800019"
#: file name → generator arguments
DEMO_TOTEMS: dict[str, dict] = {
    f"DOCBUDG-{RENNES_SIRET}-BP-2025.xml": {
        "etape": "BP",
        "lignes": 60,
        "seed": 2025,
        "scellement": "2025-03-25T10:00:00",
        "date_decision": "2025-03-24",
    },
    f"DOCBUDG-{RENNES_SIRET}-DM1-2025.xml": {
        "etape": "DM",
        "lignes": 15,
        "seed": 20251,
        "scellement": "2025-07-08T10:00:00",
        "date_decision": "2025-07-07",
    },
}


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, options in DEMO_TOTEMS.items():
        path = folder / name
        generate_totem(
            path,
            exercice=2025,
            nomenclature="M57-M57_A",
            siret=RENNES_SIRET,
            libelle_etab="VILLE DE RENNES",
            libelle_coll="VILLE DE RENNES",
            **options,
        )
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    import regate_local.pastell_sim as simulator

    folder = Path(args[0]) if args else Path(simulator.__file__).parent / "seed" / "totem"
    for path in write_all(folder):
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
