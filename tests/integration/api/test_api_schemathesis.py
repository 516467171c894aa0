"""Property-based run of schemathesis against ``regate serve``: no input may cause a server error."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from regate.api.app import ApiServices, create_app
from regate.api.local_server import make_server, thread_local_resolver

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def served(services: ApiServices) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, thread_local_resolver(lambda: create_app(services)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()


def test_no_server_error(served: str) -> None:
    """Every operation of the OpenAPI document, a bounded number of generated requests each."""
    schema = schemathesis.openapi.from_url(f"{served}/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11  # schemathesis skips the schema document itself
    checked = 0
    for operation in operations:
        # valid inputs (must succeed or be a clean 4xx) and invalid ones (must be a clean 4xx)
        strategy = operation.as_strategy() | operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)

        @given(case=strategy)
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=served, allow_redirects=False, timeout=60)
            nonlocal checked
            checked += 1
            assert response.status_code < 500, (case.path, case.query, response.text[:500])

        run()
    assert checked >= 11 * 10
