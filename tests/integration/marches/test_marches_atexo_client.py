"""The Atexo SDM client against the simulator: token, monthly export, and every failure mode a clear error."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import requests

from regate.profil_acheteur.atexo import (
    AtexoAuthError,
    AtexoForbiddenError,
    AtexoResponseError,
    AtexoUnavailableError,
    ExportRequest,
)

pytestmark = pytest.mark.integration
MAY = ExportRequest(siren="213502388", date_min=date(2024, 5, 1), date_max=date(2024, 5, 31))


def test_token_then_monthly_export(sim, client_factory) -> None:
    simulator, url = sim
    client = client_factory(url)
    answer = client.export(MAY)
    document = json.loads(answer.body)
    assert answer.marches == len(document["marches"]["marche"]) > 0
    assert all("2024-05-01" <= m["dateNotification"] <= "2024-05-31" for m in document["marches"]["marche"])
    assert all(m["acheteur"]["id"].startswith("213502388") for m in document["marches"]["marche"])
    client.export(ExportRequest(siren="213502388", date_min=date(2024, 6, 1), date_max=date(2024, 6, 30)))
    assert client.token_calls == 1  # the ticket is reused
    log = simulator.request_log
    assert [e.route for e in log] == ["token", "export", "export"]
    assert (log[1].date_min, log[1].date_max, log[1].body_kind) == ("01-05-2024", "31-05-2024", "json")


def test_bad_credentials_html_page_is_an_auth_error_without_the_password(sim, client_factory) -> None:
    _, url = sim
    client = client_factory(url, password="Mauvais-Mdp-42")
    with pytest.raises(AtexoAuthError) as info:
        client.export(MAY)
    assert "HTML" in str(info.value) and "Mauvais-Mdp-42" not in str(info.value)
    chained = repr(info.value.__cause__) + repr(info.value.__context__)
    assert "Mauvais-Mdp-42" not in chained


def test_unreachable_platform_does_not_leak_the_password(client_factory) -> None:
    client = client_factory("http://127.0.0.1:9", password="Mauvais-Mdp-42")
    with pytest.raises(AtexoUnavailableError) as info:
        client.token()
    assert "Mauvais-Mdp-42" not in str(info.value) and info.value.__cause__ is None


def test_expired_token_is_renewed_once(sim, client_factory, clock) -> None:
    simulator, url = sim
    client = client_factory(url, token_ttl_seconds=10**6)  # the client does not know the platform's TTL
    client.export(MAY)
    clock.current += timedelta(hours=2)  # past the simulator's 1 h expiry
    client.export(MAY)
    assert client.token_calls == 2
    assert [e.status for e in simulator.request_log if e.route == "export"] == [200, 401, 200]


def test_token_refused_twice_is_an_auth_error(sim, client_factory) -> None:
    simulator, url = sim
    simulator.inject("export", 401, times=2)
    with pytest.raises(AtexoAuthError):
        client_factory(url).export(MAY)


def test_429_waits_retry_after_then_succeeds(sim, client_factory, clock) -> None:
    simulator, url = sim
    simulator.rate_limit(times=2, retry_after="7")
    answer = client_factory(url).export(MAY)
    assert answer.marches > 0 and clock.sleeps == [7.0, 7.0]


def test_5xx_retried_then_final_error(sim, client_factory) -> None:
    simulator, url = sim
    simulator.fail(times=1, status=502)
    client = client_factory(url)
    assert client.export(MAY).marches > 0
    simulator.fail(times=10, status=503)
    with pytest.raises(AtexoUnavailableError) as info:
        client.export(MAY)
    assert info.value.status == 503


def test_html_error_page_with_200_is_refused(sim, client_factory) -> None:
    simulator, url = sim
    simulator.html_error()
    with pytest.raises(AtexoResponseError) as info:
        client_factory(url).export(MAY)
    assert (
        info.value.code == "html_au_lieu_de_json" and info.value.status == 200 and b"<html" in info.value.head
    )


def test_malformed_json_is_refused(sim, client_factory) -> None:
    simulator, url = sim
    simulator.malformed()
    with pytest.raises(AtexoResponseError) as info:
        client_factory(url).export(MAY)
    assert info.value.code == "json_invalide"


def test_huge_answer_is_cut(sim, client_factory) -> None:
    simulator, url = sim
    simulator.add_bulk("213502388", 2024, 5, 150)
    with pytest.raises(AtexoResponseError) as info:
        client_factory(url, max_response_bytes=64 * 1024).export(MAY)
    assert info.value.code == "reponse_trop_grosse"
    assert client_factory(url).export(MAY).marches >= 150


def test_forbidden_buyer(sim_factory, client_factory) -> None:
    _, url = sim_factory(forbidden_sirens=["213502388"])
    with pytest.raises(AtexoForbiddenError):
        client_factory(url).export(MAY)


def test_long_ranges_time_out_at_the_platform(sim, client_factory) -> None:
    """Why the capture asks month by month (Mégalis: « pour éviter des timeouts »)."""
    _, url = sim
    year = ExportRequest(siren="213502388", date_min=date(2024, 1, 1), date_max=date(2024, 12, 31))
    with pytest.raises(AtexoUnavailableError) as info:
        client_factory(url).export(year)
    assert info.value.status == 504


def test_simulator_accepts_form_data_and_rejects_xml(sim) -> None:
    simulator, url = sim
    ticket = requests.get(
        f"{url}/api.php/ws/authentification/connexion/regate-sdm/sdm-demo-password", timeout=5
    ).text
    token = ticket.split("<ticket>")[1].split("</ticket>")[0]
    export = f"{url}/app.php/api/v1/donnees-essentielles/contrat/format-pivot"
    form = {
        "token": (None, token),
        "format": (None, "json"),
        "siren": (None, "213502388"),
        "date_notif_min": (None, "01-05-2024"),
        "date_notif_max": (None, "31-05-2024"),
    }
    response = requests.post(export, files=form, timeout=5)
    assert response.status_code == 200 and simulator.request_log[-1].body_kind == "multipart"
    assert (
        requests.post(
            export,
            data={
                "token": token,
                "format": "xml",
                "date_notif_min": "01-05-2024",
                "date_notif_max": "31-05-2024",
            },
            timeout=5,
        ).status_code
        == 400
    )
    assert (
        requests.post(
            export,
            json={
                "token": token,
                "format": "json",
                "date_notif_min": "2024-05-01",
                "date_notif_max": "31-05-2024",
            },
            timeout=5,
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b"<ticket>" + b"A" * 10_000 + b"</ticket>", AtexoResponseError),
        (200, b'<?xml version="1.0"?><ticket></ticket>', AtexoAuthError),
        (200, b"<ticket>abc</ticket>", AtexoAuthError),
        (403, b"<html>interdit</html>", AtexoAuthError),
        (404, b"<html>introuvable</html>", AtexoResponseError),
        (503, b"<html>maintenance</html>", AtexoUnavailableError),
    ],
)
def test_hostile_token_answers(sim, client_factory, status: int, body: bytes, error: type) -> None:
    simulator, url = sim
    simulator.inject("token", status, times=5, body=body)
    with pytest.raises(error):
        client_factory(url).token()
