"""Authentication (§3): Basic and Bearer, 401 headers, the 5-per-minute login limiter keyed on the IP."""

from __future__ import annotations

from datetime import timedelta

from pastell_sim_helpers import LECTEUR, REGATE, basic, call

ENTITE = "/api/v2/entite"
WRONG = basic("regate", "mauvais")


def test_basic_and_bearer_both_authenticate(small_sim):
    assert call(small_sim, ENTITE, auth=REGATE).status == 200
    assert call(small_sim, ENTITE, auth="Bearer regate-demo-token").status == 200
    assert call(small_sim, ENTITE, auth="bearer regate-demo-token").status == 200


def test_401_carries_www_authenticate_and_the_exact_message(small_sim):
    for auth in (None, WRONG, "Bearer inconnu", "Token regate-demo-token", "Basic !!pas-du-base64!!"):
        answer = call(small_sim, ENTITE, auth=auth)
        assert answer.status == 401, auth
        assert answer.headers["www-authenticate"] == 'Basic realm="API Pastell"'
        assert answer.json == {"status": "error", "error-message": "Accès interdit"}


def test_disabled_account(small_sim):
    answer = call(small_sim, ENTITE, auth=basic("parti", "parti-demo"))
    assert answer.status == 401 and answer.error == "Votre compte a été désactivé"


def test_sixth_failed_attempt_in_a_minute_gets_429_with_lower_case_retry_after(small_sim):
    for _ in range(5):
        assert call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.7").status == 401
    answer = call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.7")
    assert answer.status == 429
    assert answer.headers["retry-after"] == "60"
    assert ("Retry-after", "60") in [
        (k, v) for k, v in small_sim.handle(_req("192.0.2.7", WRONG))[0].headers
    ]  # spelled with a lower-case "a"
    # Even good credentials are refused while the window is exhausted (every attempt consumes a unit).
    assert call(small_sim, ENTITE, auth=REGATE, ip="192.0.2.7").status == 429
    # Other IPs are unaffected.
    assert call(small_sim, ENTITE, auth=REGATE, ip="192.0.2.8").status == 200


def test_window_expires_after_a_minute(small_sim, clock):
    for _ in range(6):
        call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.9")
    assert call(small_sim, ENTITE, auth=REGATE, ip="192.0.2.9").status == 429
    clock.current += timedelta(seconds=59)
    assert call(small_sim, ENTITE, auth=REGATE, ip="192.0.2.9").status == 429
    clock.current += timedelta(seconds=1)
    assert call(small_sim, ENTITE, auth=REGATE, ip="192.0.2.9").status == 200


def test_success_resets_the_counter(small_sim):
    for _ in range(4):
        assert call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.10").status == 401
    assert call(small_sim, ENTITE, auth=LECTEUR, ip="192.0.2.10").status == 200
    for _ in range(5):
        assert call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.10").status == 401
    assert call(small_sim, ENTITE, auth=WRONG, ip="192.0.2.10").status == 429


def test_request_log_records_the_account(small_sim):
    small_sim.reset_log()
    call(small_sim, ENTITE, auth=REGATE)
    call(small_sim, ENTITE, auth=WRONG)
    log = small_sim.request_log
    assert [(e.status, e.account) for e in log] == [(200, "regate"), (401, None)]


def _req(ip: str, auth: str):
    from regate_local.pastell_sim.api import Request

    return Request("GET", ENTITE, {}, {"authorization": auth}, b"", ip)
