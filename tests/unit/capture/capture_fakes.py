"""A fake ``requests.Session`` for the Pastell client: canned answers per route, every call recorded."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from regate.clock import FakeClock
from regate.http.retry import RetryingSession, RetryPolicy
from regate.pastell.client import PastellAuth, PastellClient


def make_response(
    status: int = 200, body: bytes | str | Any = b"", headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    response._content = body
    response._content_consumed = True
    response.raw = io.BytesIO(body)
    response.headers.update({"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    return response


@dataclass
class FakeHttp:
    """Routes: ``(path regex, answer)``; answer = a Response, a list used in order, or a callable."""

    routes: list[tuple[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def on(self, pattern: str, answer: Any) -> FakeHttp:
        self.routes.append((pattern, answer))
        return self

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        path = url.split("/api/v2", 1)[1]
        self.calls.append({"method": method, "path": path, **kwargs})
        for pattern, answer in self.routes:
            if re.fullmatch(pattern, path):
                if isinstance(answer, list):
                    item = answer.pop(0) if len(answer) > 1 else answer[0]
                elif isinstance(answer, Callable):
                    item = answer(path, kwargs)
                else:
                    item = answer
                if isinstance(item, Exception):
                    raise item
                return item
        return make_response(
            404, {"status": "error", "error-message": f"La ressource {path} n'a pas été trouvée"}
        )


@pytest.fixture()
def fake_http() -> FakeHttp:
    return FakeHttp()


@pytest.fixture()
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def client_for(fake_clock: FakeClock) -> Callable[..., PastellClient]:
    def build(http: FakeHttp, auth: PastellAuth | None = None, attempts: int = 3) -> PastellClient:
        policy = RetryPolicy(max_attempts=attempts, backoff_base=0.01)
        session = RetryingSession(policy, http, fake_clock)  # type: ignore[arg-type]
        return PastellClient(
            "https://pastell.example.org/", auth or PastellAuth(user="regate", password="pw"), session
        )

    return build
