"""The normaliser's search stage, with fakes: which acts are upserted or deleted, that a withheld act's files
are never read, that one failing document does not stop the batch, and that an index failure cancels the
batch's commits (so the next run redoes it)."""

from __future__ import annotations

import hashlib
from datetime import date
from types import SimpleNamespace
from typing import Any

import pytest

from regate.normalize.search_stage import SearchStage
from regate.search.extract import ExtractedText, ExtractionLimits, PageText

SIREN = "213502388"


class FakeRaw:
    def __init__(self) -> None:
        self.reads: list[str] = []

    def get_bytes(self, key: str) -> bytes:
        self.reads.append(key)
        if "casse" in key:
            raise OSError("lecture impossible")
        return key.encode()


class FakeTexts:
    def __init__(self) -> None:
        self.redo: list[bool] = []

    def ensure(self, document, read_bytes, limits, worker=None, redo_partial=False):  # type: ignore[no-untyped-def]
        self.redo.append(redo_partial)
        data = read_bytes()
        text = ExtractedText(
            sha256=document.sha256,
            statut="complet",
            methode="texte",
            pages_total=1,
            pages=[PageText(numero=1, methode="texte", texte=f"texte de {data.decode()}")],
        )
        return text, True


class FakeUpdater:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[list[Any], list[Any]]] = []
        self.fail = fail

    def apply(self, upserts=(), deletes=()):  # type: ignore[no-untyped-def]
        if self.fail:
            raise OSError("S3 indisponible")
        self.calls.append((list(upserts), list(deletes)))


class FakeWorker:
    def __init__(self, limits: Any) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _doc(name: str, role: str) -> SimpleNamespace:
    return SimpleNamespace(
        document_id=f"doc-{name}",
        nom=f"{name}.pdf",
        role=role,
        raw_key=f"raw/{name}.pdf",
        sha256=hashlib.sha256(name.encode()).hexdigest(),
    )


def _outcome(acte_id: str, decision: str, documents: list[SimpleNamespace], retired=()) -> SimpleNamespace:
    record = SimpleNamespace(
        acte_id=acte_id,
        siren=SIREN,
        id_e="12",
        id_d=acte_id,
        decision=SimpleNamespace(decision=decision),
        documents=documents,
        row={"delib_objet": f"Objet {acte_id}", "delib_matiere_code": "7.5"},
        acte=SimpleNamespace(
            numero=f"N-{acte_id}", nature=1, objet="x", date_acte=date(2024, 1, 2), date_ar=None
        ),
    )
    return SimpleNamespace(record=record, search_retired=set(retired), commit=lambda: None)


def _stage(updater: FakeUpdater, raw: FakeRaw) -> SearchStage:
    texts: Any = FakeTexts()
    return SearchStage(raw, texts, updater, ExtractionLimits(), worker_factory=FakeWorker)  # type: ignore[arg-type]


def test_decisions_map_to_upserts_and_deletes_and_withheld_files_are_never_read() -> None:
    raw, updater = FakeRaw(), FakeUpdater()
    outcomes = [
        _outcome("pub", "publier", [_doc("acte-pub", "acte"), _doc("annexe-pub", "annexe")]),
        _outcome("meta", "metadonnees", []),
        _outcome("secret", "retenir", [_doc("acte-secret", "acte")]),  # (a record never lists them, but…)
        _outcome("attente", "a_statuer", [_doc("acte-attente", "acte")]),
        SimpleNamespace(record=None, search_retired={(SIREN, "parti")}, commit=None),
    ]
    result = _stage(updater, raw).apply(outcomes)
    [(upserts, deletes)] = updater.calls
    assert {e.acte_id: e.decision for e in upserts} == {"pub": "publier", "meta": "metadonnees"}
    assert {d.acte_id for d in deletes} == {"secret", "attente", "parti"}
    assert raw.reads == ["raw/acte-pub.pdf", "raw/annexe-pub.pdf"]  # nothing of a withheld act is read
    published = next(e for e in upserts if e.acte_id == "pub")
    assert [d.texte for d in published.documents] == [
        "texte de raw/acte-pub.pdf",
        "texte de raw/annexe-pub.pdf",
    ]
    assert result.upserts == 2 and result.deletes == 3 and result.error is None


def test_a_failing_document_is_indexed_by_name_and_the_batch_goes_on() -> None:
    raw, updater = FakeRaw(), FakeUpdater()
    outcomes = [
        _outcome("a", "publier", [_doc("casse", "acte")]),
        _outcome("b", "publier", [_doc("bon", "acte")]),
    ]
    result = _stage(updater, raw).apply(outcomes)
    [(upserts, _deletes)] = updater.calls
    by_id = {e.acte_id: e for e in upserts}
    assert by_id["a"].documents[0].texte == "" and by_id["a"].documents[0].nom == "casse.pdf"
    assert by_id["b"].documents[0].texte == "texte de raw/bon.pdf"
    assert [w[0] for w in result.warnings] == ["recherche_extraction_echec"]


