"""Compare the offline full-text engines on the same synthetic French corpus (docs/search.md figures).

Run with any Python that has the candidates installed (duckdb 1.5.5 + duckdb-extension-fts 1.5.5 need
their own venv: the project pins another duckdb)::

    python scripts/search_engines_compare.py --docs=20000

Each engine indexes the same documents (objet + body), French stemming and accent folding, and answers
the same conjunctive queries (top 10); build time, size and median query time (5 alternated runs).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "local")]
from regate_local.search.corpus import actes  # noqa: E402

QUERIES = ["cantine", "restauration scolaire", "subvention association", "travaux assainissement", "énergie"]


def corpus(n: int) -> list[tuple[int, str, str]]:
    return [
        (i, a.objet, "\n".join(a.documents[0])) for i, a in enumerate(actes(n, seed=1, documents_every=1))
    ]


def bench(name: str, build, query, docs) -> None:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    handle, size = build(docs)
    built = time.perf_counter() - started
    samples = {q: [] for q in QUERIES}
    for _ in range(5):
        for q in QUERIES:
            t0 = time.perf_counter()
            hits = query(handle, q)
            samples[q].append((time.perf_counter() - t0) * 1000)
    median = statistics.median(statistics.median(v) for v in samples.values())
    mb = size / 2**20
    print(
        f"{name:28s} build {built:6.1f} s  size {mb:6.1f} MB  query median {median:8.3f} ms  hits {len(hits)}"
    )


def tantivy_engine(docs):  # type: ignore[no-untyped-def]
    import tantivy
    from tantivy import Filter, TextAnalyzerBuilder, Tokenizer

    fr = (
        TextAnalyzerBuilder(Tokenizer.simple())
        .filter(Filter.lowercase())
        .filter(Filter.stopword("french"))
        .filter(Filter.ascii_fold())
        .filter(Filter.stemmer("french"))
        .build()
    )
    sb = tantivy.SchemaBuilder()
    sb.add_integer_field("id", stored=True, fast=True)
    sb.add_text_field("objet", stored=True, tokenizer_name="fr")
    sb.add_text_field("body", stored=True, tokenizer_name="fr")
    path = tempfile.mkdtemp()
    index = tantivy.Index(sb.build(), path=path)
    index.register_tokenizer("fr", fr)
    writer = index.writer(128_000_000, 1)
    for i, objet, body in docs:
        writer.add_document(tantivy.Document(id=i, objet=objet, body=body))
    writer.commit()
    writer.wait_merging_threads()
    index.reload()
    return (index, fr), _size(path)


def tantivy_query(handle, q):  # type: ignore[no-untyped-def]
    import tantivy

    index, fr = handle
    schema = index.schema
    clauses = []
    for token in fr.analyze(q):
        per_field = [
            (tantivy.Occur.Should, tantivy.Query.term_query(schema, f, token)) for f in ("objet", "body")
        ]
        clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(per_field)))
    searcher = index.searcher()
    return [
        searcher.doc(a)["id"][0] for _s, a in searcher.search(tantivy.Query.boolean_query(clauses), 10).hits
    ]


def fts5_engine(docs):  # type: ignore[no-untyped-def]
    import Stemmer

    stem = Stemmer.Stemmer("french")
    path = tempfile.mktemp(suffix=".db")
    db = sqlite3.connect(path)
    db.execute("CREATE VIRTUAL TABLE t USING fts5(objet, body, tokenize='unicode61 remove_diacritics 2')")

    def norm(text: str) -> str:
        import unicodedata

        words = "".join(c if c.isalnum() else " " for c in text.lower()).split()
        folded = [unicodedata.normalize("NFKD", w).encode("ascii", "ignore").decode() for w in words]
        return " ".join(stem.stemWords(folded))

    db.executemany(
        "INSERT INTO t(rowid, objet, body) VALUES (?,?,?)", ((i, norm(o), norm(b)) for i, o, b in docs)
    )
    db.commit()
    return (db, norm), os.path.getsize(path)


def fts5_query(handle, q):  # type: ignore[no-untyped-def]
    db, norm = handle
    match = " AND ".join(f'"{t}"' for t in norm(q).split())
    return db.execute(
        "SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t, 3.0, 1.0) LIMIT 10", (match,)
    ).fetchall()


def duckdb_engine(docs):  # type: ignore[no-untyped-def]
    import duckdb

    spec = importlib.util.find_spec("duckdb_extension_fts")
    ext = next(Path(spec.submodule_search_locations[0]).rglob("fts.duckdb_extension"))
    path = tempfile.mktemp(suffix=".duckdb")
    con = duckdb.connect(path, config={"autoinstall_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    con.execute("CREATE TABLE docs(id INTEGER, objet VARCHAR, body VARCHAR)")
    con.executemany("INSERT INTO docs VALUES (?,?,?)", docs)
    con.execute(
        "PRAGMA create_fts_index('docs', 'id', 'objet', 'body', stemmer='french', stopwords='none', "
        "strip_accents=1, lower=1)"
    )
    con.close()
    con = duckdb.connect(path, config={"autoinstall_known_extensions": False})
    con.execute(f"LOAD '{ext}'")
    return con, os.path.getsize(path)


def duckdb_query(con, q):  # type: ignore[no-untyped-def]
    return con.execute(
        "SELECT id FROM (SELECT id, fts_main_docs.match_bm25(id, ?, conjunctive := 1) AS s FROM docs) "
        "WHERE s IS NOT NULL ORDER BY s DESC LIMIT 10",
        [q],
    ).fetchall()


def _size(path: str) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    n = next((int(a.split("=")[1]) for a in argv if a.startswith("--docs=")), 20000)
    docs = corpus(n)
    print(f"{n} documents, {sum(len(b) for _, _, b in docs) / 2**20:.0f} MB of text")
    for name, build, query, module in (
        ("tantivy 0.27", tantivy_engine, tantivy_query, "tantivy"),
        ("SQLite FTS5 + PyStemmer", fts5_engine, fts5_query, "Stemmer"),
        ("DuckDB 1.5.5 FTS", duckdb_engine, duckdb_query, "duckdb_extension_fts"),
    ):
        if importlib.util.find_spec(module) is None:
            print(f"{name:28s} not installed, skipped")
            continue
        bench(name, build, query, docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
