"""The query layer on an in-memory bucket: filters, pruning, keyset cursor, cache, documents."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from api_memory_store import MemoryStore

from regate.api.dataset import PublicDataset, data_version
from regate.api.errors import ApiError
from regate.api.query import ActesQuery, Cursor, Filtres, fold, search_tokens
from regate.storage import layout
from regate_local.sampledata import Acte, parquet_bytes, write_partitions

A, B = "213502388", "243500139"


@pytest.fixture(params=[64, 0], ids=["files", "memory-table"])
def query(memory_store: MemoryStore, tmp_path: Path, request: pytest.FixtureRequest) -> ActesQuery:
    """Both read paths: per-request read_parquet on few files, and the in-memory table (national)."""
    actes = [
        Acte(
            A,
            date(2024, 1, 10),
            "Subvention à l'Association des Élèves",
            acte_id="a1",
            document_id="docA1xxxx",
        ),
        Acte(
            A,
            date(2024, 1, 10),
            "Budget primitif",
            acte_id="a2",
            delib_matiere_code="7.1",
            document_id="docA2xxxx",
            annexes=[{"document_id": "annexeA2xx", "nom": "plan.pdf"}],
        ),
        Acte(
            A,
            date(2023, 5, 1),
            "Tarifs de la piscine",
            acte_id="a3",
            delib_matiere_code="7.10",
            documents_publics=False,
            document_id="docA3xxxx",
        ),
        Acte(A, date(2024, 2, 1), "Arrêté", acte_id="a4", nature=2),
        Acte(B, date(2024, 3, 3), "ÉLÈVES et écoles", acte_id="b1", delib_matiere_code="8.1"),
    ]
    write_partitions(memory_store, actes)
    memory_store.put_if_changed(layout.PUBLIC_ACTES_PARQUET_PREFIX + "README.txt", b"not a partition")
    return ActesQuery(
        PublicDataset(memory_store, tmp_path / "cache", list_ttl_seconds=60), memory_threshold=request.param
    )


def ids(page_rows: list[dict]) -> list[str]:
    return [r["acte_id"] for r in page_rows]


def test_fold_and_tokens_are_french_aware() -> None:
    assert fold("ÉLÈVES Noël ça") == "eleves noel ca"
    assert search_tokens("Les élèves de l'école") == ["eleves", "ecole"]
    assert search_tokens("de la") == ["de", "la"]  # only stopwords: keep them


@pytest.mark.parametrize(
    ("filtres", "expected"),
    [
        (Filtres(natures=(1,)), ["b1", "a2", "a1", "a3"]),
        (Filtres(), ["b1", "a4", "a2", "a1", "a3"]),
        (Filtres(sirens=(B,), natures=(1,)), ["b1"]),
        (Filtres(annee=2023), ["a3"]),
        (Filtres(date_min=date(2024, 1, 11), date_max=date(2024, 2, 28)), ["a4"]),
        (Filtres(matiere="7.1"), ["a2"]),
        (Filtres(matiere="7"), ["a4", "a2", "a1", "a3"]),
        (Filtres(tokens=("eleves",)), ["b1", "a1"]),
        (Filtres(tokens=("eleves", "ecoles")), ["b1"]),
        (Filtres(publie=False), ["a3"]),
    ],
)
def test_filters(query: ActesQuery, filtres: Filtres, expected: list[str]) -> None:
    page = query.page(filtres, "-delib_date", 50, None, [])
    assert ids(page.rows) == expected
    assert page.total == len(expected)


def test_partition_pruning_downloads_only_what_is_needed(query: ActesQuery) -> None:
    if query.memory_threshold == 0:
        pytest.skip("the in-memory table holds every partition by design")
    query.page(Filtres(sirens=(B,), annee=2024), "-delib_date", 10, None, [])
    assert query.dataset.downloads == 1
    query.page(Filtres(sirens=(A,), date_min=date(2024, 1, 1)), "-delib_date", 10, None, [])
    assert query.dataset.downloads == 2  # A/2024 only; A/2023 is before date_min
    query.page(Filtres(), "-delib_date", 10, None, [])
    assert query.dataset.downloads == 3
    query.page(Filtres(), "-delib_date", 10, None, [])
    assert query.dataset.downloads == 3 and query.dataset.list_calls == 3  # B, A, then all; then TTL


def test_new_version_replaces_cached_file(query: ActesQuery, memory_store: MemoryStore) -> None:
    assert query.page(Filtres(sirens=(B,)), "-delib_date", 10, None, []).total == 1
    old_version = query.version(Filtres(sirens=(B,)))
    write_partitions(
        memory_store, [Acte(B, date(2024, 3, 3), "x", acte_id="b1"), Acte(B, date(2024, 4, 4), "y")]
    )
    query.dataset.invalidate()
    assert query.page(Filtres(sirens=(B,)), "-delib_date", 10, None, []).total == 2
    assert query.version(Filtres(sirens=(B,))) != old_version
    cached = list((query.dataset.cache_dir).glob("*.parquet"))
    assert len([p for p in cached if p.stat().st_size]) == len({p.name.split(".")[0] for p in cached})


def test_object_changed_between_list_and_get_is_retried(query: ActesQuery, memory_store: MemoryStore) -> None:
    query.dataset.snapshot()  # listing cached with the old ETag
    write_partitions(memory_store, [Acte(B, date(2024, 3, 3), "x", acte_id="b9")])
    page = query.page(Filtres(sirens=(B,)), "-delib_date", 10, None, [])
    assert ids(page.rows) == ["b9"]


def test_keyset_pagination_and_ties(query: ActesQuery) -> None:
    f = Filtres(natures=(1,))
    first = query.page(f, "-delib_date", 2, None, ["acte_id"])
    assert ids(first.rows) == ["b1", "a2"] and first.next_cursor
    cursor = Cursor.decode(first.next_cursor, "-delib_date", f)
    assert cursor.value == date(2024, 1, 10) and cursor.acte_id == "a2"
    second = query.page(f, "-delib_date", 2, cursor, ["acte_id"])
    assert ids(second.rows) == ["a1", "a3"] and second.next_cursor is None
    asc = query.page(f, "siren", 3, None, ["acte_id", "siren"])
    rest = query.page(f, "siren", 3, Cursor.decode(asc.next_cursor, "siren", f), ["acte_id"])
    assert ids(asc.rows) + ids(rest.rows) == ["a1", "a2", "a3", "b1"]


@pytest.mark.parametrize(
    "token", ["", "!!!", "eyJ4IjogMX0", Cursor("-delib_date", "pas une date", "a", "f").encode()]
)
def test_bad_cursor_is_422(token: str) -> None:
    with pytest.raises(ApiError) as caught:
        Cursor.decode(token, "-delib_date", Filtres())
    assert caught.value.status == 422


def test_cursor_bound_to_filters_and_sort() -> None:
    token = Cursor("-delib_date", date(2024, 1, 1), "a", Filtres(annee=2024).fingerprint()).encode()
    assert Cursor.decode(token, "-delib_date", Filtres(annee=2024)).acte_id == "a"
    for sort, filtres in [("-delib_date", Filtres(annee=2023)), ("delib_date", Filtres(annee=2024))]:
        with pytest.raises(ApiError):
            Cursor.decode(token, sort, filtres)


def test_withheld_documents_hidden_in_rows(query: ActesQuery) -> None:
    rows = query.page(Filtres(publie=False), "-delib_date", 10, None, []).rows
    assert rows[0]["delib_url"] is None and rows[0]["annexes"] == []
    assert "document_id" not in rows[0]
    published = query.page(Filtres(tokens=("budget",)), "-delib_date", 10, None, []).rows[0]
    assert published["annexes"] == [{"document_id": "annexeA2xx", "nom": "plan.pdf"}]


def test_document_is_public(query: ActesQuery) -> None:
    assert query.document_is_public("docA1xxxx")
    assert query.document_is_public("annexeA2xx")
    assert not query.document_is_public("docA3xxxx")  # documents withheld
    assert not query.document_is_public("nothing")


def test_document_lookup_survives_malformed_annexes(memory_store: MemoryStore, tmp_path: Path) -> None:
    row = Acte(A, date(2024, 1, 1), "x", acte_id="z", document_id="docZzzzzz").row()
    row["annexes"] = "{not json"
    memory_store.put_if_changed(layout.actes_parquet_key(A, 2024, public=True), parquet_bytes([row]))
    q = ActesQuery(PublicDataset(memory_store, tmp_path / "c"))
    assert q.document_is_public("docZzzzzz")
    assert q.page(Filtres(), "-delib_date", 5, None, ["annexes"]).rows == [{"annexes": []}]


def test_memory_table_follows_new_versions(query: ActesQuery, memory_store: MemoryStore) -> None:
    if query.memory_threshold != 0:
        pytest.skip("memory path only")
    assert query.page(Filtres(), "-delib_date", 50, None, []).total == 5
    write_partitions(
        memory_store, [Acte(B, date(2024, 3, 3), "x", acte_id="b1"), Acte(B, date(2024, 4, 4), "y")]
    )
    memory_store.objects.pop(layout.actes_parquet_key(A, 2023, public=True))
    query.dataset.invalidate()
    assert query.page(Filtres(), "-delib_date", 50, None, []).total == 5  # +1 in B, -1 (A 2023 gone)
    assert query.memory_loads == 4  # 3 partitions at first, then only B's new version


def test_exports(query: ActesQuery) -> None:
    body, version = query.export(Filtres(natures=(1,), sirens=(A,)), "-delib_date", "csv")
    assert body.endswith(b"\r\n") and b"\r\n\r\n" not in body and b'""' not in body  # CRLF, empty = nothing
    lines = body.decode().splitlines()
    assert lines[0].startswith("COLL_NOM,COLL_SIRET,DELIB_ID,DELIB_DATE,") and lines[0].endswith(",DELIB_URL")
    assert len(lines) == 4 and version
    empty, _ = query.export(Filtres(annee=1999), "-delib_date", "csv")
    assert empty.decode().count("\n") == 1
    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(query.export(Filtres(annee=1999), "-delib_date", "parquet")[0]))
    assert table.num_rows == 0 and str(table.schema.field("delib_date").type) == "date32[day]"
    full = pq.read_table(io.BytesIO(query.export(Filtres(sirens=(A,)), "-delib_date", "parquet")[0]))
    assert (
        full.num_rows == 4 and "filename" not in full.column_names and "document_id" not in full.column_names
    )


def test_stats_and_summary(query: ActesQuery) -> None:
    by_nature = query.stats(Filtres(), "nature").rows
    assert [(r["cle"], r["nombre"]) for r in by_nature] == [("1", 4), ("2", 1)]
    by_month = query.stats(Filtres(natures=(1,), annee=2024), "mois").rows
    assert [(r["cle"], r["nombre"]) for r in by_month] == [("2024-01", 2), ("2024-03", 1)]
    summary = query.summary(Filtres(sirens=(A,))).rows
    assert {(r["annee"], r["nature"], r["nombre"]) for r in summary} == {
        (2023, 1, 1),
        (2024, 1, 2),
        (2024, 2, 1),
    }


def test_data_version_depends_on_content() -> None:
    from regate.api.dataset import Partition

    p1 = Partition(A, 2024, "k1", "e1", 1)
    assert data_version([p1]) == data_version([p1])
    assert data_version([p1]) != data_version([Partition(A, 2024, "k1", "e2", 1)])
    assert data_version([]) != data_version([p1])


def test_requests_on_few_collectivites_list_only_their_prefix(
    memory_store: MemoryStore, tmp_path: Path
) -> None:
    write_partitions(memory_store, [Acte(A, date(2024, 1, 1), "x"), Acte(B, date(2024, 1, 1), "y")])
    q = ActesQuery(PublicDataset(memory_store, tmp_path / "c", list_ttl_seconds=60))
    assert q.page(Filtres(sirens=(B,)), "-delib_date", 5, None, []).total == 1
    assert memory_store.listed == [f"{layout.PUBLIC_ACTES_PARQUET_PREFIX}siren={B}/"]
    assert q.page(Filtres(), "-delib_date", 5, None, []).total == 2
    assert memory_store.listed[-1] == layout.PUBLIC_ACTES_PARQUET_PREFIX
