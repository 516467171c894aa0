"""udata client against a scripted HTTP session: retries, errors, malformed answers, chunks, dry run."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from regate.clock import FakeClock
from regate.datagouv.client import DATAGOUV_RETRY_STATUSES, DatagouvClient, sha1_hex
from regate.datagouv.models import AuthError, DatagouvError, MalformedResponse
from regate.http import RetryingSession, RetryPolicy

DATASET = {"id": "5f4f4f8910f4b55843deae51", "title": "Délibérations", "resources": [], "extras": {}}


def response(status: int, body: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None):
    resp = requests.Response()
    resp.status_code = status
    resp._content = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
    resp.headers.update(headers or {})
    resp.reason = "scripted"
    resp._content_consumed = True
    return resp


class ScriptedHttp:
    """Stands in for requests.Session: answers from a script and records every request."""

    def __init__(self, *answers: requests.Response) -> None:
        self.answers = list(answers)
        self.sent: list[dict[str, Any]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.sent.append({"method": method, "url": url, **kwargs})
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url}")
        return self.answers.pop(0)


def make_client(http: ScriptedHttp, clock: FakeClock | None = None, **kwargs: Any) -> DatagouvClient:
    policy = RetryPolicy(max_attempts=4, backoff_base=1.0, retry_statuses=DATAGOUV_RETRY_STATUSES)
    session = RetryingSession(policy, http, clock or FakeClock())  # type: ignore[arg-type]
    return DatagouvClient("https://demo.data.gouv.fr/", "secret-key", session, **kwargs)


def test_publish_client_sends_key_and_trailing_slash() -> None:
    http = ScriptedHttp(response(200, {"id": "u1", "organizations": [{"id": "o1", "slug": "opsn"}]}))
    me = make_client(http).me()
    assert me.organizations[0].id == "o1"
    sent = http.sent[0]
    assert sent["url"] == "https://demo.data.gouv.fr/api/1/me/"
    assert sent["headers"]["X-API-KEY"] == "secret-key"


def test_publish_client_waits_out_429_retry_after() -> None:
    clock = FakeClock()
    http = ScriptedHttp(response(429, {"message": "slow down"}, {"Retry-After": "7"}), response(200, DATASET))
    dataset = make_client(http, clock).get_dataset(DATASET["id"])
    assert dataset is not None and dataset.title == "Délibérations"
    assert clock.sleeps == [7.0]
    assert len(http.sent) == 2


def test_publish_client_honours_ratelimit_reset_when_no_retry_after() -> None:
    clock = FakeClock()
    reset = str(int(clock.now().timestamp()) + 12)
    http = ScriptedHttp(response(429, None, {"X-RateLimit-Reset": reset}), response(200, DATASET))
    make_client(http, clock).get_dataset(DATASET["id"])
    assert clock.sleeps == [12.0]


def test_publish_client_backs_off_on_502_then_gives_up_with_clear_error() -> None:
    clock = FakeClock()
    http = ScriptedHttp(*[response(502, raw=b"<html>Bad gateway</html>") for _ in range(4)])
    with pytest.raises(DatagouvError) as err:
        make_client(http, clock).update_resource("d1", "r1", {"title": "x"})
    assert err.value.status == 502
    assert len(http.sent) == 4 and len(clock.sleeps) == 3


@pytest.mark.parametrize("status", [400, 403, 404])
def test_publish_client_never_retries_client_errors(status: int) -> None:
    http = ScriptedHttp(response(status, {"message": "nope"}))
    with pytest.raises(DatagouvError) as err:
        make_client(http).update_resource("d1", "r1", {"title": "x"})
    assert err.value.status == status and "nope" in str(err.value)
    assert len(http.sent) == 1


def test_publish_client_401_is_an_auth_error() -> None:
    http = ScriptedHttp(
        response(401, {"message": "Invalid API token"}, {"WWW-Authenticate": 'Bearer realm="uData"'})
    )
    with pytest.raises(AuthError, match="Invalid API token"):
        make_client(http).me()
    assert len(http.sent) == 1


def test_publish_client_form_errors_are_flattened() -> None:
    http = ScriptedHttp(
        response(400, {"errors": {"schema": {"name": ['Schema name "x" is not an allowed value.']}}})
    )
    with pytest.raises(DatagouvError, match="is not an allowed value"):
        make_client(http).update_resource("d1", "r1", {"schema": {"name": "x"}})


@pytest.mark.parametrize(
    "raw",
    [
        b"<html>maintenance</html>",
        b"[1, 2]",
        json.dumps({"title": "no id"}).encode(),
        b'{"id": 5, "title": []}',
    ],
)
def test_publish_client_malformed_dataset_is_a_clear_error(raw: bytes) -> None:
    http = ScriptedHttp(response(200, raw=raw))
    with pytest.raises(MalformedResponse, match="GET /datasets/"):
        make_client(http).get_dataset("d1")


def test_publish_client_malformed_page_is_a_clear_error() -> None:
    http = ScriptedHttp(response(200, {"data": [{"name": "no id"}], "page": 1}))
    with pytest.raises(MalformedResponse, match="organizations"):
        make_client(http).find_organizations_by_siret("21350238800019")


def test_publish_client_missing_dataset_is_none() -> None:
    http = ScriptedHttp(
        response(404, {"message": "Not found"}), response(410, {"message": "Dataset has been deleted"})
    )
    client = make_client(http)
    assert client.get_dataset("a") is None
    assert client.get_dataset("b") is None


def test_publish_client_paginates_organization_datasets() -> None:
    page1 = {"data": [DATASET], "page": 1, "page_size": 1, "total": 2, "next_page": "https://x/?page=2"}
    page2 = {"data": [{**DATASET, "id": "6" * 24}], "page": 2, "page_size": 1, "total": 2, "next_page": None}
    http = ScriptedHttp(response(200, page1), response(200, page2))
    ids = [d.id for d in make_client(http).iter_organization_datasets("org")]
    assert ids == [DATASET["id"], "6" * 24]
    assert [s["params"]["page"] for s in http.sent] == [1, 2]


def test_publish_client_small_upload_is_one_multipart_call() -> None:
    body = {"id": "r1", "title": "deliberations-2024.csv", "checksum": {"type": "sha1", "value": "x"}}
    http = ScriptedHttp(response(201, {**body, "success": True}))
    resource = make_client(http).upload_new("d1", "deliberations-2024.csv", b"a,b\r\n1,2\r\n")
    assert resource.id == "r1"
    assert http.sent[0]["url"].endswith("/api/1/datasets/d1/upload/")
    assert http.sent[0]["files"]["file"][0] == "deliberations-2024.csv"


def test_publish_client_large_upload_is_chunked() -> None:
    data = bytes(range(256)) * 10  # 2560 bytes, chunks of 1024 → 3 parts + final call
    ok = response(200, {"success": True})
    final = response(200, {"id": "r1", "title": "f.csv", "success": True})
    http = ScriptedHttp(ok, response(200, {"success": True}), response(200, {"success": True}), final)
    client = make_client(http, chunk_threshold=1024, chunk_size=1024)
    client.upload_replace("d1", "r1", "f.csv", data)
    parts = http.sent[:3]
    assert [p["data"]["partindex"] for p in parts] == ["0", "1", "2"]
    assert [p["data"]["partbyteoffset"] for p in parts] == ["0", "1024", "2048"]
    assert [p["data"]["chunksize"] for p in parts] == ["1024", "1024", "512"]
    assert len({p["data"]["uuid"] for p in parts}) == 1
    assert b"".join(p["files"]["file"][1] for p in parts) == data
    assert "files" not in http.sent[3] and http.sent[3]["data"]["totalparts"] == "3"


def test_publish_client_chunk_not_acknowledged_fails() -> None:
    http = ScriptedHttp(response(200, {"success": False, "error": "Chunk size mismatch"}))
    client = make_client(http, chunk_threshold=1024, chunk_size=1024)
    with pytest.raises(MalformedResponse, match="chunk 0"):
        client.upload_new("d1", "f.csv", b"x" * 2000)


def test_publish_client_dry_run_plans_writes_without_sending() -> None:
    http = ScriptedHttp()
    client = make_client(http, dry_run=True)
    created = client.create_dataset({"title": "T", "description": "D", "private": False})
    client.upload_new(created.id, "deliberations-2024.csv", b"abc")
    client.delete_resource(created.id, "r9")
    assert http.sent == []
    assert [c.method for c in client.planned] == ["POST", "POST", "DELETE"]
    assert created.id.startswith("dry-run-")


def test_publish_client_dataset_put_requires_private() -> None:
    with pytest.raises(ValueError, match="private"):
        make_client(ScriptedHttp()).update_dataset("d1", {"title": "x"})


def test_publish_sha1_matches_udata_checksum() -> None:
    assert sha1_hex(b"abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"