def test_an_act_upserted_and_retired_in_one_batch_stays_indexed() -> None:
    """Its SIREN did not change but an earlier outcome of the batch withdrew it: the last word wins."""
    updater = FakeUpdater()
    outcomes = [
        SimpleNamespace(record=None, search_retired={(SIREN, "x")}, commit=None),
        _outcome("x", "metadonnees", []),
    ]
    _stage(updater, FakeRaw()).apply(outcomes)
    [(upserts, deletes)] = updater.calls
    assert [e.acte_id for e in upserts] == ["x"] and deletes == []


def test_an_act_published_then_withdrawn_in_one_batch_is_deleted() -> None:
    updater = FakeUpdater()
    outcomes = [
        _outcome("x", "publier", [_doc("acte-x", "acte")]),
        SimpleNamespace(record=None, search_retired={(SIREN, "x")}, commit=None),
        _outcome("y", "publier", []),
        _outcome("y", "retenir", []),
    ]
    _stage(updater, FakeRaw()).apply(outcomes)
    [(upserts, deletes)] = updater.calls
    assert upserts == [] and {d.acte_id for d in deletes} == {"x", "y"}


def test_index_failure_cancels_the_commits() -> None:
    updater = FakeUpdater(fail=True)
    outcomes = [_outcome("a", "metadonnees", [])]
    result = _stage(updater, FakeRaw()).apply(outcomes)
    assert result.error and "S3 indisponible" in result.error
    assert outcomes[0].commit is None


def test_nothing_to_do_writes_nothing() -> None:
    updater = FakeUpdater()
    result = _stage(updater, FakeRaw()).apply(
        [SimpleNamespace(record=None, search_retired=set(), commit=None)]
    )
    assert updater.calls == [] and result.upserts == result.deletes == 0


@pytest.mark.parametrize("matiere", ["7.5.1.2.3.4", "x", ""])
def test_an_odd_matiere_does_not_keep_the_act_out(matiere: str) -> None:
    updater = FakeUpdater()
    outcome = _outcome("a", "metadonnees", [])
    outcome.record.row["delib_matiere_code"] = matiere
    _stage(updater, FakeRaw()).apply([outcome])
    [(upserts, _)] = updater.calls
    assert upserts[0].acte_id == "a" and upserts[0].matiere_code in (None, matiere or None)


class ScanTexts(FakeTexts):
    """Every text is a scan this package cannot OCR (the normaliser's AWS package)."""

    def ensure(self, document, read_bytes, limits, worker=None, redo_partial=False):  # type: ignore[no-untyped-def]
        text, _ = super().ensure(document, read_bytes, limits, worker, redo_partial)
        return text.model_copy(update={"statut": "partiel", "motif": "ocr_indisponible"}), True


def _ocr_stage(updater: FakeUpdater, raw: FakeRaw, sender: Any) -> SearchStage:
    texts: Any = ScanTexts()
    return SearchStage(raw, texts, updater, ExtractionLimits(), worker_factory=FakeWorker, ocr_sender=sender)  # type: ignore[arg-type]


def _scan(name: str, role: str) -> SimpleNamespace:
    return SimpleNamespace(
        **{**vars(_doc(name, role)), "document_id": hashlib.sha256(name.encode()).hexdigest()[:32]}
    )


def test_scans_stored_without_ocr_are_sent_to_the_ocr_queue_once_per_document() -> None:
    sent: list[Any] = []
    outcomes = [_outcome("a", "publier", [_scan("acte-a", "acte"), _scan("annexe-a", "annexe")])]
    outcomes[0].record.annee = 2024
    result = _ocr_stage(
        FakeUpdater(), FakeRaw(), lambda requests: sent.extend(requests) or len(requests)
    ).apply(outcomes)
    assert [(r.id_d, r.siren, r.annee, r.sha256) for r in sent] == [
        ("a", SIREN, 2024, hashlib.sha256(b"acte-a").hexdigest()),
        ("a", SIREN, 2024, hashlib.sha256(b"annexe-a").hexdigest()),
    ]
    assert result.ocr_sent == 2 and result.ocr_error is None and outcomes[0].commit is not None
    withheld = [_outcome("s", "retenir", [_scan("acte-s", "acte")])]
    sent.clear()
    _ocr_stage(FakeUpdater(), FakeRaw(), lambda requests: sent.extend(requests) or len(requests)).apply(
        withheld
    )
    assert sent == []  # a withheld act's documents are never sent anywhere


def test_ocr_requests_that_cannot_be_sent_cancel_the_commits() -> None:
    def refusing(requests: Any) -> int:
        raise OSError("SQS indisponible")

    outcomes = [_outcome("a", "publier", [_scan("acte-a", "acte")])]
    outcomes[0].record.annee = 2024
    result = _ocr_stage(FakeUpdater(), FakeRaw(), refusing).apply(outcomes)
    assert result.ocr_error and "SQS indisponible" in result.ocr_error
    assert outcomes[0].commit is None  # the next run redoes the act and sends again
