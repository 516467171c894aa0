"""``regate serve`` under concurrent, slow and hostile clients (real sockets, the real resolver).

Parallelism is proven by synchronisation, never by timing: a barrier in front of the resolver only
opens when all 20 requests are being resolved at the same moment, and a slow request (an export) is held
inside its worker until the cheap ones have all been answered — with one resolution at a time they could
never be."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import requests
from api_scenario import RENNES, Client

from regate.api.app import ApiServices, create_app
from regate_local.serve.server import ApiHTTPServer, ServeLimits, http_api_event, make_server

pytestmark = pytest.mark.integration

N = 20


class Gate:
    """Wraps one worker's resolver: ``x-test-barrier`` waits for every gated request to arrive,
    ``x-test-hold`` stays in the worker until the test releases it (a slow request)."""

    def __init__(
        self, inner: Any, barrier: threading.Barrier, held: threading.Event, release: threading.Event
    ):
        self.inner = inner
        self.barrier = barrier
        self.held = held
        self.release = release

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        headers = event["headers"]
        if "x-test-barrier" in headers:
            self.barrier.wait(timeout=60)
        if "x-test-hold" in headers:
            self.held.set()
            self.release.wait(timeout=300)
        return self.inner.resolve(event, context)


@contextmanager
def serving(factory: Callable[[], Any], **limits: Any) -> Iterator[tuple[ApiHTTPServer, str]]:
    server = make_server("127.0.0.1", 0, factory=factory, limits=ServeLimits(**limits))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield server, f"http://{host}:{port}"
    finally:
        server.shutdown()
        server.server_close()


Gated = tuple[ApiHTTPServer, str, threading.Event, threading.Event]


@pytest.fixture()
def gated(services: ApiServices) -> Iterator[Gated]:
    barrier = threading.Barrier(N)
    held, release = threading.Event(), threading.Event()
    with serving(lambda: Gate(create_app(services), barrier, held, release)) as (server, url):
        try:
            yield server, url, held, release
        finally:
            release.set()


TARGETS = [
    *(f"/v1/deliberations?limit={n}&fields=acte_id,delib_objet" for n in range(1, 9)),
    f"/v1/deliberations?siren={RENNES}&annee=2023",
    f"/v1/deliberations?siren={RENNES}&q=budget",
    "/v1/deliberations?q=voirie&sort=siren",
    "/v1/deliberations?sort=acte_id&limit=3",
    "/v1/stats?group=annee",
    "/v1/stats?group=matiere",
    f"/v1/stats?group=mois&siren={RENNES}",
    "/v1/collectivites",
    f"/v1/mreport/deliberations?dataid={RENNES}",
    "/v1/collectivites.geojson?annee=2024",
    f"/v1/deliberations/{RENNES}/2024.csv",
    "/v1/stats?groupe=typo",
]


def test_twenty_clients_are_resolved_in_parallel_without_cross_talk(gated: Gated, client: Client) -> None:
    """All 20 requests pass the barrier only if 20 resolvers run at once; each answer must equal the
    answer to the same request made alone (no query string, path or body from another client)."""
    server, url, _, _ = gated
    assert len(TARGETS) == N
    alone = [client.get(t) for t in TARGETS]
    for _ in range(2):
        with ThreadPoolExecutor(max_workers=N) as pool:
            together = list(
                pool.map(
                    lambda t: requests.get(url + t, headers={"X-Test-Barrier": "1"}, timeout=60), TARGETS
                )
            )
        for target, expected, got in zip(TARGETS, alone, together, strict=True):
            assert got.status_code == expected["statusCode"], (target, got.text[:300])
            assert got.text == expected["body"], target
            assert got.headers["ETag"] == expected["headers"]["ETag"], target
    assert server.resolver.resolvers_built >= N  # type: ignore[union-attr]


def test_a_slow_request_does_not_delay_cheap_ones(gated: Gated) -> None:
    """The slow request cannot finish before the test releases it, which happens only once the 19 cheap
    requests have been answered: they were served while it held its worker."""
    _, url, held, release = gated
    with ThreadPoolExecutor(max_workers=N) as pool:
        slow = pool.submit(requests.get, f"{url}/v1/health", headers={"X-Test-Hold": "1"}, timeout=300)
        assert held.wait(timeout=60)
        cheap = list(
            pool.map(
                lambda n: requests.get(f"{url}/v1/deliberations?limit={1 + n % 8}", timeout=120), range(N - 1)
            )
        )
        assert not slow.done()  # still held in its worker
        release.set()
        assert slow.result().status_code == 200
    assert [r.status_code for r in cheap] == [200] * (N - 1)
    assert [len(r.json()["data"]) for r in cheap] == [1 + n % 8 for n in range(N - 1)]


def test_a_cheap_request_does_not_wait_behind_an_export(fresh_services: ApiServices) -> None:
    """An export holds its worker (after building its file) until cheap requests have been answered."""
    exporting, release = threading.Event(), threading.Event()
    real = fresh_services.query.export_to

    def long_export(*args: Any, **kwargs: Any) -> str:
        version = real(*args, **kwargs)
        exporting.set()
        release.wait(timeout=300)
        return version

    fresh_services.query.export_to = long_export  # type: ignore[method-assign]
    with serving(lambda: create_app(fresh_services)) as (_, url), ThreadPoolExecutor(max_workers=2) as pool:
        try:
            export = pool.submit(requests.get, f"{url}/v1/exports/deliberations.csv", timeout=300)
            assert exporting.wait(timeout=60)
            for _ in range(3):
                assert requests.get(f"{url}/v1/health", timeout=120).status_code == 200
                assert requests.get(f"{url}/v1/deliberations?limit=1", timeout=120).status_code == 200
            assert not export.done()
        finally:
            release.set()
        response = export.result()
    assert response.status_code == 200 and response.text.startswith("COLL_NOM,")


# ---------------------------------------------------------------------------- hostile input
def _raw(url: str, payload: bytes, timeout: float = 10) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


MALFORMED = [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET\r\n\r\n", 400),
    (b"GET /v1/health\r\n\r\n", 400),  # HTTP/0.9
    (b"GET /v1/health HTTP/1.1 extra\r\nHost: x\r\n\r\n", 400),
    (b"GET /v1/health HTTP/x.y\r\nHost: x\r\n\r\n", 400),
    (b"GET v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET http://evil.example/v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /v1/h\xc3\xa9alth HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /v1/health\x00 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"get /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\n\r\n", 400),  # no Host
    (b"GET /v1/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBad Name: v\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: v\x01v\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: one\r\n two\r\n\r\n", 400),  # obsolete line folding
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 411),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
    (b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n", 431),
    (b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + b"X-A: b\r\n" * 120 + b"\r\n", 431),
    (b"GET /v1/health HTTP/2.0\r\nHost: x\r\n\r\n", 505),
]


@pytest.mark.parametrize(("payload", "status"), MALFORMED, ids=[repr(p[:40]) for p, _ in MALFORMED])
def test_malformed_requests_get_a_clear_error(server_url: str, payload: bytes, status: int) -> None:
    answer = _raw(server_url, payload)
    assert _status(answer) == status, answer[:300]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Connection: close" in head and b"Content-Type: application/json" in head
    error = json.loads(body)["erreur"]
    assert error["code"] == status and error["message"]
    assert requests.get(f"{server_url}/v1/health", timeout=30).status_code == 200  # the server goes on


def test_well_formed_variants_are_accepted(server_url: str) -> None:
    """Keep-alive, a leading empty line, HTTP/1.0 without Host, a small body on GET, HEAD on the same
    connection: all answered."""
    two = _raw(
        server_url,
        b"\r\nGET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"HEAD /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab"
        b"GET /v1/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        timeout=15,
    )
    assert two.count(b"HTTP/1.1 200 OK") == 3
    old = _raw(server_url, b"GET /v1/health HTTP/1.0\r\n\r\n")
    assert _status(old) == 200 and b"Connection: close" in old


# ------------------------------------------------------------------------- timeouts, limits
def test_idle_and_slow_clients_are_disconnected(services: ApiServices) -> None:
    with serving(lambda: create_app(services), keepalive_seconds=0.3, timeout_seconds=0.5) as (_, url):
        host, port = url.removeprefix("http://").split(":")
        for payload in (b"", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"):  # silent; headers never ended
            with socket.create_connection((host, int(port)), timeout=120) as sock:
                sock.sendall(payload)
                assert sock.recv(1024) == b""  # closed by the server (our own timeout would raise)
        assert requests.get(f"{url}/v1/health", timeout=30).status_code == 200


def test_connections_beyond_the_limit_get_503(services: ApiServices) -> None:
    with serving(lambda: create_app(services), max_connections=2, keepalive_seconds=30) as (_, url):
        host, port = url.removeprefix("http://").split(":")
        held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(2)]
        try:
            for sock in held:  # one request each, then the connections stay open (keep-alive)
                sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")
            refused = _raw(url, b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _status(refused) == 503 and b"Retry-After: 1" in refused
        finally:
            for sock in held:
                sock.close()
        for _ in range(300):  # the server notices the closes and frees the slots
            if _status(_raw(url, b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200:
                break
            time.sleep(0.1)
        else:
            pytest.fail("slots never freed")


def test_accepted_sockets_have_nodelay_and_a_timeout(services: ApiServices) -> None:
    server = make_server(
        "127.0.0.1", 0, factory=lambda: create_app(services), limits=ServeLimits(timeout_seconds=7)
    )
    try:
        client = socket.create_connection(server.server_address[:2], timeout=5)
        accepted, _ = server.get_request()
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert accepted.gettimeout() == 7
        finally:
            accepted.close()
            client.close()
    finally:
        server.server_close()


def test_a_plain_resolve_callable_is_called_one_event_at_a_time() -> None:
    """``regate demo`` serves the Lambda handler (one container): never two events at once."""
    inside = 0
    most = 0
    lock = threading.Lock()

    def resolve(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": event["rawQueryString"]}

    server = make_server("127.0.0.1", 0, resolve)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = "http://{}:{}".format(*server.server_address[:2])
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = list(pool.map(lambda n: requests.get(f"{url}/x?n={n}", timeout=30).text, range(8)))
    finally:
        server.shutdown()
        server.server_close()
    assert bodies == [f"n={n}" for n in range(8)] and most == 1


def test_make_server_needs_exactly_one_resolver() -> None:
    with pytest.raises(ValueError):
        make_server("127.0.0.1", 0)
    with pytest.raises(ValueError):
        make_server("127.0.0.1", 0, lambda e: {}, factory=lambda: None)


def test_event_of_a_served_request() -> None:
    event = http_api_event("HEAD", "/v1/x?a=1&a=2", {"Host": "h", "X-A": "1", "x-a": "2"})
    assert event["requestContext"]["http"]["method"] == "HEAD"
    assert event["queryStringParameters"] == {"a": "1,2"} and event["headers"]["x-a"] == "1,2"
