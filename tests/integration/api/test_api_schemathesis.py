"""Property-based run of schemathesis against ``regate serve``: no input may cause a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_no_server_error(server_url: str) -> None:
    """Every operation of the OpenAPI document, a bounded number of generated requests each."""
    schema = schemathesis.openapi.from_url(f"{server_url}/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 11  # schemathesis skips the schema document itself
    assert {op.method.upper() for op in operations} == {"GET", "HEAD"}
    checked = 0
    for operation in operations:
        # HEAD runs the GET code path (its own answers are checked in test_api_head_documents): fewer cases
        examples = 30 if operation.method.upper() == "GET" else 6
        # valid inputs (must succeed or be a clean 4xx) and invalid ones (must be a clean 4xx)
        strategy = operation.as_strategy() | operation.as_strategy(schemathesis.GenerationMode.NEGATIVE)

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call(base_url=server_url, allow_redirects=False, timeout=60)
            nonlocal checked
            checked += 1
            assert response.status_code < 500, (case.path, case.query, response.text[:500])

        run()
    assert checked >= 11 * 10
