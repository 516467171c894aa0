"""The one HTTP retry policy: what is retried, how long it waits, what is never retried."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
import requests

from regate.clock import FakeClock
from regate.http.retry import HttpError, RetryingSession, RetryPolicy, retry_after_seconds


class ScriptedSession(requests.Session):
    """Answers from a script of (status, headers) or exceptions, recording each call."""

    def __init__(self, script: list) -> None:
        super().__init__()
        self.script = list(script)
        self.sent: list[tuple[str, str]] = []

    def request(self, method, url, **kwargs):  # type: ignore[override]
        self.sent.append((method, url))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, headers = step
        response = requests.Response()
        response.status_code = status
        response.headers.update(headers)
        response._content = b"{}"
        response.raw = io.BytesIO(b"{}")
        response.url = url
        return response


def make(script: list, **policy) -> tuple[RetryingSession, ScriptedSession, FakeClock]:
    clock = FakeClock(datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    scripted = ScriptedSession(script)
    session = RetryingSession(RetryPolicy(backoff_base=1.0, **policy), scripted, clock)
    return session, scripted, clock


def test_429_waits_retry_after_lowercase_header_as_pastell_sends_it() -> None:
    session, scripted, clock = make([(429, {"Retry-after": "60"}), (200, {})])
    assert session.get("https://p/api/v2/entite").status_code == 200
    assert clock.sleeps == [60.0]
    assert len(scripted.sent) == 2


def test_429_with_ratelimit_reset_epoch() -> None:
    reset = datetime(2024, 6, 1, 12, 0, 42, tzinfo=UTC).timestamp()
    session, _, clock = make([(429, {"X-RateLimit-Reset": str(int(reset))}), (200, {})])
    session.get("https://d/api/1/me/")
    assert clock.sleeps == [42.0]


def test_retry_after_http_date_and_cap() -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "Sat, 01 Jun 2024 12:00:30 GMT"
    now = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(response, now, cap=300) == 30.0
    response.headers["Retry-After"] = "100000"
    assert retry_after_seconds(response, now, cap=300) == 300.0
    response.headers["Retry-After"] = "soon"
    assert retry_after_seconds(response, now, cap=300) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_client_errors_are_not_retried(status: int) -> None:
    session, scripted, clock = make([(status, {})])
    assert session.get("https://p/x").status_code == status
    assert len(scripted.sent) == 1
    assert clock.sleeps == []


def test_5xx_backs_off_then_returns_last_response() -> None:
    session, scripted, clock = make([(500, {}), (502, {}), (503, {})], max_attempts=3)
    assert session.get("https://p/x").status_code == 503
    assert len(scripted.sent) == 3
    assert len(clock.sleeps) == 2
    assert all(0 <= wait <= 2.0 for wait in clock.sleeps)


def test_timeouts_are_retried_then_raise() -> None:
    session, scripted, _ = make([requests.Timeout("slow"), requests.ConnectionError("down")], max_attempts=2)
    with pytest.raises(HttpError, match="ConnectionError"):
        session.get("https://p/x")
    assert len(scripted.sent) == 2
    assert session.calls == 2


def test_retry_statuses_are_configurable() -> None:
    session, scripted, _ = make([(500, {})], retry_statuses=frozenset({429, 502, 503}))
    assert session.get("https://d/x").status_code == 500
    assert len(scripted.sent) == 1


def test_backoff_is_bounded() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=5.0)
    assert policy.backoff(10, rng=lambda: 1.0) == 5.0
    assert policy.backoff(1, rng=lambda: 0.5) == 0.5
