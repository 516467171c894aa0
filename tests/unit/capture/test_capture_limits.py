"""Deadlines, byte caps and Retry-after budgets of outside calls; full-match identifiers; missing files."""

from __future__ import annotations

import io

import pytest
import requests
from capture_fakes import make_response

from regate.clock import FakeClock
from regate.http.limits import (
    BodyTooLarge,
    Deadline,
    DeadlineExceeded,
    RetryAfterTooLong,
    iter_body,
    read_body,
)
from regate.http.retry import RetryingSession, RetryPolicy
from regate.pastell.client import (
    PastellFileMissingError,
    PastellNotFoundError,
    PastellRateLimitedError,
    PastellTimeoutError,
    PastellTooLargeError,
)


class Ticking:
    """A monotonic clock advanced by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_deadline_remaining_expired_and_within():
    now = Ticking()
    run = Deadline(10, now)
    assert run.remaining() == 10 and not run.expired()
    call = run.within(3)
    assert call.remaining() == 3
    assert run.within(60).remaining() == 10  # a call never outlives its run
    assert Deadline.never().remaining() is None
    assert Deadline.never().within(5).remaining() == pytest.approx(5, abs=0.1)
    now.t += 10
    assert run.expired() and run.remaining() == 0


class DripRaw:
    """A urllib3-like raw stream: ``read1`` returns one small piece per call, each taking ``step`` s."""

    def __init__(self, pieces: list[bytes], now: Ticking, step: float) -> None:
        self.pieces, self.now, self.step = list(pieces), now, step

    def read1(self, amt: int, decode_content: bool = True) -> bytes:
        self.now.t += self.step
        return self.pieces.pop(0) if self.pieces else b""


def streamed(raw) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response.raw = raw
    response._content = False
    return response


def test_iter_body_stops_a_slow_drip_at_the_deadline():
    now = Ticking()
    response = streamed(DripRaw([b"x"] * 1000, now, step=0.5))
    with pytest.raises(DeadlineExceeded):
        read_body(response, Deadline(3, now), limit=10**6)
    assert now.t - 1000 <= 3.5  # one read past the deadline at most


def test_iter_body_caps_bytes_of_an_endless_body():
    now = Ticking()
    response = streamed(DripRaw([b"y" * 1000] * 10**6, now, step=0.0))
    got = 0
    with pytest.raises(BodyTooLarge):
        for piece in iter_body(response, Deadline(None, now), limit=50_000):
            got += len(piece)
    assert got <= 50_000


def test_iter_body_of_an_answer_already_in_memory():
    response = make_response(200, b"[1, 2]")
    assert read_body(response, Deadline.never(), 100) == b"[1, 2]"
    with pytest.raises(BodyTooLarge):
        read_body(response, Deadline.never(), 3)


def scripted(answers: list, policy: RetryPolicy, clock: FakeClock) -> RetryingSession:
    class Http:
        calls = 0

        def request(self, method, url, **kwargs):
            Http.calls += 1
            return answers.pop(0)

    return RetryingSession(policy, Http(), clock)  # type: ignore[arg-type]


def test_retry_after_beyond_the_deadline_fails_at_once_without_sleeping():
    clock = FakeClock()
    limited = make_response(429, {"status": "error"}, {"Retry-after": "3600"})
    session = scripted([limited, make_response(200, [])], RetryPolicy(), clock)
    with pytest.raises(RetryAfterTooLong) as info:
        session.get("https://p/api/v2/entite", deadline=Deadline(600))
    assert info.value.retry_after == 3600 and clock.sleeps == []


def test_retry_after_within_budget_is_waited_and_a_long_one_fails_only_when_asked():
    clock = FakeClock()
    limited = make_response(429, {"status": "error"}, {"Retry-after": "60"})
    session = scripted([limited, make_response(200, [])], RetryPolicy(), clock)
    assert session.get("https://p/x", deadline=Deadline(600)).status_code == 200
    assert clock.sleeps == [60.0]
    # publication's policy: a long Retry-after is shortened to the cap (unchanged behaviour)
    capped = scripted(
        [make_response(429, {}, {"Retry-after": "3600"}), make_response(200, [])], RetryPolicy(), clock
    )
    assert capped.get("https://p/x").status_code == 200 and clock.sleeps[-1] == 300.0
    # harvest's policy: beyond the cap the pair fails for this run
    harvest = RetryPolicy(fail_on_long_retry_after=True)
    strict = scripted([make_response(429, {}, {"Retry-after": "3600"})], harvest, clock)
    with pytest.raises(RetryAfterTooLong):
        strict.get("https://p/x")


def test_the_socket_timeout_shrinks_to_the_time_left_and_nothing_is_sent_after_the_deadline():
    seen = {}

    class Http:
        def request(self, method, url, **kwargs):
            seen["timeout"] = kwargs["timeout"]
            return make_response(200, [])

    session = RetryingSession(RetryPolicy(timeout=30), Http(), FakeClock())  # type: ignore[arg-type]
    now = Ticking()
    session.get("https://p/x", deadline=Deadline(4, now))
    assert seen["timeout"] == 4
    now.t += 5
    with pytest.raises(DeadlineExceeded):
        session.get("https://p/x", deadline=Deadline(4, now).within(0))


def test_pastell_client_maps_bounds_to_clear_errors(fake_http, client_for):
    from regate.pastell.client import PastellLimits

    big = make_response(200, b"[" + b"0," * 5000 + b"0]")
    fake_http.on("/entite", big)
    client = client_for(fake_http)
    client.limits = PastellLimits(json_max_bytes=1024)
    with pytest.raises(PastellTooLargeError, match="REGATE_HTTP_MAX_JSON_BYTES"):
        client.entites()
    client.limits = PastellLimits()
    client.run_deadline = Deadline(0)
    with pytest.raises(PastellTimeoutError):
        client.entites()


def test_a_long_retry_after_is_a_rate_limited_error(fake_http, client_for):
    limited = make_response(429, {"status": "error", "error-message": "x"}, {"Retry-after": "3600"})
    client = client_for(fake_http.on("/entite", limited))
    client.run_deadline = Deadline(120)
    with pytest.raises(PastellRateLimitedError) as info:
        client.entites()
    assert info.value.retry_after == 3600 and info.value.status == 429


@pytest.mark.parametrize("status", [400, 404])
def test_a_file_pastell_says_does_not_exist_is_a_missing_file(fake_http, client_for, status):
    body = {"status": "error", "error-message": "Ce fichier n'existe pas"}
    client = client_for(
        fake_http.on("/entite/12/document/abc1234/file/arrete/0", make_response(status, body))
    )
    with pytest.raises(PastellFileMissingError) as info:
        client.download_file("12", "abc1234", "arrete", 0, io.BytesIO())
    assert info.value.status == status


def test_a_404_for_the_whole_document_is_not_a_missing_file(fake_http, client_for):
    body = {"status": "error", "error-message": "Le document abc1234 n'appartient pas à l'entité 12"}
    client = client_for(fake_http.on("/entite/12/document/abc1234/file/arrete/0", make_response(404, body)))
    with pytest.raises(PastellNotFoundError) as info:
        client.download_file("12", "abc1234", "arrete", 0, io.BytesIO())
    assert not isinstance(info.value, PastellFileMissingError)


@pytest.mark.parametrize("value", ["12\n", "12\r", "\n12", "1\x002", "..", ".", "a/b", "", "x" * 129])
def test_identifiers_are_full_matches(value):
    from regate.storage.layout import safe_segment

    with pytest.raises(ValueError):
        safe_segment(value)


def test_depot_zip_name_with_a_trailing_newline_is_refused():
    from regate.capture.push import DepotRejected, open_depot_zip

    with pytest.raises(DepotRejected) as info:
        open_depot_zip("inbox/Ab3dE5f\n.zip", io.BytesIO(b""), 0)
    assert info.value.code == "nom_invalide"


@pytest.mark.parametrize(
    ("key", "safe"),
    [
        ("inbox/Ab3dE5f.zip", True),
        ("inbox/sub/Ab3dE5f.zip", True),
        ("inbox/../x.zip", False),
        ("inbox/./x.zip", False),
        ("inbox//x.zip", False),
        ("inbox/a\\..\\x.zip", False),
        ("inbox/x\n.zip", False),
        ("inbox-rejected/x.zip", False),
    ],
)
def test_inbox_keys(key, safe):
    from regate.capture.push import is_safe_inbox_key

    assert is_safe_inbox_key(key) is safe


def test_json_depth_is_linear_and_ignores_brackets_in_strings():
    from regate.capture.push import json_depth

    assert json_depth('{"a": "[[[[", "b": [1, {"c": 2}]}') == 3
    assert json_depth('{"a": "\\"[["}') == 1
    assert json_depth("[" * 100_000 + "]" * 100_000) == 100_000


def test_transitions_setting_is_a_comma_list(monkeypatch):
    from regate.settings import Settings

    monkeypatch.setenv("REGATE_PASTELL_TRANSITIONS", "annuler-tdt, modification")
    assert Settings().pastell_transitions == ("annuler-tdt", "modification")


def test_run_deadline_of_lambda_and_cli():
    from regate.capture.runtime import run_deadline
    from regate.settings import Settings

    settings = Settings(pastell_run_deadline_seconds=14400, pastell_run_margin_seconds=60)
    assert run_deadline(settings).remaining() == pytest.approx(14400, abs=1)
    assert run_deadline(settings, remaining_seconds=900).remaining() == pytest.approx(840, abs=1)
    assert run_deadline(Settings(pastell_run_deadline_seconds=0)).remaining() is None
