"""Search benchmark: extraction pages/s (text layer and OCR), index build time, query p50/p95.

``python -m bench search`` (flags: ``--acts=N`` default 1 000 000, ``--documents=N`` default 100 000,
``--reps=N`` default 5, ``--shards=N`` default 16, ``--quick`` = 50 000 acts / 5 000 documents, 3 reps).

* **Extraction** — generated PDFs (kit): text-layer pages and scanned pages, through
  :func:`regate.search.extract.extract_pdf` and through the isolated :class:`ExtractionWorker`, against the
  floor: the bare pypdfium2 text loop (text) and bare render + tesserocr (OCR) on the same pages.
  Alternated runs, medians.
* **Index** — ``acts`` synthetic acts (objets) over 35 000 collectivités, ``documents`` of which carry
  document texts (main documents, one in five an annex), built into ``shards`` tantivy shards; build time,
  size on disk, peak RSS.
* **Queries** — typical white-label (one SIREN) and national queries: words, phrases, prefixes,
  exclusions, filters. ``search()`` (parse + build + fan-out + merge + snippets + matched documents)
  against the engine's own direct query: the same tantivy query objects, ``searcher.search`` top 20 per
  shard, stored documents fetched and tantivy snippets generated for the same fields. p50/p95 of alternated
  runs, ratio = ours / direct.
"""

from __future__ import annotations

import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

QUERIES = [
    ("cantine", None),
    ("restauration scolaire", None),
    ('"marché public"', None),
    ("subvention association", None),
    ("énergétique -école", None),
    ("urban*", None),
    ("tarifs", "siren"),
    ("école élémentaire", "siren"),
    ("assainissement", "siren"),
    ('"budget primitif"', "siren"),
    ("xylophonique", None),
    ("délibération séance", None),
]


def _entries(acts: int, documents: int, seed: int = 7) -> Iterator[Any]:
    from regate.search.index import IndexedDocument, IndexEntry
    from regate_local.search.corpus import MARQUEURS, actes

    every = max(1, round(acts / max(documents / 1.2, 1))) if documents else 0
    made = 0
    for acte in actes(acts, seed=seed, sirens=35_000, documents_every=every, annex_ratio=0.2):
        docs = []
        for n, body in enumerate(acte.documents):
            if made >= documents:
                break
            text = "\n".join(body)
            if made % 997 == 0:
                text += f" {MARQUEURS[made % len(MARQUEURS)]}"
            role = "acte" if n == 0 else "annexe"
            docs.append(
                IndexedDocument(
                    document_id=f"d{made}", role=role, nom=f"d{made}.pdf", texte=text, annexe_publique=True
                )
            )
            made += 1
        yield IndexEntry(
            acte_id=f"a{acte.numero}",
            siren=acte.siren,
            decision="publier",
            objet=acte.objet,
            numero=acte.numero,
            nature=acte.nature,
            matiere_code=acte.matiere,
            date_acte=acte.date_acte,
            documents=tuple(docs),
        )


