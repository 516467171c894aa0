"""udata form rules of the data.gouv.fr simulator (pure functions, exact texts of datagouv-api.md §4–§6)."""

from __future__ import annotations

import pytest

from regate_local.datagouv_sim.catalogue import default_catalogue
from regate_local.datagouv_sim.forms import (
    FormError,
    clean_dataset_form,
    clean_frequency,
    clean_resource_form,
    clean_schema,
    clean_tags,
    looks_like_html,
    normalize_filename,
    organization_ref,
)

CATALOGUE = default_catalogue()


def _errors(call, *args, **kwargs):
    with pytest.raises(FormError) as info:
        call(*args, **kwargs)
    return info.value.errors


# ------------------------------------------------------------------------------------------------ schema
def test_schema_in_catalogue_with_version_is_kept():
    assert clean_schema({"name": "scdl/deliberations", "version": "2.1.5"}, CATALOGUE) == {
        "name": "scdl/deliberations",
        "version": "2.1.5",
        "url": None,
    }


@pytest.mark.parametrize("version", ["latest", None, "1.1.0", "2.1.0"])
def test_schema_latest_and_missing_version_are_allowed(version):
    assert clean_schema({"name": "scdl/deliberations", "version": version}, CATALOGUE)["version"] == version


def test_schema_unknown_version_lists_allowed_versions_and_latest():
    errors = _errors(clean_schema, {"name": "scdl/deliberations", "version": "3.0.0"}, CATALOGUE)
    assert errors == {
        "schema": {
            "version": [
                'Version "3.0.0" is not an allowed value for the schema "scdl/deliberations". '
                "Allowed versions: 1.1.0, 2.0.0, 2.1.0, 2.1.1, 2.1.2, 2.1.3, 2.1.4, 2.1.5, latest"
            ]
        }
    }


def test_schema_budget_versions():
    assert clean_schema({"name": "scdl/budget", "version": "0.8.1"}, CATALOGUE)["version"] == "0.8.1"
    errors = _errors(clean_schema, {"name": "scdl/budget", "version": "0.9.0"}, CATALOGUE)
    assert "Allowed versions: 0.8.1, 0.8.2, 0.8.3, latest" in errors["schema"]["version"][0]


def test_schema_unknown_name_lists_assignable_names_only():
    errors = _errors(clean_schema, {"name": "scdl/deliberation"}, CATALOGUE)
    message = errors["schema"]["name"][0]
    assert message.startswith('Schema name "scdl/deliberation" is not an allowed value. Allowed values: ')
    assert "scdl/deliberations, scdl/budget, scdl/catalogue" in message
    assert "139bercy/format-commande-publique" in message
    assert "etalab/schema-irve" not in message  # datapackage entries cannot be assigned


def test_schema_datapackage_entry_is_refused():
    errors = _errors(clean_schema, {"name": "etalab/schema-irve"}, CATALOGUE)
    assert "name" in errors["schema"]


def test_schema_version_without_name_or_url():
    assert _errors(clean_schema, {"version": "2.1.5"}, CATALOGUE) == {
        "schema": {"version": ["A schema must contains a name or an URL when a version is provided."]}
    }


def test_schema_catalogue_url_is_rewritten_to_name_and_version():
    url = "https://schema.data.gouv.fr/schemas/scdl/deliberations/2.1.5/schema.json"
    assert clean_schema({"url": url}, CATALOGUE) == {
        "name": "scdl/deliberations",
        "version": "2.1.5",
        "url": None,
    }


def test_schema_external_url_is_kept_and_invalid_url_refused():
    assert clean_schema({"url": "https://example.org/my-schema.json"}, CATALOGUE)["url"] == (
        "https://example.org/my-schema.json"
    )
    assert _errors(clean_schema, {"url": "not a url"}, CATALOGUE) == {
        "schema": {"url": ['Invalid URL "not a url"']}
    }


def test_schema_null_clears():
    assert clean_schema(None, CATALOGUE) is None


@pytest.mark.parametrize("bad", ["scdl/deliberations", 42, ["scdl/deliberations"]])
def test_schema_malformed_value_is_a_form_error(bad):
    assert "schema" in _errors(clean_schema, bad, CATALOGUE)


# ----------------------------------------------------------------------------------------------- dataset
def test_dataset_title_and_description_required_together():
    assert _errors(clean_dataset_form, {"title": "  "}, None) == {
        "title": ["This field is required."],
        "description": ["This field is required."],
    }


def test_dataset_defaults_on_create():
    values = clean_dataset_form({"title": "T", "description": "D"}, None)
    assert values["frequency"] == "unknown"
    assert values["private"] is False
    assert values["tags"] == []
    assert values["license"] is None


def test_dataset_put_keeps_absent_keys_and_null_private_is_false():
    current = clean_dataset_form({"title": "T", "description": "D", "private": True, "tags": ["scdl"]}, None)
    assert "private" not in clean_dataset_form({"title": "New"}, current)
    assert clean_dataset_form({"private": None}, current)["private"] is False
    assert clean_dataset_form({"description": "x"}, current)["title"] == "T"


@pytest.mark.parametrize(
    ("given", "stored"),
    [("daily", "daily"), ("realtime", "continuous"), ("fortnighly", "biweekly"), ("biannual", "semiannual")],
)
def test_frequency_enum_and_legacy_aliases(given, stored):
    assert clean_frequency(given) == stored


