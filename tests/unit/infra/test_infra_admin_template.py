"""The back-office in the SAM template (issue 16): its own HTTP API with a JWT authorizer on the OPSN's
IdP, the write function with least privilege, its alarms — and the routes without a token are exactly the
page's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from test_infra_template_structure import TEMPLATE, _CfnLoader

from regate.admin.routes import PREFIX, ROUTES


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)


def admin_resources(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: r for n, r in template["Resources"].items() if n.startswith("Admin")}


def test_the_back_office_is_optional_and_all_or_nothing(template) -> None:
    resources = admin_resources(template)
    assert {"AdminHttpApi", "AdminFunction", "AdminErrorsAlarm", "AdminThrottlesAlarm"} <= set(resources)
    assert all(r.get("Condition") == "HasAdmin" for r in resources.values())
    assert template["Conditions"]["HasAdmin"] == {"Not": [{"Equals": [{"Ref": "AdminOidcIssuer"}, ""]}]}
    assert template["Outputs"]["AdminUrl"]["Condition"] == "HasAdmin"


def test_jwt_authorizer_on_the_issuer_and_audience_parameters(template) -> None:
    auth = template["Resources"]["AdminHttpApi"]["Properties"]["Auth"]
    name = auth["DefaultAuthorizer"]
    jwt = auth["Authorizers"][name]["JwtConfiguration"]
    assert jwt == {"issuer": {"Ref": "AdminOidcIssuer"}, "audience": [{"Ref": "AdminOidcAudience"}]}
    assert auth["Authorizers"][name]["IdentitySource"] == "$request.header.Authorization"
    assert "CorsConfiguration" not in template["Resources"]["AdminHttpApi"]["Properties"]  # same origin
    # the read API stays anonymous and separate
    assert "Auth" not in template["Resources"]["HttpApi"]["Properties"]


def test_routes_without_a_token_are_exactly_the_page_routes(template) -> None:
    events = template["Resources"]["AdminFunction"]["Properties"]["Events"]
    assert all(e["Properties"]["ApiId"] == {"Ref": "AdminHttpApi"} for e in events.values())
    public = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in events.values()
        if e["Properties"].get("Auth", {}).get("Authorizer") == "NONE"
    }
    expected = {(r.method, r.path) for r in ROUTES if not r.auth} | {("GET", PREFIX)}  # PREFIX: redirect
    assert public == expected
    protected = {
        (e["Properties"]["Method"], e["Properties"]["Path"])
        for e in events.values()
        if "Auth" not in e["Properties"]
    }
    assert protected == {(m, f"{PREFIX}/{{proxy+}}") for m in ("GET", "PUT", "POST")}
    # every route that needs a token is covered by a protected method
    assert {r.method for r in ROUTES if r.auth} <= {m for m, _ in protected}


def _statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    policies = template["Resources"]["AdminFunction"]["Properties"]["Policies"]
    assert len(policies) == 1 and set(policies[0]) == {"Statement"}, "inline statements only (no CRUD policy)"
    return policies[0]["Statement"]


def _resources(statement: dict[str, Any]) -> list[str]:
    out = []
    for item in statement["Resource"]:
        out.append(item.get("Sub") or item.get("GetAtt") if isinstance(item, dict) else item)
    return out


def test_write_function_has_least_privilege(template) -> None:
    statements = _statements(template)
    actions = {a for s in statements for a in s["Action"]}
    assert not any(a.startswith("s3:Delete") for a in actions), "nothing is ever deleted by the API"
    assert actions <= {
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:ListBucket",
        "s3:ListBucketVersions",
    }
    writes = [s for s in statements if "s3:PutObject" in s["Action"]]
    assert all(s["Action"] == ["s3:PutObject"] for s in writes)
    written = {r for s in writes for r in _resources(s)}
    assert written == {
        "${CuratedBucket.Arn}/config/decisions/*",
        "${CuratedBucket.Arn}/config/collectivites/*",
        "${CuratedBucket.Arn}/audit/admin/*",
    }
    # every write is conditional (no lost update); the audit log is create-only
    for s in writes:
        null = s["Condition"]["Null"]
        assert null in ({"s3:if-match": "false"}, {"s3:if-none-match": "false"})
        if "${CuratedBucket.Arn}/audit/admin/*" in _resources(s):
            assert null == {"s3:if-none-match": "false"}
    # never the CSV operator files, never public/ or raw
    reads = {r for s in statements if "s3:GetObject" in s["Action"] for r in _resources(s)}
    assert not any(r.startswith("${RawBucket.Arn}") and r != "${RawBucket.Arn}/pastell/*" for r in reads)
    assert not any("/public/" in r for r in reads)


def test_audit_log_cannot_be_overwritten_or_deleted_by_anyone(template) -> None:
    statements = template["Resources"]["CuratedBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    denies = {s["Sid"]: s for s in statements if s["Effect"] == "Deny"}
    overwrite = denies["DenyAuditOverwrite"]
    assert overwrite["Principal"] == "*" and overwrite["Action"] == "s3:PutObject"
    assert overwrite["Condition"] == {"Null": {"s3:if-none-match": "true"}}
    assert set(denies["DenyAuditDelete"]["Action"]) == {"s3:DeleteObject", "s3:DeleteObjectVersion"}
    for sid in ("DenyAuditOverwrite", "DenyAuditDelete"):
        assert denies[sid]["Resource"] == {"Sub": "${CuratedBucket.Arn}/audit/admin/*"}


def test_alarms_on_errors_throttles_and_lost_audit_entries(template) -> None:
    alarms = {
        n: r["Properties"]
        for n, r in admin_resources(template).items()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }
    metrics = {(a["Namespace"], a["MetricName"]) for a in alarms.values()}
    assert metrics == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("Regate", "AdminAuditWriteFailed"),
    }
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms.values())
    lambda_alarms = [a for a in alarms.values() if a["Namespace"] == "AWS/Lambda"]
    assert all(
        a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "AdminFunction"}}]
        for a in lambda_alarms
    )
    metric = template["Resources"]["AdminAuditWriteFailedMetric"]["Properties"]
    assert metric["FilterPattern"] == '"AUDIT_WRITE_FAILED"'
    assert metric["LogGroupName"] == {"Ref": "AdminLogs"}
    assert template["Resources"]["AdminFunction"]["Properties"]["LoggingConfig"] == {
        "LogGroup": {"Ref": "AdminLogs"}
    }


def test_the_admin_handler_is_thin_and_ships_duckdb_without_pyjwt(template) -> None:
    props = template["Resources"]["AdminFunction"]["Properties"]
    folder = (TEMPLATE.parent / props["CodeUri"]).resolve()
    source = (folder / "admin_handler.py").read_text(encoding="utf-8")
    assert props["Handler"] == "admin_handler.handler" and "def handler(" in source
    assert len(source.splitlines()) <= 45, "logic lives in regate.admin"
    assert "import jwt" not in source and "regate.admin.tokens" not in source  # the authorizer verifies
    requirements = (folder / "requirements.txt").read_text(encoding="utf-8").lower()
    assert "duckdb==" in requirements and "pyjwt" not in requirements and "cryptography" not in requirements
    layer = (Path(TEMPLATE.parent / "../layers/shared/requirements.txt")).read_text(encoding="utf-8").lower()
    assert "pyjwt" not in layer and "cryptography" not in layer
    env = props["Environment"]["Variables"]
    assert env["REGATE_ADMIN_OIDC_ISSUER"] == {"Ref": "AdminOidcIssuer"}
    assert env["REGATE_ADMIN_OIDC_AUDIENCE"] == {"Ref": "AdminOidcAudience"}
