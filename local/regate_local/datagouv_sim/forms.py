"""udata form validation, reproduced as pure functions (no HTTP, no state).

Each ``clean_*`` function takes the decoded JSON body and returns the values to store, or raises
:class:`FormError` carrying udata's ``{"errors": {field: [msg, …]}}`` mapping (nested dicts for sub-forms),
so the app can answer exactly what data.gouv.fr answers (datagouv-api.md §4, §5, §6, §7).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from regate_local.datagouv_sim.catalogue import (
    CHECKSUM_TYPES,
    FREQUENCIES,
    GRANULARITIES,
    LEGACY_FREQUENCIES,
    LICENSE_IDS,
    RESOURCE_TYPES,
    SchemaCatalogue,
)

REQUIRED = "This field is required."
NOT_A_CHOICE = "Not a valid choice."
TAG_MIN, TAG_MAX = 3, 96
TITLE_MAX = 350
DESCRIPTION_MAX = 100_000
DESCRIPTION_SHORT_MAX = 200
#: Resource fields udata ≥ 17 ignores when a client PUTs them on a hosted (``filetype=file``) resource.
PROTECTED_HOSTED_FIELDS = ("filetype", "url", "checksum", "filesize", "mime", "format")
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class FormError(Exception):
    """A 400 form error; ``errors`` is the body's ``errors`` object."""

    def __init__(self, errors: dict[str, Any]) -> None:
        super().__init__(str(errors))
        self.errors = errors


# ----------------------------------------------------------------------------------------- text helpers
def slugify(text: str) -> str:
    """udata-style slug: accents dropped, lower case, runs of other characters → ``-``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def normalize_filename(filename: str) -> str:
    """Stored file name: directory dropped, stem slugified, extension lower-cased (``DELIB 2024.CSV`` →
    ``delib-2024.csv``). The resource title is reset to this name on every upload."""
    base = re.split(r"[\\/]", filename)[-1].strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem_slug = slugify(stem) or "file"
    return f"{stem_slug}.{ext.lower()}" if ext else stem_slug


def file_extension(filename: str) -> str:
    base = re.split(r"[\\/]", filename)[-1]
    return base.rpartition(".")[2].lower() if "." in base else ""


def looks_like_html(data: bytes) -> bool:
    """What libmagic would call ``text/html``: a document starting with a doctype or an html/head/body tag."""
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or (
        head.startswith(b"<") and b"<html" in head[:256]
    )


def is_valid_url(url: Any, *, allow_local: bool = True) -> bool:
    """udata's URL check: http(s)/ftp(s) scheme and a host; loopback refused unless ``allow_local``."""
    if not isinstance(url, str) or not url or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.scheme not in ("http", "https", "ftp", "ftps") or not parts.hostname:
        return False
    return allow_local or parts.hostname not in _LOCAL_HOSTS