def _median_runs(functions: dict[str, Callable[[], Any]], reps: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(reps):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            samples[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_extraction(reps: int, quick: bool) -> None:
    import pypdfium2 as pdfium

    from regate.search.extract import ExtractionLimits, ExtractionWorker, extract_pdf, tessdata_dir
    from regate_local.search.corpus import paragraphes
    from regate_local.search.pdfs import scanned_pdf, text_pdf

    rnd = random.Random(3)
    text_docs = [
        text_pdf(paragraphes(rnd, 5), f"Délibération {i}", pages=4) for i in range(4 if quick else 10)
    ]
    scans = [scanned_pdf(paragraphes(rnd, 3), seed=i) for i in range(2 if quick else 4)]
    text_pages = sum(len(pdfium.PdfDocument(d)) for d in text_docs)
    limits = ExtractionLimits()

    def floor_text() -> None:
        for data in text_docs:
            pdf = pdfium.PdfDocument(data)
            for page in pdf:
                textpage = page.get_textpage()
                textpage.get_text_range()
                textpage.close()
                page.close()
            pdf.close()

    import tesserocr

    api = tesserocr.PyTessBaseAPI(path=tessdata_dir(), lang="fra", psm=tesserocr.PSM.AUTO)

    def floor_ocr() -> None:
        for data in scans:
            pdf = pdfium.PdfDocument(data)
            page = pdf[0]
            api.SetImage(page.render(scale=300 / 72, grayscale=True).to_pil())
            api.GetUTF8Text()
            page.close()
            pdf.close()

    with ExtractionWorker(limits) as worker:
        worker.extract(text_docs[0])  # started before timing (a Lambda keeps it for the whole batch)
        medians = _median_runs(
            {
                "text floor (pypdfium2)": floor_text,
                "text extract_pdf": lambda: [extract_pdf(d, limits) for d in text_docs],
                "text worker": lambda: [worker.extract(d) for d in text_docs],
                "ocr floor (render+tesserocr)": floor_ocr,
                "ocr extract_pdf": lambda: [extract_pdf(d, limits) for d in scans],
                "ocr worker": lambda: [worker.extract(d) for d in scans],
            },
            reps,
        )
    api.End()
    print(f"extraction: {text_pages} text pages, {len(scans)} scanned A4 pages at 300 dpi; median of {reps}")
    for kind, pages in (("text", text_pages), ("ocr", len(scans))):
        floor = medians[f"{kind} floor (pypdfium2)" if kind == "text" else "ocr floor (render+tesserocr)"]
        for name, seconds in medians.items():
            if name.startswith(kind):
                print(f"  {name:32s} {pages / seconds:9.1f} pages/s   ratio {seconds / floor:5.2f}")


def bench_index(acts: int, documents: int, shards: int, reps: int) -> None:
    from regate.search.engine import SearchLimits, build_queries, search
    from regate.search.index import build_local_shards
    from regate.search.query import parse_query
    from regate.search.remote import LocalShards

    root = Path(tempfile.mkdtemp(prefix="regate-search-bench-"))
    try:
        started = time.perf_counter()
        generated = sum(1 for _ in _entries(acts, documents))
        generation = time.perf_counter() - started
        started = time.perf_counter()
        counts = build_local_shards(_entries(acts, documents), root, shards)
        build = time.perf_counter() - started
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        print(
            f"index: {generated} acts, {documents} documents, {shards} shards: build {build:.1f} s "
            f"(of which generating the entries {generation:.1f} s) → {generated / build:,.0f} acts/s; "
            f"{size / 2**20:.0f} MB on disk; peak RSS {_rss_mb():.0f} MB"
        )
        assert sum(counts.values()) == generated
        local = LocalShards(root, shards)
        limits = SearchLimits()
        from tantivy import SnippetGenerator

        def direct(q: str, sirens: list[str] | None) -> None:
            """The engine alone: same query objects, top 20 per shard, merged, then the 20 stored
            documents fetched and tantivy snippets made for objet, main text and annexes."""
            parsed = parse_query(q)
            ranked = []
            for shard, searcher in local.searchers(sirens):
                query, highlight = build_queries(
                    local.schema, searcher, parsed, "both", sirens, _NOFILTER, limits
                )
                for score, address in searcher.search(query, 20, count=True).hits:
                    ranked.append((score, shard, searcher, highlight, address))
            ranked.sort(key=lambda item: -item[0])
            generators: dict[tuple[str, str], Any] = {}
            for _score, shard, searcher, highlight, address in ranked[:20]:
                doc = searcher.doc(address)
                for field in ("objet", "texte_acte", "texte_annexes"):
                    key = (shard, field)
                    if key not in generators:
                        generators[key] = SnippetGenerator.create(searcher, highlight, local.schema, field)
                    generators[key].snippet_from_doc(doc)

        from regate.search.engine import SearchFilters

        _NOFILTER = SearchFilters()
        siren = "200000042"  # one collectivité (~acts/35 000 acts)
        timings: dict[str, dict[str, list[float]]] = {}
        for _ in range(reps):
            for q, kind in QUERIES:
                sirens = [siren] if kind else None
                label = f"{q} [{'siren' if kind else 'national'}]"
                for name in ("ours", "direct"):
                    t0 = time.perf_counter()
                    if name == "ours":
                        search(local, q, sirens=sirens, limit=20)
                    else:
                        direct(q, sirens)
                    timings.setdefault(label, {}).setdefault(name, []).append(
                        (time.perf_counter() - t0) * 1000
                    )
        print(f"queries: top 20 with snippets, {reps} alternated runs each (ms)")
        all_ours, all_direct = [], []
        for label, values in timings.items():
            ours, direct_ms = statistics.median(values["ours"]), statistics.median(values["direct"])
            all_ours += values["ours"]
            all_direct += values["direct"]
            total = search(
                local, label.rsplit(" [", 1)[0], sirens=[siren] if label.endswith("[siren]") else None
            ).total
            ratio = ours / direct_ms
            print(
                f"  {label:42s} ours {ours:7.2f}  direct {direct_ms:7.2f}  ratio {ratio:5.2f}  ({total} acts)"
            )
        p50o, p95o = _pct(all_ours, 50), _pct(all_ours, 95)
        p50d, p95d = _pct(all_direct, 50), _pct(all_direct, 95)
        print(f"  ALL: ours p50 {p50o:.2f} p95 {p95o:.2f} | direct p50 {p50d:.2f} p95 {p95d:.2f} ms")
        print(f"  ratio ours/direct: p50 {p50o / p50d:.2f}, p95 {p95o / p95d:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main(argv: list[str]) -> None:
    acts, documents, reps, shards, quick = 1_000_000, 100_000, 5, 16, False
    for arg in argv:
        if arg == "--quick":
            acts, documents, reps, quick = 50_000, 5_000, 3, True
        elif arg.startswith("--acts="):
            acts = int(arg.split("=", 1)[1])
        elif arg.startswith("--documents="):
            documents = int(arg.split("=", 1)[1])
        elif arg.startswith("--reps="):
            reps = int(arg.split("=", 1)[1])
        elif arg.startswith("--shards="):
            shards = int(arg.split("=", 1)[1])
    bench_extraction(3 if quick else reps, quick)
    bench_index(acts, documents, shards, reps)
