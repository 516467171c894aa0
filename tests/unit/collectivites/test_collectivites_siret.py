"""SiretResolver against a fake HTTP session: hit, miss, timeout, invalid answers, disabled API."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from regate.clock import FakeClock
from regate.collectivites import SiretResolver
from regate.http import RetryingSession, RetryPolicy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "collectivites"
BASE = "https://recherche-entreprises.test"


def response(status: int, body: Any = None, raw: bytes | None = None) -> requests.Response:
    out = requests.Response()
    out.status_code = status
    out._content = raw if raw is not None else json.dumps(body).encode()
    out._content_consumed = True  # no socket behind it: close() must not touch .raw
    out.headers["Content-Type"] = "application/json"
    return out


class FakeHttp:
    """Stands in for ``requests.Session``: answers from a function, records every request."""

    def __init__(self, answer: Callable[[str, dict[str, Any]], requests.Response]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.requests.append((url, kwargs))
        return self.answer(url, kwargs)


def resolver_with(answer: Callable[[str, dict[str, Any]], requests.Response], **kwargs: Any):
    fake = FakeHttp(answer)
    clock = FakeClock()
    session = RetryingSession(RetryPolicy(max_attempts=2, backoff_base=0.1, timeout=3.0), fake, clock)  # type: ignore[arg-type]
    return SiretResolver(None, session, True, BASE, clock, **kwargs), fake, clock


def rennes_answer() -> dict[str, Any]:
    return json.loads((FIXTURES / "recherche_entreprises_rennes.json").read_text(encoding="utf-8"))


def test_hit_asks_search_with_the_siren_and_a_short_timeout() -> None:
    resolver, fake, _ = resolver_with(lambda url, kw: response(200, rennes_answer()), timeout=1.5)
    assert resolver.resolve("213502388") == "21350238800019"
    url, kwargs = fake.requests[0]
    assert url == f"{BASE}/search"
    assert kwargs["params"] == {"q": "213502388"}
    assert kwargs["timeout"] == 1.5
    # memoised: the second call costs nothing
    assert resolver.resolve("213502388") == "21350238800019"
    assert len(fake.requests) == 1


def test_result_of_another_siren_ranked_first_is_skipped() -> None:
    body = rennes_answer()
    body["results"].insert(0, {"siren": "243500139", "siege": {"siret": "24350013900189"}})
    resolver, _, _ = resolver_with(lambda url, kw: response(200, body))
    assert resolver.resolve("213502388") == "21350238800019"


def test_miss_when_no_result_has_the_siren() -> None:
    resolver, fake, _ = resolver_with(lambda url, kw: response(200, {"results": [], "total_results": 0}))
    assert resolver.resolve("213502388") is None
    assert resolver.resolve("213502388") is None
    assert len(fake.requests) == 1


def test_invalid_siret_in_the_answer_is_refused() -> None:
    for bad in ("21350238800018", "24350013900189", "2135", None):
        body = {"results": [{"siren": "213502388", "siege": {"siret": bad}}]}
        resolver, _, _ = resolver_with(lambda url, kw, body=body: response(200, body))
        assert resolver.resolve("213502388") is None, bad


def test_malformed_answers_are_misses_not_crashes() -> None:
    for answer in (
        response(200, raw=b"<html>maintenance</html>"),
        response(200, {"unexpected": True}),
        response(200, {"results": "nope"}),
        response(404, {"erreur": "not found"}),
        response(400, {"erreur": "bad query"}),
    ):
        resolver, _, _ = resolver_with(lambda url, kw, answer=answer: answer)
        assert resolver.resolve("213502388") is None


def test_timeout_is_retried_then_gives_up_and_opens_the_circuit() -> None:
    def timeout(url: str, kw: dict[str, Any]) -> requests.Response:
        raise requests.Timeout("read timed out")

    resolver, fake, clock = resolver_with(timeout)
    assert resolver.resolve("213502388") is None
    assert len(fake.requests) == 2  # the policy's two attempts
    assert len(clock.sleeps) == 1
    # the API is considered down for a while: the next SIREN does not wait on it again
    assert resolver.resolve("243500139") is None
    assert len(fake.requests) == 2


def test_server_errors_are_retried() -> None:
    answers = iter([response(503, {}), response(200, rennes_answer())])
    resolver, fake, _ = resolver_with(lambda url, kw: next(answers))
    assert resolver.resolve("213502388") == "21350238800019"
    assert len(fake.requests) == 2


def test_disabled_or_sessionless_resolver_never_calls_out() -> None:
    fake = FakeHttp(lambda url, kw: response(200, rennes_answer()))
    session = RetryingSession(RetryPolicy(), fake, FakeClock())  # type: ignore[arg-type]
    assert SiretResolver(None, session, False, BASE).resolve("213502388") is None
    assert SiretResolver(None, None, True, BASE).resolve("213502388") is None
    assert fake.requests == []


def test_invalid_siren_is_not_sent() -> None:
    resolver, fake, _ = resolver_with(lambda url, kw: response(200, rennes_answer()))
    for bad in ("213502389", "", "../../etc", "2135023880"):
        assert resolver.resolve(bad) is None
    assert fake.requests == []
