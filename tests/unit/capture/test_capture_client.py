"""The Pastell client against a fake session: auth, error statuses, retries, malformed payloads, paging."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
import requests
from capture_fakes import make_response

from regate.pastell.client import (
    PastellAuth,
    PastellAuthError,
    PastellError,
    PastellForbiddenError,
    PastellResponseError,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "capture"

ENTITES = [
    {
        "id_e": "12",
        "denomination": "Ville de Rennes",
        "siren": "213502388",
        "type": "collectivite",
        "centre_de_gestion": "0",
        "entite_mere": "3",
        "is_active": True,
    },
]


def test_basic_auth_header_and_entites(fake_http, client_for):
    client = client_for(fake_http.on("/entite", make_response(200, ENTITES)))
    entites = client.entites()
    assert [e.siren for e in entites] == ["213502388"]
    sent = fake_http.calls[0]["headers"]["Authorization"]
    assert sent == "Basic " + base64.b64encode(b"regate:pw").decode()


def test_bearer_token_wins_over_basic(fake_http, client_for):
    client = client_for(fake_http.on("/entite", make_response(200, [])), PastellAuth("u", "p", token="tok"))
    client.entites()
    assert fake_http.calls[0]["headers"]["Authorization"] == "Bearer tok"
    assert "tok" not in repr(client.auth)


def test_401_is_never_retried(fake_http, client_for):
    body = {"status": "error", "error-message": "Accès interdit"}
    client = client_for(
        fake_http.on("/entite", make_response(401, body, {"WWW-Authenticate": 'Basic realm="API Pastell"'}))
    )
    with pytest.raises(PastellAuthError, match=r"Accès interdit.*REGATE_PASTELL"):
        client.entites()
    assert len(fake_http.calls) == 1


def test_403_on_detail_tells_the_operator_which_right(fake_http, client_for):
    message = "Acces interdit id_e=12, droit=deliberations-studio:edition,id_u=4"
    client = client_for(
        fake_http.on(
            "/entite/12/document/abc1234", make_response(403, {"status": "error", "error-message": message})
        )
    )
    with pytest.raises(PastellForbiddenError) as info:
        client.detail_raw("12", "abc1234")
    assert info.value.droit == "deliberations-studio:edition"
    assert "needs the right 'deliberations-studio:edition'" in str(info.value)


def test_429_waits_retry_after_then_succeeds(fake_http, client_for, fake_clock):
    limited = make_response(429, {"status": "error", "error-message": "x"}, {"Retry-after": "60"})
    client = client_for(fake_http.on("/entite", [limited, make_response(200, ENTITES)]))
    assert len(client.entites()) == 1
    assert fake_clock.sleeps == [60.0]


def test_5xx_retried_then_reported(fake_http, client_for, fake_clock):
    client = client_for(fake_http.on("/entite", make_response(500, "boom")), attempts=3)
    with pytest.raises(PastellError, match="HTTP 500") as info:
        client.entites()
    assert info.value.status == 500
    assert len(fake_http.calls) == 3
    assert len(fake_clock.sleeps) == 2


def test_timeouts_retried_then_reported(fake_http, client_for):
    client = client_for(fake_http.on("/entite", requests.Timeout("slow")), attempts=2)
    with pytest.raises(PastellError, match="unreachable"):
        client.entites()
    assert len(fake_http.calls) == 2


@pytest.mark.parametrize(
    ("body", "headers", "match"),
    [
        (b"<html><body>Proxy error</body></html>", {"Content-Type": "text/html"}, "HTML"),
        (b'[{"id_e": "12",', {}, "malformed JSON"),
        (
            '{"status":"error","error-message":"Impossible d\'encoder le résultat en JSON [code 5]"}',
            {},
            "HTTP 200",
        ),
        (b'[{"id_e": "\xe9"}]', {}, "not UTF-8"),
        (b'{"id_e": "12"}', {}, "expected a JSON array"),
        (b'[{"id_e": 12}]', {}, "item 0 is invalid"),
        (b'[{"denomination": "sans id"}]', {}, "item 0 is invalid"),
        (b'[{"id_e": "12", "is_active": "peut-etre"}]', {}, "is_active"),
    ],
)
def test_malformed_entites_are_clear_errors(fake_http, client_for, body, headers, match):
    client = client_for(fake_http.on("/entite", make_response(200, body, headers)))
    with pytest.raises(PastellResponseError, match=match):
        client.entites()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"data": {}}, "info"),
        ({"info": {"id_d": 5}, "data": {}}, "info.id_d"),
        ({"info": {"id_d": "other12"}, "data": {}}, "answered for document"),
        ([1, 2], "expected a JSON object"),
        ({"info": {"id_d": "abc1234"}, "data": "texte"}, "data"),
    ],
)
def test_malformed_detail_is_a_clear_error(fake_http, client_for, payload, match):
    client = client_for(fake_http.on("/entite/12/document/abc1234", make_response(200, payload)))
    with pytest.raises(PastellResponseError, match=match):
        client.detail_raw("12", "abc1234")


@pytest.mark.parametrize(
    ("fixture", "route", "call", "match"),
    [
        ("entite_html.txt", "/entite", lambda c: c.entites(), "HTML"),
        (
            "detail_200_error.json",
            "/entite/12/document/abc1234",
            lambda c: c.detail_raw("12", "abc1234"),
            "HTTP 200",
        ),
    ],
)
def test_stored_malformed_answers(fake_http, client_for, fixture, route, call, match):
    body = (FIXTURES / fixture).read_bytes()
    client = client_for(fake_http.on(route, make_response(200, body)))
    with pytest.raises(PastellResponseError, match=match):
        call(client)


def test_detail_kept_as_received_and_file_names_typed(fake_http, client_for):
    payload = {
        "info": {"id_d": "abc1234", "type": "deliberations-studio"},
        "data": {"arrete": ["a.pdf"], "bordereau": 3},
        "action-possible": [],
        "last_action": {"action": "acquiter-tdt", "date": "2024-01-18 10:02:13"},
    }
    client = client_for(fake_http.on("/entite/12/document/abc1234", make_response(200, payload)))
    raw, detail = client.detail_raw("12", "abc1234")
    assert raw == payload
    assert detail.file_names("arrete") == ["a.pdf"]
    assert detail.file_names("autre_document_attache") == []
    with pytest.raises(ValueError, match="bordereau"):
        detail.file_names("bordereau")


def _row(id_d: str) -> dict[str, str]:
    return {
        "id_d": id_d,
        "id_e": "12",
        "type": "deliberations-studio",
        "last_action": "acquiter-tdt",
        "last_action_date": "2024-01-18 10:02:13",
        "modification": "2024-01-18 10:02:13",
    }


def _paged(fake_http, client_for, pages, **limits):
    from regate.pastell.client import PastellLimits

    client = client_for(
        fake_http.on(
            "/entite/12/document", lambda path, kw: make_response(200, pages.get(kw["params"]["offset"], []))
        )
    )
    client.limits = PastellLimits(**limits)
    return client


def test_listing_pages_until_an_empty_page_and_deduplicates(fake_http, client_for):
    pages = {
        "0": [_row("a000001"), _row("a000002")],
        "2": [_row("a000002"), _row("a000003")],
        "4": [_row("a000004")],  # a short page is not the end: only an empty one is
        "5": [_row("a000005")],
    }
    client = _paged(fake_http, client_for, pages)
    ids = [
        r.id_d
        for r in client.iter_documents(
            "12",
            "deliberations-studio",
            page_size=2,
            etat_transit="acquiter-tdt",
            state_begin="2023-12-31 23:59:59",
            state_end="2024-06-01 14:00:00",
        )
    ]
    assert ids == ["a000001", "a000002", "a000003", "a000004", "a000005"]
    params = fake_http.calls[0]["params"]
    assert params["etatTransit"] == "acquiter-tdt"
    assert params["state_begin"] == "2023-12-31 23:59:59"
    assert params["state_end"] == "2024-06-01 14:00:00"
    assert params["sens_tri"] == "ASC"
    assert params["type"] == "deliberations-studio"
    # the next offset is what was received, so a capped page size skips nothing
    assert [c["params"]["offset"] for c in fake_http.calls] == ["0", "2", "4", "5", "6"]


def test_a_page_with_no_new_id_stops_the_listing_as_incomplete(fake_http, client_for):
    from regate.pastell.client import PastellPaginationError

    same = [_row("a000001"), _row("a000002")]
    client = _paged(fake_http, client_for, {"0": same, "2": same, "4": same})  # offset ignored
    got = []
    with pytest.raises(PastellPaginationError, match="no new document"):
        for row in client.iter_documents("12", "deliberations-studio", page_size=2):
            got.append(row.id_d)
    assert got == ["a000001", "a000002"] and len(fake_http.calls) == 2


def test_a_listing_stops_at_its_page_limit(fake_http, client_for):
    from regate.pastell.client import PastellPaginationError

    pages = {str(i): [_row(f"a{i:06d}")] for i in range(100)}
    client = _paged(fake_http, client_for, pages, max_pages=5)
    with pytest.raises(PastellPaginationError, match="more than 5 pages"):
        list(client.iter_documents("12", "deliberations-studio", page_size=1))
    assert len(fake_http.calls) == 5


def test_uuid_id_d_is_accepted(fake_http, client_for):
    uuid = "3f2b8c1e-5d4a-4b7e-9c1d-2a6f8e0b1c3d"
    payload = {"info": {"id_d": uuid}, "data": []}
    client = client_for(fake_http.on(f"/entite/12/document/{uuid}", make_response(200, payload)))
    _, detail = client.detail_raw("12", uuid)
    assert detail.data == {}


def test_download_streams_to_sink_with_sha256(fake_http, client_for):
    content = b"%PDF-1.4 " + bytes(range(256)) * 100
    response = make_response(
        200,
        content,
        {"Content-Type": "application/pdf", "Content-Disposition": 'attachment; filename="acte.pdf"'},
    )
    response.raw = io.BytesIO(content)
    response._content_consumed = False
    response._content = False
    client = client_for(fake_http.on("/entite/12/document/abc1234/file/arrete/0", response))
    sink = io.BytesIO()
    got = client.download_file("12", "abc1234", "arrete", 0, sink)
    assert sink.getvalue() == content
    assert got.size == len(content)
    import hashlib

    assert got.sha256 == hashlib.sha256(content).hexdigest()
    assert got.name == "acte.pdf"
    assert fake_http.calls[0]["stream"] is True


def test_download_too_large_is_refused(fake_http, client_for):
    response = make_response(200, b"", {"Content-Type": "application/pdf"})
    response.raw = io.BytesIO(b"x" * 5000)
    response._content_consumed = False
    response._content = False
    client = client_for(fake_http.on("/entite/12/document/abc1234/file/arrete/0", response))
    with pytest.raises(PastellResponseError, match="larger than"):
        client.download_file("12", "abc1234", "arrete", 0, io.BytesIO(), max_bytes=1000)


def test_flux_definition_must_be_an_object(fake_http, client_for):
    client = client_for(fake_http.on("/flux/deliberations-studio", make_response(200, json.dumps(["x"]))))
    with pytest.raises(PastellResponseError, match="JSON object"):
        client.flux_definition("deliberations-studio")
