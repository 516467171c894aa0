"""Build the shipped plans de comptes (``layers/shared/regate/flux/budgets/data/``) from official files.

Why a script: the lookup must be reproducible from pinned inputs (sha256 of every source archive and of
every ``planDeCompte.xml``) and nothing at run time may fetch a plan. Input: archives (``.tar.xz``,
``.tar.gz``, ``.tar``) or directories holding ``…/{Exer}/{Norme}/{Declinaison}/planDeCompte.xml``, the
layout of odm-budgetaire.org ``composants/normes/``. The first build used
``../shared/reference/budget/plans-de-comptes-2013-2024.tar.xz`` (215 plans, LGPL-2+ headers kept there).

Output: ``index.json`` (sources, per-plan xml sha256, per-file sha256, counts) and one ``{Norme}.json.xz``
per norme whose plans share de-duplicated tables (see ``regate.flux.budgets.plans``). Output is
deterministic: same inputs → same decoded content (``--check`` compares it with what is shipped).

Yearly procedure (a data-only change, no code): download the new exercice's ``planDeCompte.xml`` files
into ``{Exer}/{Norme}/{Declinaison}/`` (or an archive of them), then
``.venv/bin/python scripts/build_plans_de_comptes.py --add PATH``: the sources already recorded in
``index.json`` are re-read (their sha256 is checked), the new one is recorded, the data are rewritten.
Commit ``data/`` (and keep the source archive where ``index.json`` says, path relative to the repository).
A plan present in several sources is taken from the last one (a corrected re-publication); it is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "layers" / "shared"))

from lxml import etree  # noqa: E402

from regate.flux.budgets.plans import (  # noqa: E402  (after the path tweak, for a bare checkout)
    DATA_DIR,
    DATA_FORMAT,
    INDEX_FILE_NAME,
    norme_file_name,
)

DEFAULT_SOURCE = "../shared/reference/budget/plans-de-comptes-2013-2024.tar.xz"
LICENCE = (
    "Plans de comptes : fichiers planDeCompte.xml de l'ODM (odm-budgetaire.org), en-tête « Copyright 2010 "
    "axYus — ODM print-comp », GNU LGPL v2 ou ultérieure (LGPL-2.0-or-later). Voir SOURCES.md."
)
XZ_PRESET = 9 | lzma.PRESET_EXTREME
_CHAPTER_ATTRS = ("DR", "RR", "DOES", "ROES", "DOIS", "ROIS")


@dataclass(frozen=True)
class PlanXml:
    """One official file as read from a source."""

    exercice: int
    norme: str
    declinaison: str
    data: bytes
    origin: str

    @property
    def key(self) -> str:
        return f"{self.exercice}/{self.norme}/{self.declinaison}"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _key_from_path(parts: tuple[str, ...]) -> tuple[int, str, str] | None:
    if len(parts) < 4 or parts[-1] != "planDeCompte.xml" or not parts[-4].isdigit():
        return None
    return int(parts[-4]), parts[-3], parts[-2]


def read_source(path: Path) -> Iterator[tuple[tuple[int, str, str], bytes, str]]:
    """``((exer, norme, declinaison), xml bytes, member name)`` for every plan in an archive/folder."""
    if path.is_dir():
        for file in sorted(path.rglob("planDeCompte.xml")):
            key = _key_from_path(file.relative_to(path).parts)
            if key is not None:
                yield key, file.read_bytes(), str(file.relative_to(path))
        return
    found: list[tuple[tuple[int, str, str], bytes, str]] = []
    with tarfile.open(path) as archive:
        for member in archive:  # archive order: a compressed tar is read once, without seeking back
            if not member.isfile():
                continue
            key = _key_from_path(tuple(Path(member.name).parts))
            extracted = archive.extractfile(member) if key is not None else None
            if key is not None and extracted is not None:
                found.append((key, extracted.read(), member.name))
    yield from sorted(found, key=lambda item: item[2])


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True)


def parse_plan(data: bytes, where: str) -> dict[str, Any]:
    """``planDeCompte.xml`` → its chapters, accounts (with parent) and fonctions, as plain rows."""
    try:
        root = etree.parse(io.BytesIO(data), _PARSER).getroot()
    except etree.XMLSyntaxError as exc:
        raise SystemExit(f"{where}: XML illisible ({exc})") from exc
    if root.tag != "Nomenclature":
        raise SystemExit(f"{where}: racine {root.tag!r}, attendu Nomenclature")
    nature = root.find("Nature")
    fonction = root.find("Fonction")
    if nature is None:
        raise SystemExit(f"{where}: pas de bloc Nature")
    chapitres: list[tuple[str, ...]] = []
    for block, presentation in ((nature, "nature"), (fonction, "fonction")):
        if block is None:
            continue
        for chapitre in block.iterfind("Chapitres/Chapitre"):
            chapitres.append(
                (
                    chapitre.get("Code", ""),
                    chapitre.get("Libelle", ""),
                    chapitre.get("Section", ""),
                    presentation,
                )
            )
    comptes: dict[str, tuple[str, ...]] = {}
    for compte in nature.iterfind("Comptes//Compte"):
        code = compte.get("Code", "")
        parent = compte.getparent()
        parent_code = parent.get("Code", "") if parent is not None and parent.tag == "Compte" else ""
        row = (code, compte.get("Libelle", ""), parent_code, *(compte.get(a, "") for a in _CHAPTER_ATTRS))
        comptes.setdefault(code, row)  # a code listed twice keeps its first (outermost) definition
    fonctions: dict[str, tuple[str, ...]] = {}
    if fonction is not None:
        for ref in fonction.iterfind("RefFonctionnelles//RefFonc"):
            parent = ref.getparent()
            parent_code = parent.get("Code", "") if parent is not None and parent.tag == "RefFonc" else ""
            fonctions.setdefault(
                ref.get("Code", ""), (ref.get("Code", ""), ref.get("Libelle", ""), parent_code)
            )
    return {
        "attrs": (root.get("Exer", ""), root.get("Norme", ""), root.get("Declinaison", "")),
        "chapitres": chapitres,
        "comptes": list(comptes.values()),
        "fonctions": list(fonctions.values()),
    }


def collect(sources: list[Path]) -> dict[str, PlanXml]:
    plans: dict[str, PlanXml] = {}
    for source in sources:
        for (exercice, norme, declinaison), data, name in read_source(source):
            plan = PlanXml(exercice, norme, declinaison, data, f"{source.name}:{name}")
            if plan.key in plans and plans[plan.key].data != data:
                print(f"  {plan.key}: remplacé par {plan.origin}")
            plans[plan.key] = plan
    return plans


def build(plans: dict[str, PlanXml]) -> tuple[dict[str, bytes], dict[str, Any]]:
    """(file name → decoded JSON bytes per norme, index entries per plan)."""
    by_norme: dict[str, dict[str, dict[str, Any]]] = {}
    entries: dict[str, Any] = {}
    for key in sorted(plans, key=lambda k: (k.split("/")[1], int(k.split("/")[0]), k.split("/")[2])):
        plan = plans[key]
        parsed = parse_plan(plan.data, plan.origin)
        exer, norme, declinaison = parsed["attrs"]
        if norme != plan.norme:
            raise SystemExit(f"{plan.origin}: norme {norme!r} ≠ chemin {key}")
        by_norme.setdefault(plan.norme, {})[f"{plan.exercice}/{plan.declinaison}"] = parsed
        entries[key] = {
            "norme": plan.norme,
            "xml_sha256": sha256(plan.data),
            "comptes": len(parsed["comptes"]),
            "chapitres": len(parsed["chapitres"]),
            "fonctions": len(parsed["fonctions"]),
        }
        # The official tree has files whose attributes disagree with their path (2022/M4/M42 says
        # Exer="2020"; 2023/M57/M57_P says Declinaison="M57_D" but is a distinct, larger plan): the path
        # is what odm-budgetaire serves for that exercice and declinaison, so it keys the plan; noted.
        if exer != str(plan.exercice):
            print(f"  {key}: le fichier déclare Exer={exer!r} (clé gardée : chemin officiel)")
            entries[key]["exer_declare"] = exer
        if declinaison != plan.declinaison:
            print(f"  {key}: le fichier déclare Declinaison={declinaison!r} (clé gardée : chemin officiel)")
            entries[key]["declinaison_declaree"] = declinaison
    files: dict[str, bytes] = {}
    for norme, norme_plans in sorted(by_norme.items()):
        tables: dict[str, list[tuple[str, ...]]] = {"chapitres": [], "comptes": [], "fonctions": []}
        for kind in tables:
            tables[kind] = sorted({row for parsed in norme_plans.values() for row in parsed[kind]})
        positions = {kind: {row: i for i, row in enumerate(rows)} for kind, rows in tables.items()}
        encoded: dict[str, Any] = {}
        seen: dict[str, str] = {}
        for plan_key, parsed in norme_plans.items():
            ids = {kind: sorted(positions[kind][row] for row in parsed[kind]) for kind in tables}
            fingerprint = json.dumps(ids, sort_keys=True)
            if fingerprint in seen:  # identical to an earlier exercice: stored once
                encoded[plan_key] = {"alias": seen[fingerprint]}
                continue
            seen[fingerprint] = plan_key
            encoded[plan_key] = {kind: _deltas(values) for kind, values in ids.items()}
        document = {"format": DATA_FORMAT, "norme": norme, **tables, "plans": encoded}
        files[norme_file_name(norme)] = json.dumps(
            document, ensure_ascii=False, separators=(",", ":"), sort_keys=True
        ).encode("utf-8")
    return files, entries


def _deltas(values: list[int]) -> list[int]:
    """Sorted ids as first value + gaps: long runs of 1 compress to almost nothing."""
    return [b - a for a, b in zip([0, *values], values, strict=False)]


def load_index(data_dir: Path = DATA_DIR) -> dict[str, Any] | None:
    path = data_dir / INDEX_FILE_NAME
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def resolve_sources(recorded: list[dict[str, Any]], added: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Recorded sources (checksums verified) followed by the added ones."""
    out: list[tuple[Path, dict[str, Any]]] = []
    for entry in recorded:
        path = (REPO_ROOT / entry["path"]).resolve()
        if not path.exists():
            raise SystemExit(f"source enregistrée introuvable : {entry['path']} (chemin relatif au dépôt)")
        if path.is_file() and sha256(path.read_bytes()) != entry["sha256"]:
            raise SystemExit(f"{entry['path']} : sha256 différent de celui enregistré dans index.json")
        out.append((path, entry))
    for path in added:
        path = path.resolve()
        if not path.exists():
            raise SystemExit(f"source introuvable : {path}")
        rel = Path(_relative(path))
        entry = {"path": str(rel), "sha256": sha256(path.read_bytes()) if path.is_file() else None}
        out.append((path, entry))
    return out


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(REPO_ROOT))
    except ValueError:
        import os

        return os.path.relpath(path, REPO_ROOT)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--add", type=Path, action="append", default=[], help="source to add (archive or folder)"
    )
    parser.add_argument("--check", action="store_true", help="rebuild in memory, fail if data/ differs")
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="output folder (tests, rehearsals)")
    args = parser.parse_args(argv)
    data_dir: Path = args.data_dir

    index = load_index(data_dir)
    recorded = index["sources"] if index else [{"path": DEFAULT_SOURCE, "sha256": None}]
    if not index:  # first build: pin the default source now
        default = (REPO_ROOT / DEFAULT_SOURCE).resolve()
        recorded = [{"path": DEFAULT_SOURCE, "sha256": sha256(default.read_bytes())}]
    sources = resolve_sources(recorded, args.add)
    for path, entry in sources:
        if path.is_dir():
            entry["sha256"] = None  # a folder is pinned by the per-plan xml_sha256 below
    plans = collect([path for path, _ in sources])
    for _path, entry in sources:
        entry["plans"] = sum(1 for p in plans.values() if p.origin.startswith(f"{_path.name}:"))
    files, entries = build(plans)

    if args.check:  # decoded content is compared: no need to compress
        return _check(files, entries, data_dir)
    compressed = {name: lzma.compress(data, preset=XZ_PRESET) for name, data in files.items()}
    new_index = {
        "format": DATA_FORMAT,
        "build": ".venv/bin/python scripts/build_plans_de_comptes.py [--add SOURCE] [--check]",
        "licence": LICENCE,
        "sources": [entry for _, entry in sources],
        "files": {
            name: {"sha256": sha256(blob), "bytes": len(blob), "decoded_bytes": len(files[name])}
            for name, blob in sorted(compressed.items())
        },
        "plans": entries,
        "counts": {
            "plans": len(entries),
            "exercices": sorted({int(k.split("/")[0]) for k in entries}),
            "normes": sorted({e["norme"] for e in entries.values()}),
            "shipped_bytes": sum(len(b) for b in compressed.values()),
        },
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("*.json.xz"):
        if stale.name not in compressed:
            stale.unlink()
    for name, blob in compressed.items():
        target = data_dir / name
        if target.exists() and lzma.decompress(target.read_bytes()) == files[name]:
            # unchanged content: keep the shipped bytes (and their checksum) as they are
            new_index["files"][name]["sha256"] = sha256(target.read_bytes())
            new_index["files"][name]["bytes"] = target.stat().st_size
            continue
        target.write_bytes(blob)
    new_index["counts"]["shipped_bytes"] = sum(f["bytes"] for f in new_index["files"].values())
    (data_dir / INDEX_FILE_NAME).write_text(
        json.dumps(new_index, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(
        f"{len(entries)} plans, {len(files)} fichiers, "
        f"{new_index['counts']['shipped_bytes'] / 1024:.0f} kio embarqués → {data_dir}"
    )
    return 0


def _check(files: dict[str, bytes], entries: dict[str, Any], data_dir: Path) -> int:
    shipped = load_index(data_dir)
    problems = []
    if shipped is None:
        problems.append("index.json absent")
    else:
        if shipped["plans"] != entries:
            problems.append("index.json : liste des plans différente")
        for name, data in files.items():
            path = data_dir / name
            if not path.exists() or lzma.decompress(path.read_bytes()) != data:
                problems.append(f"{name} : contenu différent")
            elif shipped["files"].get(name, {}).get("sha256") != sha256(path.read_bytes()):
                problems.append(f"{name} : sha256 différent de index.json")
        extra = {p.name for p in data_dir.glob("*.json.xz")} - set(files)
        problems.extend(f"{name} : fichier en trop" for name in sorted(extra))
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
