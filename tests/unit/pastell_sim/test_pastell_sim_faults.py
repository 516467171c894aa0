"""Fault injection of the simulator: slow and endless bodies, a page-capping or offset-dropping proxy, files
lost from disk (R15-like)."""

from __future__ import annotations

import itertools
import time

from pastell_sim_helpers import DOC_A, REGATE, call

from regate_local.pastell_sim.api import Request

LIST = "/api/v2/entite/5/document"


def raw_response(sim, path: str, params: dict[str, str] | None = None):
    from urllib.parse import parse_qs, urlencode

    req = Request("GET", path, parse_qs(urlencode(params or {})), {"authorization": REGATE}, b"", "10.0.0.1")
    return sim.handle(req)[0]


def test_a_page_capping_proxy_answers_fewer_rows_than_asked(small_sim):
    every = call(small_sim, LIST, {"type": "deliberations-studio", "limit": "100"}).json
    small_sim.set_proxy(page_cap=1)
    page = call(small_sim, LIST, {"type": "deliberations-studio", "limit": "100"}).json
    assert len(every) > 1 and page == every[:1]
    second = call(small_sim, LIST, {"type": "deliberations-studio", "limit": "100", "offset": "1"}).json
    assert second == every[1:2]
    small_sim.set_proxy()
    assert call(small_sim, LIST, {"type": "deliberations-studio", "limit": "100"}).json == every


def test_an_offset_dropping_proxy_repeats_the_first_page(small_sim):
    small_sim.set_proxy(ignore_offset=True)
    first = call(small_sim, LIST, {"type": "deliberations-studio", "limit": "1"}).json
    assert call(small_sim, LIST, {"type": "deliberations-studio", "limit": "1", "offset": "1"}).json == first


def test_a_slow_body_is_the_real_answer_dripped(small_sim):
    expected = call(small_sim, f"{LIST}/{DOC_A}").body
    small_sim.inject_slow_body(rf"/document/{DOC_A}$", delay_s=0.01, chunk=64)
    response = raw_response(small_sim, f"{LIST}/{DOC_A}")
    started = time.monotonic()
    pieces = list(response.stream)
    assert b"".join(pieces) == expected and all(len(p) <= 64 for p in pieces)
    assert time.monotonic() - started >= 0.01 * (len(expected) // 64)
    assert call(small_sim, f"{LIST}/{DOC_A}").body == expected  # once only


def test_an_endless_body_never_ends_and_a_huge_one_declares_its_length(small_sim):
    small_sim.inject_endless_body(r"/entite$")
    response = raw_response(small_sim, "/api/v2/entite")
    assert response.status == 200 and response.stream is not None
    read = sum(len(p) for p in itertools.islice(response.stream, 20))
    assert read > 20 * 1000
    small_sim.inject_endless_body(
        r"/file/arrete/0$", content_type="application/pdf", declared_length=5 * 2**30
    )
    huge = raw_response(small_sim, f"{LIST}/{DOC_A}/file/arrete/0")
    assert ("Content-Length", str(5 * 2**30)) in huge.headers


def test_a_lost_file_answers_400_ce_fichier_n_existe_pas(small_sim):
    assert call(small_sim, f"{LIST}/{DOC_A}/file/arrete/0").status == 200
    small_sim.lose_file("5", DOC_A, "arrete", 0)
    answer = call(small_sim, f"{LIST}/{DOC_A}/file/arrete/0")
    assert (answer.status, answer.error) == (400, "Ce fichier n'existe pas")
    detail = call(small_sim, f"{LIST}/{DOC_A}").json
    assert detail["data"]["arrete"]  # the detail still names the file


def test_add_document_with_a_file_missing_on_disk(small_sim):
    id_d = small_sim.add_document(
        "5", "ls-actes", {"acte_nature": "1"}, files={"arrete": [("gone.pdf", None)]}, id_d="Lost001"
    )
    answer = call(small_sim, f"{LIST}/{id_d}/file/arrete/0")
    assert (answer.status, answer.error) == (400, "Ce fichier n'existe pas")
