"""Why powertools resolvers cross-talk under threads, and proof that ours do not.

Each test makes N threads resolve at the same moment: a barrier inside the route handler holds every
thread there until all N have entered, so each handler reads the request state after every other
thread has installed its own event — the worst interleaving, deterministically."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from regate.api.resolver import RequestScopedResolver, ResolverBusy, without_body
from regate_local.serve.server import http_api_event

N = 20


def _app(cls: type[APIGatewayHttpResolver], barrier: threading.Barrier) -> APIGatewayHttpResolver:
    app = cls()

    @app.get("/v1/echo/<name>")
    def echo(name: str) -> dict[str, Any]:
        barrier.wait(timeout=10)
        event = app.current_event
        return {
            "name": name,
            "query": event.get("rawQueryString"),
            "header": event.get_header_value("x-client", case_sensitive=False),
            "path": event.path,
        }

    return app


def _resolve_concurrently(apps: list[APIGatewayHttpResolver]) -> list[dict[str, Any]]:
    import json

    def one(i: int) -> dict[str, Any]:
        event = http_api_event("GET", f"/v1/echo/n{i}?client={i}", {"X-Client": str(i)})
        return json.loads(apps[i].resolve(event, {})["body"])

    with ThreadPoolExecutor(max_workers=N) as pool:
        return list(pool.map(one, range(N)))


def _expected(i: int) -> dict[str, Any]:
    return {"name": f"n{i}", "query": f"client={i}", "header": str(i), "path": f"/v1/echo/n{i}"}


def test_root_cause_powertools_keeps_the_event_on_the_class() -> None:
    """Plain resolvers, one per thread: ``resolve`` assigns ``BaseRouter.current_event`` (a class
    attribute), so every handler reads the event installed last — other clients' query strings."""
    barrier = threading.Barrier(N)
    answers = _resolve_concurrently([_app(APIGatewayHttpResolver, barrier) for _ in range(N)])
    assert "current_event" in vars(BaseRouter)  # written on the class, not on the instances
    swapped = [i for i, answer in enumerate(answers) if answer["query"] != f"client={i}"]
    assert len(swapped) >= N - 1, answers  # all but (at most) the last writer read another's event
    # the path parameters come from the per-instance context, which is why only some fields swapped
    assert [a["name"] for a in answers] == [f"n{i}" for i in range(N)]


def test_request_scoped_resolvers_are_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BaseRouter, "current_event", "sentinel", raising=False)
    barrier = threading.Barrier(N)
    for _ in range(3):
        answers = _resolve_concurrently([_app(RequestScopedResolver, barrier) for _ in range(N)])
        assert answers == [_expected(i) for i in range(N)]
    assert BaseRouter.current_event == "sentinel"  # never written by our resolver


def test_one_resolver_refuses_to_serve_two_requests_at_once() -> None:
    entered = threading.Event()
    release = threading.Event()
    app = RequestScopedResolver()

    @app.get("/v1/slow")
    def slow() -> dict[str, Any]:
        entered.set()
        release.wait(timeout=10)
        return {}

    thread = threading.Thread(target=lambda: app.resolve(http_api_event("GET", "/v1/slow", {}), {}))
    thread.start()
    assert entered.wait(timeout=10)
    with pytest.raises(ResolverBusy):
        app.resolve(http_api_event("GET", "/v1/slow", {}), {})
    release.set()
    thread.join(timeout=10)
    assert app.resolve(http_api_event("GET", "/v1/slow", {}), {})["statusCode"] == 200  # free again


def test_current_event_outside_a_request_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        _ = RequestScopedResolver().current_event


def test_head_is_get_without_body() -> None:
    app = RequestScopedResolver()

    @app.get_and_head("/v1/thing")
    def thing() -> dict[str, Any]:
        return {"é": "x" * 10}

    get = app.resolve(http_api_event("GET", "/v1/thing", {}), {})
    head = app.resolve(http_api_event("HEAD", "/v1/thing", {}), {})
    assert head["statusCode"] == get["statusCode"] == 200
    assert head["body"] == "" and get["body"]
    assert head["headers"] == {**get["headers"], "Content-Length": str(len(get["body"].encode()))}


def test_head_of_binary_and_not_modified_answers() -> None:
    binary = {"statusCode": 200, "headers": {}, "body": "AAEC", "isBase64Encoded": True}
    assert without_body(binary) == {
        "statusCode": 200,
        "headers": {"Content-Length": "3"},
        "body": "",
        "isBase64Encoded": False,
    }
    assert "Content-Length" not in without_body({"statusCode": 304, "headers": {}, "body": ""})["headers"]
