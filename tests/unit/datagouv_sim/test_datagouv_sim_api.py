"""The simulator's HTTP behaviour, driven through WSGI (no socket): statuses, exact bodies and headers.

Each rule is the one of shared/reference/datagouv-api.md (section in the test name or docstring).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from werkzeug.test import Client

from regate.clock import FakeClock
from regate_local.datagouv_sim import DEMO_API_KEY, DEMO_ORG_SLUG, DatagouvSimulator

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "datagouv_sim"
KEY = {"X-API-KEY": DEMO_API_KEY}
OTHER_KEY = "other-user-key"
CSV = (FIXTURES / "DELIBERATION-2024.csv").read_bytes()
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def sim(clock: FakeClock) -> DatagouvSimulator:
    return DatagouvSimulator({DEMO_API_KEY: "regate", OTHER_KEY: "mallory"}, clock=clock)


@pytest.fixture()
def client(sim: DatagouvSimulator) -> Client:
    return Client(sim)


def _org_id(sim: DatagouvSimulator, slug: str = DEMO_ORG_SLUG) -> str:
    return next(o["id"] for o in sim.organizations() if o["slug"] == slug)


def _create(client: Client, sim: DatagouvSimulator, **extra) -> dict:
    body = {
        "title": "Délibérations des collectivités",
        "description": "Actes publiés par Rég@te.",
        "organization": _org_id(sim),
        "license": "lov2",
        "frequency": "daily",
        "tags": ["scdl", "deliberations"],
        "extras": {"extraction:type": "deliberation"},
        "private": False,
        **extra,
    }
    response = client.post("/api/1/datasets/", json=body, headers=KEY)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _upload(client: Client, path: str, name: str = "DELIBERATION-2024.csv", data: bytes = CSV, key=KEY):
    return client.post(path, data={"file": (io.BytesIO(data), name)}, headers=key)


# ---------------------------------------------------------------------------------------- §2 auth
def test_invalid_key_is_401_even_on_get(client):
    response = client.get("/api/1/datasets/", headers={"X-API-KEY": "nope"})
    assert response.status_code == 401
    assert response.get_json() == {"message": "Invalid API token"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="uData"'


def test_reads_are_anonymous_and_writes_need_a_key(client):
    assert client.get("/api/1/datasets/").status_code == 200
    response = client.post("/api/1/datasets/", json={"title": "T", "description": "D"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="uData"'
    assert "message" in response.get_json()


def test_me_checks_the_key_and_lists_organisations(client):
    assert client.get("/api/1/me/").status_code == 401
    me = client.get("/api/1/me/", headers=KEY).get_json()
    assert me["slug"] == "regate"
    slugs = {o["slug"] for o in me["organizations"]}
    assert DEMO_ORG_SLUG in slugs
    assert "ville-de-rennes" in slugs
    assert "ville-de-brest" not in slugs


def test_bearer_token_is_accepted(client):
    assert client.get("/api/1/me/", headers={"Authorization": f"Bearer {DEMO_API_KEY}"}).status_code == 200


# --------------------------------------------------------------------------------- §1 conventions
def test_missing_trailing_slash_redirects_308_keeping_the_method(client):
    response = client.post("/api/1/datasets", json={}, headers=KEY)
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/api/1/datasets/")


def test_json_write_needs_json_content_type(client, sim):
    response = client.post("/api/1/datasets/", data="title=x", headers=KEY, content_type="text/plain")
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"Content-Type": "expecting application/json"}}


@pytest.mark.parametrize("body", [[1, 2], "text", 3, None])
def test_json_write_needs_an_object(client, body):
    response = client.post(
        "/api/1/datasets/", data=json.dumps(body), headers=KEY, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"request": "expecting a JSON object"}}


def test_undecodable_json_is_400(client):
    response = client.post(
        "/api/1/datasets/", data=b"{not json", headers=KEY, content_type="application/json"
    )
    assert response.status_code == 400
    assert "message" in response.get_json()


def test_unknown_route_and_wrong_method(client):
    assert client.get("/api/1/nothing/").status_code == 404
    assert client.delete("/api/1/datasets/", headers=KEY).status_code == 405


# ------------------------------------------------------------------------------------ §4 datasets
def test_create_dataset_201_with_objectid_and_organisation(client, sim):
    ds = _create(client, sim)
    assert OBJECT_ID.match(ds["id"])
    assert ds["slug"] == "deliberations-des-collectivites"
    assert ds["organization"]["slug"] == DEMO_ORG_SLUG
    assert ds["owner"] is None
    assert ds["license"] == "lov2"
    assert ds["tags"] == ["scdl", "deliberations"]
    assert ds["extras"] == {"extraction:type": "deliberation"}
    assert ds["created_at"] == "2024-06-01T12:00:00+00:00"
    assert ds["uri"].endswith(f"/api/1/datasets/{ds['id']}/")
    assert ds["permissions"]["edit"] is True


def test_create_dataset_organization_as_object_and_owner_default(client, sim):
    ds = _create(client, sim, organization={"id": _org_id(sim, "ville-de-rennes")})
    assert ds["organization"]["slug"] == "ville-de-rennes"
    mine = client.post(
        "/api/1/datasets/", json={"title": "Perso", "description": "D"}, headers=KEY
    ).get_json()
    assert mine["organization"] is None
    assert mine["owner"]["slug"] == "regate"
    assert mine["license"] == "notspecified"


def test_create_for_an_organisation_you_are_not_member_of_is_400(client, sim):
    response = client.post(
        "/api/1/datasets/",
        json={"title": "T", "description": "D", "organization": _org_id(sim, "ville-de-brest")},
        headers=KEY,
    )
    assert response.status_code == 400
    assert response.get_json() == {"errors": {"organization": ["Permission denied for this organization"]}}


def test_create_form_errors_are_listed_together(client, sim):
    response = client.post("/api/1/datasets/", json={"frequency": "often", "tags": ["a"]}, headers=KEY)
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"title", "description", "frequency", "tags"}


def test_get_by_id_or_slug_and_unknown_404(client, sim):
    ds = _create(client, sim)
    assert client.get(f"/api/1/datasets/{ds['slug']}/").get_json()["id"] == ds["id"]
    assert client.get(f"/api/1/datasets/{ds['id']}/").status_code == 200
    missing = client.get("/api/1/datasets/5f0000000000000000000000/")
    assert missing.status_code == 404
    assert "message" in missing.get_json()


def test_put_is_partial_and_organisation_immutable(client, sim, clock):
    ds = _create(client, sim, private=True)
    clock.current += timedelta(hours=1)
    response = client.put(
        f"/api/1/datasets/{ds['id']}/",
        json={"description": "Nouvelle description", "organization": _org_id(sim, "ville-de-rennes")},
        headers=KEY,
    )
    assert response.status_code == 200
    updated = response.get_json()
    assert updated["description"] == "Nouvelle description"
    assert updated["title"] == ds["title"]
    assert updated["private"] is True  # absent → kept
    assert updated["tags"] == ds["tags"]
    assert updated["organization"]["slug"] == DEMO_ORG_SLUG
    assert updated["last_modified"] == "2024-06-01T13:00:00+00:00"
    nulled = client.put(f"/api/1/datasets/{ds['id']}/", json={"private": None}, headers=KEY).get_json()
    assert nulled["private"] is False


def test_put_title_changes_slug_and_old_slug_still_resolves(client, sim):
    ds = _create(client, sim)
    updated = client.put(f"/api/1/datasets/{ds['id']}/", json={"title": "Actes 2024"}, headers=KEY).get_json()
    assert updated["slug"] == "actes-2024"
    assert client.get(f"/api/1/datasets/{ds['slug']}/").get_json()["id"] == ds["id"]


def test_put_by_non_member_is_403(client, sim):
    ds = _create(client, sim)
    response = client.put(
        f"/api/1/datasets/{ds['id']}/", json={"title": "x"}, headers={"X-API-KEY": OTHER_KEY}
    )
    assert response.status_code == 403
    assert response.get_json() == {"message": "You do not have the permission to modify that object."}


def test_private_dataset_hidden_from_others(client, sim):
    ds = _create(client, sim, private=True)
    assert client.get(f"/api/1/datasets/{ds['id']}/").status_code == 404
    assert client.get(f"/api/1/datasets/{ds['id']}/", headers=KEY).status_code == 200
    listing = client.get(f"/api/1/organizations/{_org_id(sim)}/datasets/", headers=KEY).get_json()
    assert [d["id"] for d in listing["data"]] == [ds["id"]]
    assert client.get(f"/api/1/organizations/{_org_id(sim)}/datasets/").get_json()["total"] == 0
    assert client.get("/api/1/datasets/").get_json()["total"] == 0


def test_delete_204_then_410_everywhere(client, sim):
    ds = _create(client, sim)
    response = client.delete(f"/api/1/datasets/{ds['id']}/", headers=KEY)
    assert response.status_code == 204
    assert response.data == b""
    for call in (
        client.get(f"/api/1/datasets/{ds['id']}/"),
        client.put(f"/api/1/datasets/{ds['id']}/", json={"title": "x"}, headers=KEY),
        client.delete(f"/api/1/datasets/{ds['id']}/", headers=KEY),
    ):
        assert call.status_code == 410
        assert call.get_json() == {"message": "Dataset has been deleted"}
    assert sim.datasets[ds["id"]]["deleted"] is not None  # soft delete


def test_read_only_switch_gives_423_on_creation(client, sim):
    sim.read_only = True
    response = client.post("/api/1/datasets/", json={"title": "T", "description": "D"}, headers=KEY)
    assert response.status_code == 423
    assert response.get_json() == {
        "message": "Due to security reasons, the creation of new content is currently disabled."
    }


# ---------------------------------------------------------------------------------- §3 listings
def test_pagination_envelope_and_links(client, sim):
    for n in range(3):
        _create(client, sim, title=f"Jeu {n}")
    page = client.get("/api/1/datasets/?page_size=2&sort=title").get_json()
    assert set(page) == {"data", "page", "page_size", "total", "next_page", "previous_page"}
    assert (page["page"], page["page_size"], page["total"]) == (1, 2, 3)
    assert [d["title"] for d in page["data"]] == ["Jeu 0", "Jeu 1"]
    assert page["previous_page"] is None
    second = client.get(page["next_page"].replace("http://localhost", "")).get_json()
    assert [d["title"] for d in second["data"]] == ["Jeu 2"]
    assert second["next_page"] is None
    assert "page=1" in second["previous_page"]


@pytest.mark.parametrize("query", ["page=0", "page_size=0", "page=-1", "page_size=abc"])
def test_pagination_values_must_be_positive(client, query):
    response = client.get(f"/api/1/datasets/?{query}")
    assert response.status_code == 400
    assert "errors" in response.get_json()


def test_dataset_filters(client, sim):
    ds = _create(client, sim)
    _create(client, sim, title="Autre", tags=["budget"], organization=_org_id(sim, "ville-de-rennes"))
    assert client.get(f"/api/1/datasets/?organization={_org_id(sim)}").get_json()["total"] == 1
    assert client.get("/api/1/datasets/?tag=scdl&tag=deliberations").get_json()["total"] == 1
    assert client.get("/api/1/datasets/?q=autre").get_json()["total"] == 1
    bad = client.get("/api/1/datasets/?organization=megalis")
    assert bad.status_code == 400
    assert "message" in bad.get_json()
    rid = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()["id"]
    client.put(
        f"/api/1/datasets/{ds['id']}/resources/{rid}/",
        json={"schema": {"name": "scdl/deliberations", "version": "2.1.5"}},
        headers=KEY,
    )
    found = client.get("/api/1/datasets/?schema=scdl/deliberations&schema_version=2.1.5").get_json()
    assert [d["id"] for d in found["data"]] == [ds["id"]]
    assert (
        client.get("/api/1/datasets/?schema=scdl/deliberations&schema_version=2.1.4").get_json()["total"] == 0
    )


def test_organisation_lookup_by_siret_name_and_q(client):
    found = client.get("/api/1/organizations/?business_number_id=21350238800019").get_json()
    assert found["total"] == 1
    assert found["data"][0]["slug"] == "ville-de-rennes"
    assert client.get("/api/1/organizations/?business_number_id=00000000000000").get_json()["total"] == 0
    assert client.get("/api/1/organizations/?name=VILLE DE BREST").get_json()["data"][0][
        "business_number_id"
    ] == ("21290019500018")
    assert client.get(f"/api/1/organizations/{DEMO_ORG_SLUG}/").status_code == 200


def test_add_organization_hook(client, sim):
    org = sim.add_organization("Commune de Test", business_number_id="21350001600014", members=[])
    assert OBJECT_ID.match(org["id"])
    found = client.get("/api/1/organizations/?business_number_id=21350001600014").get_json()["data"]
    assert [o["id"] for o in found] == [org["id"]]


def test_reference_lists(client, sim):
    freqs = {f["id"] for f in client.get("/api/1/datasets/frequencies/").get_json()}
    assert {"daily", "unknown", "punctual"} <= freqs
    assert "lov2" in {lic["id"] for lic in client.get("/api/1/datasets/licenses/").get_json()}
    assert "csv" in client.get("/api/1/datasets/extensions/").get_json()
    assert "main" in {t["id"] for t in client.get("/api/1/datasets/resource_types/").get_json()}
    schemas = client.get("/api/1/datasets/schemas/").get_json()
    delib = next(s for s in schemas if s["name"] == "scdl/deliberations")
    assert delib["versions"][-1]["version_name"] == "2.1.5"
    sim.schemas_available = False
    unavailable = client.get("/api/1/datasets/schemas/")
    assert unavailable.status_code == 503
    assert unavailable.get_json() == {"message": "No schemas in cache and endpoint unavailable"}


# ------------------------------------------------------------------------------------- §5 uploads
def test_upload_new_201_with_derived_fields(client, sim):
    ds = _create(client, sim)
    response = _upload(client, f"/api/1/datasets/{ds['id']}/upload/")
    assert response.status_code == 201
    res = response.get_json()
    assert res["success"] is True
    assert UUID.match(res["id"])
    assert res["title"] == "deliberation-2024.csv"
    assert (res["filetype"], res["type"], res["format"], res["mime"]) == ("file", "main", "csv", "text/csv")
    assert res["filesize"] == len(CSV)
    assert res["checksum"] == {"type": "sha1", "value": hashlib.sha1(CSV).hexdigest()}
    assert res["url"] == (
        f"http://localhost/static/resources/{ds['slug']}/20240601-120000/deliberation-2024.csv"
    )
    assert res["latest"] == f"http://localhost/datasets/r/{res['id']}"
    assert sim.file_bytes(res["id"]) == CSV
    assert client.get(res["url"].replace("http://localhost", "")).data == CSV


def test_replace_200_resets_title_keeps_schema_and_changes_url(client, sim, clock):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    client.put(
        f"/api/1/datasets/{ds['id']}/resources/{res['id']}/",
        json={
            "title": "Délibérations 2024",
            "description": "Année 2024",
            "schema": {"name": "scdl/deliberations", "version": "2.1.5"},
        },
        headers=KEY,
    )
    clock.current += timedelta(seconds=5)
    new_bytes = CSV + CSV.splitlines(keepends=True)[-1]
    response = _upload(client, f"/api/1/datasets/{ds['id']}/resources/{res['id']}/upload/", data=new_bytes)
    assert response.status_code == 200
    replaced = response.get_json()
    assert "success" not in replaced
    assert replaced["id"] == res["id"]
    assert replaced["title"] == "deliberation-2024.csv"  # reset to the file name
    assert replaced["description"] == "Année 2024"
    assert replaced["schema"] == {"name": "scdl/deliberations", "version": "2.1.5", "url": None}
    assert replaced["url"] != res["url"]
    assert replaced["latest"] == res["latest"]
    assert replaced["checksum"]["value"] == hashlib.sha1(new_bytes).hexdigest()
    assert replaced["last_modified"] == "2024-06-01T12:00:05+00:00"
    assert client.get(res["url"].replace("http://localhost", "")).status_code == 404  # old file deleted
    assert sim.file_bytes(res["id"]) == new_bytes


def test_replace_in_the_same_second_still_changes_url(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    again = _upload(client, f"/api/1/datasets/{ds['id']}/resources/{res['id']}/upload/").get_json()
    assert again["url"] != res["url"]


def test_replace_unknown_resource_404(client, sim):
    ds = _create(client, sim)
    response = _upload(
        client, f"/api/1/datasets/{ds['id']}/resources/00000000-0000-4000-8000-000000000000/upload/"
    )
    assert response.status_code == 404
    assert response.get_json() == {"message": "Resource does not exist"}


def test_upload_errors(client, sim):
    ds = _create(client, sim)
    path = f"/api/1/datasets/{ds['id']}/upload/"
    missing = client.post(path, data={"other": "x"}, headers=KEY)
    assert missing.status_code == 400
    assert missing.get_json() == {"success": False, "error": "Missing file parameter"}
    forbidden = _upload(client, path, name="virus.exe", data=b"MZ")
    assert forbidden.status_code == 400
    assert forbidden.get_json() == {
        "message": "This file type is not allowed.The allowed file type list is available at "
        "http://localhost/api/1/datasets/extensions/"
    }
    html = _upload(client, path, name="page-2024.csv", data=(FIXTURES / "page-2024.csv").read_bytes())
    assert html.status_code == 415
    assert html.get_json() == {"message": "Incorrect file content type: HTML"}
    assert _upload(client, path, key={}).status_code == 401
    assert _upload(client, path, key={"X-API-KEY": OTHER_KEY}).status_code == 403
    assert sim.datasets[ds["id"]]["resources"] == []


def test_chunked_upload_assembles_parts(client, sim):
    ds = _create(client, sim)
    path = f"/api/1/datasets/{ds['id']}/upload/"
    parts = [CSV[:100], CSV[100:]]
    offset = 0
    for index, part in enumerate(parts):
        fields = {
            "uuid": "u-1",
            "filename": "DELIBERATION-2024.csv",
            "partindex": str(index),
            "partbyteoffset": str(offset),
            "totalparts": "2",
            "chunksize": str(len(part)),
            "file": (io.BytesIO(part), "blob"),
        }
        response = client.post(path, data=fields, headers=KEY)
        assert response.status_code == 200
        assert response.get_json() == {"success": True}
        offset += len(part)
    assert sim.datasets[ds["id"]]["resources"] == []  # nothing before the final call
    final = client.post(
        path, data={"uuid": "u-1", "filename": "DELIBERATION-2024.csv", "totalparts": "2"}, headers=KEY
    )
    assert final.status_code == 201
    assert final.get_json()["title"] == "deliberation-2024.csv"
    assert sim.file_bytes(final.get_json()["id"]) == CSV


def test_chunk_size_mismatch(client, sim):
    ds = _create(client, sim)
    fields = {
        "uuid": "u-2",
        "filename": "a.csv",
        "partindex": "0",
        "partbyteoffset": "0",
        "totalparts": "2",
        "chunksize": "999",
        "file": (io.BytesIO(b"abc"), "blob"),
    }
    response = client.post(f"/api/1/datasets/{ds['id']}/upload/", data=fields, headers=KEY)
    assert response.status_code == 400
    assert response.get_json() == {"success": False, "error": "Chunk size mismatch"}


def test_latest_redirects_302_to_current_file(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    response = client.get(f"/datasets/r/{res['id']}")
    assert response.status_code == 302
    assert response.headers["Location"] == res["url"]
    assert client.get("/datasets/r/00000000-0000-4000-8000-000000000000").status_code == 404


# ----------------------------------------------------------------------------------- §5.3 remote
def _remote_body(**extra) -> dict:
    return {
        "title": "deliberation-213502388-2024.csv",
        "url": "https://api.example.org/scdl/deliberation/213502388/2024",
        "filetype": "remote",
        "type": "main",
        "format": "csv",
        "mime": "text/csv",
        "schema": {"name": "scdl/deliberations", "version": "2.1.5"},
        **extra,
    }


def test_remote_resource_created_201(client, sim):
    ds = _create(client, sim)
    response = client.post(f"/api/1/datasets/{ds['id']}/resources/", json=_remote_body(), headers=KEY)
    assert response.status_code == 201
    res = response.get_json()
    assert res["filetype"] == "remote"
    assert res["url"] == "https://api.example.org/scdl/deliberation/213502388/2024"
    assert res["schema"]["version"] == "2.1.5"
    assert client.get(f"/datasets/r/{res['id']}").headers["Location"] == res["url"]


def test_remote_endpoint_refuses_other_filetypes(client, sim):
    ds = _create(client, sim)
    response = client.post(
        f"/api/1/datasets/{ds['id']}/resources/", json=_remote_body(filetype="file"), headers=KEY
    )
    assert response.status_code == 400
    assert response.get_json() == {"message": "This endpoint only supports remote resources"}


def test_remote_put_checksum_null_clears_and_filetype_is_immutable(client, sim):
    ds = _create(client, sim)
    body = _remote_body(checksum={"type": "sha256", "value": "ab" * 32})
    res = client.post(f"/api/1/datasets/{ds['id']}/resources/", json=body, headers=KEY).get_json()
    assert res["checksum"]["type"] == "sha256"
    path = f"/api/1/datasets/{ds['id']}/resources/{res['id']}/"
    assert client.put(path, json={"checksum": None}, headers=KEY).get_json()["checksum"] is None
    changed = client.put(path, json={"filetype": "file"}, headers=KEY)
    assert changed.status_code == 400
    assert changed.get_json() == {"errors": {"filetype": ["Cannot modify filetype after creation"]}}


# ----------------------------------------------------------------------------------- §5.4 / §6 PUT
def test_resource_put_schema_validation_texts_and_null_clears(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    path = f"/api/1/datasets/{ds['id']}/resources/{res['id']}/"
    bad = client.put(path, json={"schema": {"name": "scdl/deliberations", "version": "2.2"}}, headers=KEY)
    assert bad.status_code == 400
    assert bad.get_json()["errors"]["schema"]["version"][0].startswith(
        'Version "2.2" is not an allowed value for the schema "scdl/deliberations". Allowed versions: '
    )
    ok = client.put(path, json={"schema": {"name": "scdl/deliberations", "version": "latest"}}, headers=KEY)
    assert ok.get_json()["schema"]["version"] == "latest"
    assert client.put(path, json={"schema": None}, headers=KEY).get_json()["schema"] is None


def test_resource_put_hosted_ignores_protected_fields(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    path = f"/api/1/datasets/{ds['id']}/resources/{res['id']}/"
    body = {
        "format": "xml",
        "url": "https://elsewhere.example/x.xml",
        "filesize": 1,
        "mime": "text/xml",
        "checksum": {"type": "md5", "value": "0"},
        "filetype": "file",
        "title": "Délibérations 2024",
    }
    updated = client.put(path, json=body, headers=KEY).get_json()
    assert updated["title"] == "Délibérations 2024"
    for key in ("format", "url", "filesize", "mime", "checksum", "filetype"):
        assert updated[key] == res[key], key


def test_resource_get_put_delete_and_unknown(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    path = f"/api/1/datasets/{ds['id']}/resources/{res['id']}/"
    assert client.get(path).get_json()["id"] == res["id"]
    assert client.put(path, json={"title": "x"}, headers={"X-API-KEY": OTHER_KEY}).status_code == 403
    assert client.delete(path, headers=KEY).status_code == 204
    gone = client.get(path)
    assert gone.status_code == 404
    assert gone.get_json() == {"message": "Resource does not exist"}
    with pytest.raises(KeyError):
        sim.file_bytes(res["id"])


def test_dataset_put_with_resources_nests_errors(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    body = {"private": False, "resources": [{"id": res["id"], "title": "t", "schema": {"name": "nope"}}]}
    response = client.put(f"/api/1/datasets/{ds['id']}/", json=body, headers=KEY)
    assert response.status_code == 400
    assert "name" in response.get_json()["errors"]["resources"][0]["schema"]


def test_reorder_resources(client, sim):
    ds = _create(client, sim)
    first = _upload(client, f"/api/1/datasets/{ds['id']}/upload/", name="DELIBERATION-2023.csv").get_json()
    second = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    path = f"/api/1/datasets/{ds['id']}/resources/"
    current = [r["id"] for r in client.get(f"/api/1/datasets/{ds['id']}/").get_json()["resources"]]
    assert current == [second["id"], first["id"]]  # new resources come first
    response = client.put(path, json=[{"id": first["id"]}, second["id"]], headers=KEY)
    assert response.status_code == 200
    assert [r["id"] for r in response.get_json()] == [first["id"], second["id"]]
    mismatch = client.put(path, json=[first["id"]], headers=KEY)
    assert mismatch.status_code == 400
    assert "message" in mismatch.get_json()


def test_last_update_bumps_on_resource_change(client, sim, clock):
    ds = _create(client, sim)
    clock.current += timedelta(days=1)
    _upload(client, f"/api/1/datasets/{ds['id']}/upload/")
    after = client.get(f"/api/1/datasets/{ds['id']}/").get_json()
    assert after["last_update"] == "2024-06-02T12:00:00+00:00"
    assert after["created_at"] == ds["created_at"]


# ------------------------------------------------------------------------------- §7/§8 test hooks
def test_fault_429_has_rate_limit_headers_then_clears(client, sim, clock):
    sim.inject_fault(429, path_regex=r"/datasets/", method="GET", headers={"Retry-After": "7"})
    response = client.get("/api/1/datasets/")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert int(response.headers["X-RateLimit-Limit"]) > 0
    assert int(response.headers["X-RateLimit-Reset"]) == int((clock.now() + timedelta(seconds=7)).timestamp())
    assert client.get("/api/1/datasets/").status_code == 200


@pytest.mark.parametrize("status", [413, 502])
def test_proxy_faults_are_html_pages(client, sim, status):
    sim.inject_fault(status, times=2)
    for _ in range(2):
        response = client.get("/api/1/me/", headers=KEY)
        assert response.status_code == status
        assert response.mimetype == "text/html"
        assert f"<title>{status} ".encode() in response.data
    assert client.get("/api/1/me/", headers=KEY).status_code == 200


def test_fault_matches_method_and_path_only(client, sim):
    sim.inject_fault(423, path_regex=r"/upload/$", method="POST")
    assert client.get("/api/1/datasets/").status_code == 200
    ds = _create(client, sim)
    response = _upload(client, f"/api/1/datasets/{ds['id']}/upload/")
    assert response.status_code == 423
    assert response.get_json()["message"].startswith("Due to security reasons")


def test_fault_415_and_500_bodies(client, sim):
    sim.inject_fault(415)
    assert client.get("/api/1/me/").get_json() == {"message": "Incorrect file content type: HTML"}
    sim.inject_fault(500)
    response = client.get("/api/1/me/")
    assert response.status_code == 500
    assert response.headers["X-Sentry-ID"]


def test_request_log_and_write_calls(client, sim):
    ds = _create(client, sim)
    sim.reset_log()
    client.get(f"/api/1/datasets/{ds['id']}/?lang=fr")
    client.put(f"/api/1/datasets/{ds['id']}/", json={"private": False}, headers=KEY)
    assert [(e.method, e.status, e.has_key) for e in sim.request_log] == [
        ("GET", 200, False),
        ("PUT", 200, True),
    ]
    assert sim.request_log[0].query == "lang=fr"
    assert [e.method for e in sim.write_calls()] == ["PUT"]
    sim.reset_log()
    assert sim.write_calls() == []


# ------------------------------------------------------------------------------------ §1 extras
def test_x_fields_mask_trims_answers(client, sim):
    ds = _create(client, sim)
    _upload(client, f"/api/1/datasets/{ds['id']}/upload/")
    masked = client.get(
        f"/api/1/datasets/{ds['id']}/", headers={"X-Fields": "{id,title,resources{id,title}}"}
    )
    body = masked.get_json()
    assert set(body) == {"id", "title", "resources"}
    assert set(body["resources"][0]) == {"id", "title"}
    page = client.get("/api/1/datasets/", headers={"X-Fields": "{total,data{id}}"}).get_json()
    assert page == {"total": 1, "data": [{"id": ds["id"]}]}
    bad = client.get("/api/1/datasets/", headers={"X-Fields": "{id"})
    assert bad.status_code == 400
    assert bad.get_json()["message"].startswith("Mask parse error")


def test_proxy_body_limit_gives_413_page_and_chunks_get_through(clock):
    sim = DatagouvSimulator(clock=clock, max_body_bytes=2048)
    client = Client(sim)
    ds = _create(client, sim)
    path = f"/api/1/datasets/{ds['id']}/upload/"
    big = CSV * 20
    too_large = _upload(client, path, data=big)
    assert too_large.status_code == 413
    assert too_large.mimetype == "text/html"
    parts = [big[i : i + 512] for i in range(0, len(big), 512)]
    for index, part in enumerate(parts):
        fields = {
            "uuid": "big",
            "filename": "DELIBERATION-2024.csv",
            "partindex": str(index),
            "partbyteoffset": str(index * 512),
            "totalparts": str(len(parts)),
            "chunksize": str(len(part)),
            "file": (io.BytesIO(part), "blob"),
        }
        assert client.post(path, data=fields, headers=KEY).status_code == 200
    final = client.post(
        path,
        data={"uuid": "big", "filename": "DELIBERATION-2024.csv", "totalparts": str(len(parts))},
        headers=KEY,
    )
    assert final.status_code == 201
    assert sim.file_bytes(final.get_json()["id"]) == big


def test_final_chunk_call_with_missing_parts_is_refused(client, sim):
    ds = _create(client, sim)
    response = client.post(
        f"/api/1/datasets/{ds['id']}/upload/",
        data={"uuid": "never", "filename": "a.csv", "totalparts": "3"},
        headers=KEY,
    )
    assert response.status_code == 400
    assert response.get_json()["success"] is False


def test_web_routes_ignore_api_keys(client, sim):
    ds = _create(client, sim)
    res = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    wrong = {"X-API-KEY": "stale-key"}
    assert client.get(f"/datasets/r/{res['id']}", headers=wrong).status_code == 302
    assert client.get(res["url"].replace("http://localhost", ""), headers=wrong).data == CSV
    assert client.get(f"/api/1/datasets/{ds['id']}/", headers=wrong).status_code == 401


def test_dataset_put_resources_replaces_the_list_and_a_400_changes_nothing(client, sim):
    ds = _create(client, sim)
    kept = _upload(client, f"/api/1/datasets/{ds['id']}/upload/").get_json()
    dropped = _upload(client, f"/api/1/datasets/{ds['id']}/upload/", name="DELIBERATION-2023.csv").get_json()
    path = f"/api/1/datasets/{ds['id']}/"
    bad = {"private": False, "title": "Changed", "resources": [{"id": kept["id"], "title": ""}]}
    assert client.put(path, json=bad, headers=KEY).status_code == 400
    assert sim.datasets[ds["id"]]["title"] == ds["title"]
    assert len(sim.datasets[ds["id"]]["resources"]) == 2
    body = {
        "private": False,
        "resources": [
            {"id": kept["id"], "title": "Délibérations 2024"},
            {"title": "API 2023", "url": "https://api.example.org/2023", "filetype": "remote", "type": "api"},
        ],
    }
    updated = client.put(path, json=body, headers=KEY).get_json()
    assert [r["title"] for r in updated["resources"]] == ["Délibérations 2024", "API 2023"]
    assert updated["resources"][0]["checksum"] == kept["checksum"]
    with pytest.raises(KeyError):
        sim.file_bytes(dropped["id"])
    assert sim.file_bytes(kept["id"]) == CSV


@pytest.mark.parametrize(
    ("state", "message"),
    [("revoked", "Revoked API token"), ("expired", "Expired API token"), ("inactive", "Inactive user")],
)
def test_disabled_keys_get_udata_texts(client, sim, state, message):
    sim.disable_key(DEMO_API_KEY, state)
    response = client.get("/api/1/me/", headers=KEY)
    assert response.status_code == 401
    assert response.get_json() == {"message": message}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="uData"'
    assert client.get("/api/1/me/", headers={"X-API-KEY": OTHER_KEY}).status_code == 200
