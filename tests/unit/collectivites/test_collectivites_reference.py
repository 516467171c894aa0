"""Integrity of the shipped reference table (COG 2026) and of its loader."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest
from stdnum.fr import siren as stdnum_siren

from regate.collectivites import ReferenceData, ReferenceDataError
from regate.collectivites.reference import DATA_DIR, DATA_FILE_NAME, META_FILE_NAME, REFERENCE_COLUMNS


@pytest.fixture(scope="module")
def reference() -> ReferenceData:
    return ReferenceData.load_default()


def test_load_default_is_cached(reference: ReferenceData) -> None:
    assert ReferenceData.load_default() is reference


def test_vintage_and_row_counts(reference: ReferenceData) -> None:
    assert reference.vintage == 2026
    communes = [c for c in reference.all() if c.kind == "commune"]
    epcis = [c for c in reference.all() if c.kind == "epci"]
    # COG 2026: 34,969 current communes, 94 of which have no SIREN (overseas collectivities)
    assert len(communes) == 34_969 - 94
    # 1,255 EPCI à fiscalité propre + 11 EPT of the Grand Paris
    assert len(epcis) == 1_255 + 11
    assert len(reference) == len(communes) + len(epcis)
    assert all(c.cog == 2026 for c in communes[:100])


def test_rennes(reference: ReferenceData) -> None:
    rennes = reference.get("213502388")
    assert rennes is not None
    assert (rennes.nom, rennes.kind, rennes.code_insee, rennes.departement) == (
        "Rennes",
        "commune",
        "35238",
        "35",
    )
    assert rennes.population and rennes.population > 200_000
    assert rennes.epci_siren == "243500139"
    assert rennes.epci_nom == "Rennes Métropole"
    assert rennes.lon is not None and rennes.lat is not None
    assert abs(rennes.lon - (-1.68)) < 0.03 and abs(rennes.lat - 48.11) < 0.03
    assert rennes.siret is None  # no offline source: config or recherche d'entreprises
    assert reference.by_insee("35238") == rennes


def test_rennes_metropole_is_an_epci(reference: ReferenceData) -> None:
    metropole = reference.get("243500139")
    assert metropole is not None
    assert metropole.kind == "epci"
    assert metropole.nature == "METRO"
    assert metropole.nom == "Rennes Métropole"
    assert metropole.code_insee is None
    assert metropole.lon is not None and abs(metropole.lon - (-1.68)) < 0.05


def test_commune_nouvelle_maps_through_the_table_not_arithmetic(reference: ReferenceData) -> None:
    """01015 Arboys en Bugey has SIREN 200053668: no formula on the SIREN gives its INSEE code."""
    arboys = reference.get("200053668")
    assert arboys is not None
    assert arboys.code_insee == "01015"
    assert arboys.nom == "Arboys en Bugey"
    assert reference.by_insee("01015") == arboys
    # The "21 + dép + 0 + commune + check digit" pattern would point elsewhere (or nowhere):
    assert reference.get("210101500") is None


def test_every_siren_is_valid_and_points_are_plausible(reference: ReferenceData) -> None:
    without_point = 0
    for entry in reference.all():
        assert stdnum_siren.is_valid(entry.siren), entry.siren
        if entry.lon is None:
            without_point += 1
            continue
        assert -180 <= entry.lon <= 180 and -90 <= entry.lat <= 90  # type: ignore[operator]
    assert without_point < 30


def test_meta_records_sources_and_checksum() -> None:
    meta = json.loads((DATA_DIR / META_FILE_NAME).read_text(encoding="utf-8"))
    raw = (DATA_DIR / DATA_FILE_NAME).read_bytes()
    assert meta["sha256"] == hashlib.sha256(raw).hexdigest()
    assert meta["cog"] == 2026
    names = {s["name"]: s for s in meta["sources"]}
    assert names["@etalab/decoupage-administratif"]["version"] == "6.0.0"
    assert all(len(s["sha256"]) == 64 for s in meta["sources"])
    assert len(raw) < 3 * 1024 * 1024
    assert (DATA_DIR / "SOURCES.md").exists()


def test_shipped_csv_is_sorted(reference: ReferenceData) -> None:
    text = gzip.decompress((DATA_DIR / DATA_FILE_NAME).read_bytes()).decode("utf-8")
    lines = text.splitlines()
    assert lines[0] == ",".join(REFERENCE_COLUMNS)
    sirens = [line.split(",", 1)[0] for line in lines[1:]]
    assert sirens == sorted(sirens)


def write_table(path: Path, text: str) -> Path:
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))
    return path


def test_loader_rejects_a_file_that_does_not_match_its_checksum(tmp_path: Path) -> None:
    data = write_table(tmp_path / "t.csv.gz", ",".join(REFERENCE_COLUMNS) + "\n")
    (tmp_path / "m.json").write_text(json.dumps({"sha256": "0" * 64}))
    with pytest.raises(ReferenceDataError, match="sha256"):
        ReferenceData.load(data, tmp_path / "m.json")


@pytest.mark.parametrize(
    "body",
    [
        "siren,nom\n213502388,Rennes\n",  # columns missing
        ",".join(REFERENCE_COLUMNS) + "\n213502388,ville,,,,,,,,,,\n",  # unknown kind
        ",".join(REFERENCE_COLUMNS) + "\n213502388,commune,,,A,,,,,,,\n213502388,commune,,,B,,,,,,,\n",
        ",".join(REFERENCE_COLUMNS) + "\n213502388,commune,COM\n",  # ragged
        ",".join(REFERENCE_COLUMNS) + "\n,commune,,,A,,,,,,,\n",  # no SIREN
    ],
)
def test_loader_rejects_inconsistent_tables(tmp_path: Path, body: str) -> None:
    with pytest.raises(ReferenceDataError):
        ReferenceData.load(write_table(tmp_path / "t.csv.gz", body))


def test_small_table_lookups(tmp_path: Path) -> None:
    body = ",".join(REFERENCE_COLUMNS) + (
        "\n200053668,commune,COM,01015,Arboys en Bugey,710,01,84,200040350,5.65,45.72,2026"
        "\n200040350,epci,CC,,CC Bugey Sud,33000,01,84,,5.68,45.75,2026\n"
    )
    table = ReferenceData.load(write_table(tmp_path / "t.csv.gz", body))
    arboys = table.get("200053668")
    assert arboys is not None and arboys.epci_nom == "CC Bugey Sud"
    assert table.get("000000000") is None
    assert "200040350" in table and 200040350 not in table
    assert list(table.sirens()) == ["200040350", "200053668"]


def test_loader_rejects_a_corrupted_archive(tmp_path: Path) -> None:
    (tmp_path / "t.csv.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ReferenceDataError, match="unreadable"):
        ReferenceData.load(tmp_path / "t.csv.gz")


def test_loader_accepts_columns_in_any_order_and_blank_lines(tmp_path: Path) -> None:
    columns = list(reversed(REFERENCE_COLUMNS))
    values = dict.fromkeys(REFERENCE_COLUMNS, "")
    values.update(siren="243500139", kind="epci", nom="Rennes Métropole", cog="2026")
    body = ",".join(columns) + "\n\n" + ",".join(values[c] for c in columns) + "\n"
    table = ReferenceData.load(write_table(tmp_path / "t.csv.gz", body))
    entry = table.get("243500139")
    assert (
        entry is not None and entry.nom == "Rennes Métropole" and entry.kind == "epci" and entry.cog == 2026
    )
