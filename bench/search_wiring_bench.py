"""What the search stage costs the normaliser, end to end on a loopback S3 (moto's server).

``python -m bench search_wiring [--acts=40] [--scans=8]``: a fresh chain of ``acts`` deliberations with a
text PDF each (``scans`` of them with a one-page scanned annex) is normalised twice from scratch — search
stage on, then off (``REGATE_SEARCH_INDEX_ENABLED=false``) — then, with the stage on: a run where nothing
changed, one correction (new objet, same files: texts reused) and one withdrawal. Printed: wall time of each
run and the stage's share (extraction + index update), index writes (manifest generations). Absolute times
include moto; the on/off difference and the incremental runs are the point.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any


def _chain(acts: int, scans: int, enabled: bool, work: Path, endpoint: str) -> dict[str, Any]:
    import importlib.util

    from regate.normalize import search_stage as stage_module
    from regate.normalize.run import run_normalize
    from regate.search.remote import IndexStore
    from regate.settings import Settings
    from regate.storage import ObjectStore, layout, make_s3_client
    from regate_local.search.pdfs import scanned_pdf, text_pdf

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("seeder", root / "tests/integration/normalize/conftest.py")
    assert spec is not None and spec.loader is not None
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    suffix = uuid.uuid4().hex[:8]
    settings = Settings(
        s3_endpoint_url=endpoint,
        raw_bucket=f"raw-{suffix}",
        curated_bucket=f"curated-{suffix}",
        public_base_url="https://regate.example.org",
        recherche_entreprises_enabled=False,
        search_index_enabled=enabled,
        search_cache_dir=str(work / suffix),
        search_shards=4,
    )
    client = make_s3_client(settings)
    for bucket in (settings.raw_bucket, settings.curated_bucket):
        client.create_bucket(
            Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": settings.s3_region}
        )
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    raw, curated = ObjectStore(client, settings.raw_bucket), ObjectStore(client, settings.curated_bucket)
    curated.put_if_changed(
        layout.CONFIG_COLLECTIVITES_KEY,
        b"siren,siret,nom,open_data,documents,annexes\n213502388,21350238800019,Ville de Rennes,,,\n",
    )
    seeder = helpers.RawSeeder(raw)
    scan = scanned_pdf(["Annexe scannée : tableau des subventions aux associations."], seed=1)
    for n in range(acts):
        body = text_pdf([f"Délibération {n} : tarifs de la cantine et du périscolaire."], f"DEL{n}")
        files = {"acte_tamponne": body, "arrete": body, "autre_document_attache": scan if n < scans else body}
        seeder.put(
            "pull_deliberation.json",
            id_d=f"Bench{n:04d}",
            data={"numero_de_lacte": f"DEL2024_{n:04d}"},
            files=files,
        )
    spent: list[float] = []
    original = stage_module.SearchStage.apply

    def timed(self, outcomes, report=None):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return original(self, outcomes, report)
        finally:
            spent.append(time.perf_counter() - started)

    stage_module.SearchStage.apply = timed  # type: ignore[method-assign]
    try:
        out: dict[str, Any] = {}

        def run(label: str) -> None:
            spent.clear()
            started = time.perf_counter()
            report = run_normalize(raw, curated, settings, workers=2)
            out[label] = (time.perf_counter() - started, sum(spent), report.acts_normalised)

        run("first")
        if enabled:
            index = IndexStore(curated, 4)

            def generations() -> int:
                return sum(
                    (index.manifest(s) or ({"generation": 0}, ""))[0]["generation"]
                    for s in ("00", "01", "02", "03")
                )

            before = generations()
            run("unchanged")
            out["unchanged_writes"] = generations() - before
            seeder.put(
                "pull_deliberation.json",
                id_d="Bench0000",
                data={"numero_de_lacte": "DEL2024_0000", "objet": "Objet corrigé de la délibération"},
                files={
                    "acte_tamponne": text_pdf(
                        ["Délibération 0 : tarifs de la cantine et du périscolaire."], "DEL0"
                    ),
                    "arrete": text_pdf(["Délibération 0 : tarifs de la cantine et du périscolaire."], "DEL0"),
                    "autre_document_attache": scan,
                },
            )
            before = generations()
            run("correction")
            out["correction_writes"] = generations() - before
            raw.delete(layout.document_detail_key("12", "Bench0001"))
            run("withdrawal")
        return out
    finally:
        stage_module.SearchStage.apply = original  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    import logging
    import os

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    options = dict(a.removeprefix("--").split("=", 1) for a in argv if "=" in a)
    acts, scans = int(options.get("acts", 40)), int(options.get("scans", 8))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        with tempfile.TemporaryDirectory() as work:
            on = _chain(acts, scans, True, Path(work), endpoint)
            off = _chain(acts, scans, False, Path(work), endpoint)
    finally:
        server.stop()
    print(
        f"{acts} acts ({acts} text PDFs as act + annex, {scans} one-page scanned annexes), 4 shards, "
        "moto loopback"
    )
    first, first_off = on["first"], off["first"]
    print(
        f"  first normalisation   search on {first[0]:6.2f} s (stage {first[1]:5.2f} s)   "
        f"search off {first_off[0]:6.2f} s   stage share {first[1] / first[0]:.0%}"
    )
    for label in ("unchanged", "correction", "withdrawal"):
        total, stage, acts_done = on[label]
        writes = on.get(f"{label}_writes")
        extra = f", index manifests written {writes}" if writes is not None else ""
        print(f"  {label:<21} {total:6.2f} s (stage {stage:5.2f} s, {acts_done} act(s) normalised{extra})")
