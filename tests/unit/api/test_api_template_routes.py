"""The SAM template serves every resolver route for GET and HEAD, and throttles exports on their own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from regate.api.routes import ROUTES

TEMPLATE = Path(__file__).resolve().parents[3] / "infra" / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Keeps CloudFormation short-form tags (!Ref, !Sub…) as plain data."""


_CfnLoader.add_multi_constructor(
    "!",
    lambda loader, suffix, node: {
        suffix: loader.construct_scalar(node)
        if isinstance(node, yaml.ScalarNode)
        else loader.construct_sequence(node, deep=True)
        if isinstance(node, yaml.SequenceNode)
        else loader.construct_mapping(node, deep=True)
    },
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(encoding="utf-8"), Loader=_CfnLoader)


def _routes(template: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    return {(e["Properties"]["Method"], e["Properties"]["Path"]): e["Properties"] for e in events}


def _matching(path: str, routes: dict[tuple[str, str], dict[str, Any]], method: str) -> str:
    """The most specific template route API Gateway picks for ``path`` (longest ``{proxy+}`` prefix)."""
    candidates = [
        p
        for (m, p) in routes
        if m == method and re.fullmatch(re.escape(p).replace(r"\{proxy\+\}", ".+"), path)
    ]
    assert candidates, (method, path)
    return max(candidates, key=len)


def test_every_route_answers_get_and_head(template: dict[str, Any]) -> None:
    routes = _routes(template)
    for route in ROUTES:
        concrete = re.sub(r"\{[^}]+\}", "x", route.path)
        for method in ("GET", "HEAD"):
            assert _matching(concrete, routes, method)


def test_exports_have_their_own_lower_throttle(template: dict[str, Any]) -> None:
    routes = _routes(template)
    params = template["Parameters"]
    for route in ROUTES:
        for method in ("GET", "HEAD"):
            chosen = routes[(method, _matching(route.path, routes, method))]
            exporting = route.operation_id.startswith("export_")
            assert exporting == ("RouteSettings" in chosen), route.path
            if exporting:
                assert chosen["RouteSettings"] == {
                    "ThrottlingRateLimit": {"Ref": "ApiExportThrottlingRateLimit"},
                    "ThrottlingBurstLimit": {"Ref": "ApiExportThrottlingBurstLimit"},
                }
    assert params["ApiExportThrottlingRateLimit"]["Default"] < params["ApiThrottlingRateLimit"]["Default"]
    assert params["ApiExportThrottlingBurstLimit"]["Default"] < params["ApiThrottlingBurstLimit"]["Default"]
    cors = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    assert "HEAD" in cors["AllowMethods"]