def _is_iso(value: Any, *, with_time: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        if with_time:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------------------------- schema
def clean_schema(
    value: Any, catalogue: SchemaCatalogue, *, allow_local: bool = True
) -> dict[str, Any] | None:
    """Validate a resource ``schema`` like udata's ``Schema.clean(check_schema_in_catalog=True)`` (§6).

    Returns the stored value (``None`` clears it); errors are raised under ``schema.<name|version|url>``.
    """
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise FormError({"schema": {"name": ["Schema must be an object."]}})
    name, version, url = value.get("name") or None, value.get("version") or None, value.get("url") or None
    for field_name, field_value in (("name", name), ("version", version), ("url", url)):
        if field_value is not None and not isinstance(field_value, str):
            raise FormError({"schema": {field_name: ["This field must be a string."]}})
    if url is not None:
        if not is_valid_url(url, allow_local=allow_local):
            raise FormError({"schema": {"url": [f'Invalid URL "{url}"']}})
        if name is None:
            known = catalogue.by_url(url)
            if known is not None:
                return {"name": known[0], "version": known[1], "url": None}
            return {"name": None, "version": version, "url": url}
    if name is None:
        if version is not None:
            raise FormError(
                {
                    "schema": {
                        "version": ["A schema must contains a name or an URL when a version is provided."]
                    }
                }
            )
        return None
    schema = catalogue.by_name(name)
    if schema is None:
        allowed = ", ".join(s.name for s in catalogue.assignable())
        raise FormError(
            {"schema": {"name": [f'Schema name "{name}" is not an allowed value. Allowed values: {allowed}']}}
        )
    if version is not None:
        allowed_versions = [*schema.version_names, "latest"]
        if version not in allowed_versions:
            raise FormError(
                {
                    "schema": {
                        "version": [
                            f'Version "{version}" is not an allowed value for the schema "{name}". '
                            f"Allowed versions: {', '.join(allowed_versions)}"
                        ]
                    }
                }
            )
    return {"name": name, "version": version, "url": url}


# ---------------------------------------------------------------------------------------------- dataset
def organization_ref(value: Any) -> str | None:
    """``organization`` may be the id string or ``{"id": …}``; returns the id (None when absent)."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        ref = value.get("id")
        return ref if isinstance(ref, str) and ref else ""
    return value if isinstance(value, str) else ""


def clean_frequency(value: Any) -> str:
    if value in (None, ""):
        return "unknown"
    if isinstance(value, str) and value in FREQUENCIES:
        return value
    if isinstance(value, str) and value in LEGACY_FREQUENCIES:
        return LEGACY_FREQUENCIES[value]
    raise FormError({"frequency": [NOT_A_CHOICE]})


def clean_tags(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [t for t in value.split(",") if t.strip()]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise FormError({"tags": ["Tags must be a list of strings."]})
    tags: list[str] = []
    for raw in value:
        tag = slugify(raw)
        if not TAG_MIN <= len(tag) <= TAG_MAX:
            raise FormError(
                {"tags": [f'Tag "{tag}" must be between {TAG_MIN} and {TAG_MAX} characters long.']}
            )
        if tag not in tags:
            tags.append(tag)
    return tags


def _clean_text(body: dict[str, Any], key: str, *, required: bool, maximum: int | None) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise FormError({key: [REQUIRED]})
        return None if value is None else ""
    if not isinstance(value, str):
        raise FormError({key: ["This field must be a string."]})
    if maximum is not None and len(value) > maximum:
        raise FormError({key: [f"Field cannot be longer than {maximum} characters."]})
    return value


def _clean_extras(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormError({"extras": ["Extras must be a dictionary."]})
    for key, item in value.items():
        if item is not None and not isinstance(item, str | int | float | bool):
            raise FormError({"extras": [f'Unsupported type for extra "{key}": scalars only.']})
    return dict(value)


def _clean_temporal_coverage(value: Any) -> dict[str, str] | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict) or not _is_iso(value.get("start"), with_time=False):
        raise FormError({"temporal_coverage": {"start": ["Not a valid date value."]}})
    end = value.get("end")
    if end is not None and not _is_iso(end, with_time=False):
        raise FormError({"temporal_coverage": {"end": ["Not a valid date value."]}})
    start = value["start"][:10]
    if end is not None and end[:10] < start:
        raise FormError({"temporal_coverage": {"end": ["End date must be after start date."]}})
    return {"start": start, "end": end[:10] if end else None}


def _clean_spatial(value: Any) -> dict[str, Any] | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise FormError({"spatial": {"zones": ["Spatial coverage must be an object."]}})
    zones = value.get("zones") or []
    if not isinstance(zones, list) or not all(isinstance(z, str) and z for z in zones):
        raise FormError({"spatial": {"zones": ["Zones must be a list of geozone ids."]}})
    granularity = value.get("granularity") or "other"
    if granularity not in GRANULARITIES:
        raise FormError({"spatial": {"granularity": [NOT_A_CHOICE]}})
    return {"zones": list(zones), "granularity": granularity, "geom": value.get("geom")}


def _clean_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise FormError({key: ["Not a valid boolean value."]})
    return value


class _Collector:
    """Runs field checks and gathers every field's error, as a WTForms form does (one 400 lists them all)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.errors: dict[str, Any] = {}

    def field(self, key: str, check: Callable[[], Any]) -> None:
        try:
            self.values[key] = check()
        except FormError as exc:
            self.errors.update(exc.errors)

    def result(self) -> dict[str, Any]:
        if self.errors:
            raise FormError(self.errors)
        return self.values


def _clean_license(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if value not in LICENSE_IDS:
        raise FormError({"license": [NOT_A_CHOICE]})
    return str(value)


def _clean_datetime(key: str, value: Any) -> Any:
    if value is not None and not _is_iso(value, with_time=True):
        raise FormError({key: ["Not a valid datetime value."]})
    return value


def _clean_contact_points(value: Any) -> list[str]:
    if value:  # the simulated organisations have no contact point: any id is unknown
        raise FormError({"contact_points": ["Unknown contact point."]})
    return []


def _clean_access_type(value: Any) -> str:
    access = value or "open"
    if access not in ("open", "open_with_account", "restricted"):
        raise FormError({"access_type": [NOT_A_CHOICE]})
    return str(access)


def clean_dataset_form(body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    """Validate a dataset POST (``current`` None) or PUT (keys absent keep the current value, §4.3).

    Returns the fields to store, organisation excluded (the caller resolves and authorises it).
    """
    merged = dict(current or {})
    merged.update(body)
    form = _Collector()

    def sent(key: str) -> bool:
        return current is None or key in body

    form.field("title", lambda: _clean_text(merged, "title", required=True, maximum=TITLE_MAX))
    form.field(
        "description", lambda: _clean_text(merged, "description", required=True, maximum=DESCRIPTION_MAX)
    )
    if "description_short" in body:
        form.field(
            "description_short",
            lambda: _clean_text(merged, "description_short", required=False, maximum=DESCRIPTION_SHORT_MAX),
        )
    if "acronym" in body:
        form.field("acronym", lambda: _clean_text(merged, "acronym", required=False, maximum=None))
    if sent("frequency"):
        form.field("frequency", lambda: clean_frequency(merged.get("frequency")))
    if sent("frequency_date"):
        form.field("frequency_date", lambda: _clean_datetime("frequency_date", merged.get("frequency_date")))
    if sent("license"):
        form.field("license", lambda: _clean_license(merged.get("license")))
    if sent("tags"):
        form.field("tags", lambda: clean_tags(merged.get("tags")))
    if sent("private"):
        form.field("private", lambda: _clean_bool(merged, "private"))
    if sent("extras"):
        form.field("extras", lambda: _clean_extras(merged.get("extras")))
    if sent("temporal_coverage"):
        form.field("temporal_coverage", lambda: _clean_temporal_coverage(merged.get("temporal_coverage")))
    if sent("spatial"):
        form.field("spatial", lambda: _clean_spatial(merged.get("spatial")))
    if sent("contact_points"):
        form.field("contact_points", lambda: _clean_contact_points(merged.get("contact_points")))
    if sent("access_type"):
        form.field("access_type", lambda: _clean_access_type(merged.get("access_type")))
    if sent("archived"):
        form.field("archived", lambda: _clean_datetime("archived", merged.get("archived")))
    return form.result()


# --------------------------------------------------------------------------------------------- resource
def clean_resource_form(
    body: dict[str, Any],
    current: dict[str, Any] | None,
    catalogue: SchemaCatalogue,
    *,
    allow_local_urls: bool = True,
) -> dict[str, Any]:
    """Validate a resource POST (remote creation, ``current`` None) or PUT (partial update, §5.3–5.4).

    On hosted resources the protected fields are dropped before validation (udata ≥ 17 ignores them).
    """
    body = dict(body)
    if current is not None:
        sent_filetype = body.get("filetype")
        if sent_filetype is not None and sent_filetype != current["filetype"]:
            raise FormError({"filetype": ["Cannot modify filetype after creation"]})
        if current["filetype"] == "file":
            for key in PROTECTED_HOSTED_FIELDS:
                body.pop(key, None)
    merged = dict(current or {})
    merged.update(body)
    form = _Collector()

    def sent(key: str) -> bool:
        return current is None or key in body

    form.field("title", lambda: _clean_text(merged, "title", required=True, maximum=TITLE_MAX))
    if sent("description"):
        form.field(
            "description", lambda: _clean_text(merged, "description", required=False, maximum=DESCRIPTION_MAX)
        )
    if sent("type"):
        form.field("type", lambda: _clean_resource_type(merged.get("type")))
    if sent("url"):
        form.field("url", lambda: _clean_url(merged.get("url"), allow_local=allow_local_urls))
    if sent("format"):
        form.field("format", lambda: _clean_lower("format", merged.get("format")))
    if sent("mime"):
        form.field("mime", lambda: _clean_lower("mime", merged.get("mime")))
    if sent("filesize"):
        form.field("filesize", lambda: _clean_filesize(merged.get("filesize")))
    if sent("checksum"):
        form.field("checksum", lambda: _clean_checksum(merged.get("checksum")))
    if sent("schema"):
        form.field(
            "schema", lambda: clean_schema(merged.get("schema"), catalogue, allow_local=allow_local_urls)
        )
    if sent("extras"):
        form.field("extras", lambda: _clean_extras(merged.get("extras")))
    return form.result()


def _clean_resource_type(value: Any) -> str:
    kind = value or "other"
    if kind not in RESOURCE_TYPES:
        raise FormError({"type": [NOT_A_CHOICE]})
    return str(kind)


def _clean_url(url: Any, *, allow_local: bool) -> str:
    if url in (None, ""):
        raise FormError({"url": [REQUIRED]})
    if not is_valid_url(url, allow_local=allow_local):
        raise FormError({"url": [f'Invalid URL "{url}"']})
    return str(url)


def _clean_lower(key: str, value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise FormError({key: ["This field must be a string."]})
    return value.strip().lower() if value else None


def _clean_filesize(size: Any) -> int | None:
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise FormError({"filesize": ["Not a valid integer value."]})
    return size


def _clean_checksum(value: Any) -> dict[str, str] | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise FormError({"checksum": {"type": [NOT_A_CHOICE]}})
    if value.get("type") not in CHECKSUM_TYPES:
        raise FormError({"checksum": {"type": [NOT_A_CHOICE]}})
    if not isinstance(value.get("value"), str) or not value["value"]:
        raise FormError({"checksum": {"value": [REQUIRED]}})
    return {"type": value["type"], "value": value["value"]}