def test_frequency_unknown_value_is_refused():
    assert _errors(clean_frequency, "sometimes") == {"frequency": ["Not a valid choice."]}


def test_tags_are_slugified_deduplicated_and_length_checked():
    assert clean_tags(["SCDL", "Délibérations", "scdl"]) == ["scdl", "deliberations"]
    assert _errors(clean_tags, ["ok-tag", "ab"]) == {
        "tags": ['Tag "ab" must be between 3 and 96 characters long.']
    }
    assert "tags" in _errors(clean_tags, ["x" * 97])
    assert "tags" in _errors(clean_tags, [1, 2])


def test_license_must_be_known():
    assert (
        clean_dataset_form({"title": "T", "description": "D", "license": "lov2"}, None)["license"] == "lov2"
    )
    assert _errors(clean_dataset_form, {"title": "T", "description": "D", "license": "wtfpl"}, None) == {
        "license": ["Not a valid choice."]
    }


def test_title_longer_than_350_is_refused():
    errors = _errors(clean_dataset_form, {"title": "x" * 351, "description": "D"}, None)
    assert errors == {"title": ["Field cannot be longer than 350 characters."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"extras": ["a"]}, "extras"),
        ({"extras": {"k": {"nested": 1}}}, "extras"),
        ({"temporal_coverage": {"start": "yesterday"}}, "temporal_coverage"),
        ({"temporal_coverage": {"start": "2024-01-01", "end": "2023-01-01"}}, "temporal_coverage"),
        ({"spatial": {"granularity": "planet"}}, "spatial"),
        ({"private": "yes"}, "private"),
        ({"contact_points": ["5f0000000000000000000000"]}, "contact_points"),
    ],
)
def test_dataset_malformed_fields(body, field):
    assert field in _errors(clean_dataset_form, {"title": "T", "description": "D", **body}, None)


def test_dataset_temporal_and_spatial_are_stored():
    values = clean_dataset_form(
        {
            "title": "T",
            "description": "D",
            "temporal_coverage": {"start": "2024-01-01", "end": "2024-12-31"},
            "spatial": {"zones": ["fr:commune:35238"], "granularity": "fr:commune"},
        },
        None,
    )
    assert values["temporal_coverage"] == {"start": "2024-01-01", "end": "2024-12-31"}
    assert values["spatial"]["granularity"] == "fr:commune"


@pytest.mark.parametrize(
    ("value", "ref"), [("abc", "abc"), ({"id": "abc"}, "abc"), (None, None), ({"name": "x"}, ""), (12, "")]
)
def test_organization_as_string_or_object(value, ref):
    assert organization_ref(value) == ref


# ---------------------------------------------------------------------------------------------- resource
def _hosted() -> dict:
    return {
        "id": "r1",
        "title": "deliberation-2024.csv",
        "filetype": "file",
        "type": "main",
        "format": "csv",
        "mime": "text/csv",
        "filesize": 10,
        "url": None,
        "checksum": {"type": "sha1", "value": "abc"},
        "schema": None,
        "extras": {},
        "description": None,
    }


def test_resource_put_on_hosted_ignores_protected_fields():
    values = clean_resource_form(
        {
            "format": "xml",
            "url": "https://evil.example/x",
            "filesize": 1,
            "mime": "text/xml",
            "title": "Délibs",
        },
        _hosted(),
        CATALOGUE,
    )
    assert values == {"title": "Délibs"}


def test_resource_put_cannot_change_filetype():
    assert _errors(clean_resource_form, {"filetype": "remote"}, _hosted(), CATALOGUE) == {
        "filetype": ["Cannot modify filetype after creation"]
    }


def test_remote_resource_needs_title_and_valid_url():
    errors = _errors(clean_resource_form, {"filetype": "remote", "url": "ftp:/broken"}, None, CATALOGUE)
    assert errors == {"title": ["This field is required."], "url": ['Invalid URL "ftp:/broken"']}


def test_remote_resource_checksum_and_type_validation():
    base = {"title": "t", "url": "https://example.org/a.csv"}
    assert "checksum" in _errors(
        clean_resource_form, {**base, "checksum": {"type": "crc32", "value": "x"}}, None, CATALOGUE
    )
    assert "type" in _errors(clean_resource_form, {**base, "type": "data"}, None, CATALOGUE)
    values = clean_resource_form({**base, "format": " CSV ", "type": "main"}, None, CATALOGUE)
    assert values["format"] == "csv"
    assert values["type"] == "main"


def test_loopback_url_refused_when_strict():
    body = {"title": "t", "url": "http://127.0.0.1:8000/x.csv"}
    assert clean_resource_form(body, None, CATALOGUE)["url"].startswith("http://127.0.0.1")
    assert "url" in _errors(clean_resource_form, body, None, CATALOGUE, allow_local_urls=False)


# ---------------------------------------------------------------------------------------------- files
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("DELIBERATION-2024.csv", "deliberation-2024.csv"),
        ("Délibérations 2024.CSV", "deliberations-2024.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\x\\budget.xml", "budget.xml"),
        ("noext", "noext"),
    ],
)
def test_normalize_filename(given, stored):
    assert normalize_filename(given) == stored


def test_html_sniffing():
    assert looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html></html>")
    assert looks_like_html(b"<HTML><body>x</body></HTML>")
    assert not looks_like_html(b"COLL_NOM,COLL_SIRET\nRennes,<html>\n")
