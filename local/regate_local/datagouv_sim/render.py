"""JSON renderings of the portal's objects, shaped like udata's API answers (datagouv-api.md §4.4, §5.6).

Stored records keep only what udata stores; everything derived (URIs, pages, ``latest``, hosted ``url``,
permissions, quality) is computed here from the portal root the client used.
"""

from __future__ import annotations

from typing import Any

from regate_local.datagouv_sim.catalogue import DEFAULT_LICENSE
from regate_local.datagouv_sim.portal import Portal


def render_user(user: dict[str, Any], root: str) -> dict[str, Any]:
    """The ``User`` reference embedded in datasets, organisations and ``/me/``."""
    return {
        "class": "User",
        "id": user["id"],
        "slug": user["slug"],
        "first_name": user["first_name"],
        "last_name": user["last_name"],
        "avatar": None,
        "avatar_thumbnail": None,
        "uri": f"{root}/api/1/users/{user['id']}/",
        "page": f"{root}/fr/users/{user['slug']}/",
    }


def render_org_ref(org: dict[str, Any], root: str) -> dict[str, Any]:
    """The short ``Organization`` object embedded in a dataset (§4.4)."""
    return {
        "class": "Organization",
        "id": org["id"],
        "name": org["name"],
        "slug": org["slug"],
        "acronym": org.get("acronym"),
        "uri": f"{root}/api/1/organizations/{org['id']}/",
        "page": f"{root}/fr/organizations/{org['slug']}/",
        "logo": None,
        "logo_thumbnail": None,
        "badges": [],
    }


def render_org(portal: Portal, org: dict[str, Any], root: str) -> dict[str, Any]:
    """``GET /organizations/…`` answer: with ``business_number_id`` (the SIRET lookup key) and members."""
    members = []
    for m in org["members"]:
        user = portal.users.get(m["user"])
        if user is not None:
            members.append({"user": render_user(user, root), "role": m["role"]})
    datasets = sum(1 for d in portal.datasets.values() if d.get("organization") == org["id"])
    return {
        **render_org_ref(org, root),
        "description": org["description"],
        "business_number_id": org.get("business_number_id"),
        "url": None,
        "members": members,
        "created_at": org["created_at"],
        "last_modified": org["last_modified"],
        "deleted": None,
        "metrics": {
            "datasets": datasets,
            "followers": 0,
            "members": len(members),
            "reuses": 0,
            "views": 0,
        },
    }


def resource_url(portal: Portal, res: dict[str, Any], root: str) -> str:
    """Hosted files live under ``{root}/static/resources/…`` (new on every upload); remotes keep theirs."""
    path = portal.resource_paths.get(res["id"])
    if res["filetype"] == "file" and path is not None:
        return f"{root}/static/resources/{path}"
    return res.get("url") or ""


def render_resource(portal: Portal, res: dict[str, Any], root: str) -> dict[str, Any]:
    """A resource as §5.6 lists it; ``latest`` is the stable ``/datasets/r/{id}`` redirect."""
    return {
        "id": res["id"],
        "title": res["title"],
        "description": res.get("description"),
        "filetype": res["filetype"],
        "type": res.get("type") or "other",
        "format": res.get("format"),
        "mime": res.get("mime"),
        "filesize": res.get("filesize"),
        "url": resource_url(portal, res, root),
        "latest": f"{root}/datasets/r/{res['id']}",
        "checksum": res.get("checksum"),
        "created_at": res["created_at"],
        "last_modified": res["last_modified"],
        "schema": res.get("schema"),
        "extras": dict(res.get("extras") or {}),
        "metrics": {"views": 0},
        "preview_url": None,
        "harvest": None,
        "internal": {
            "created_at_internal": res["created_at"],
            "last_modified_internal": res["last_modified"],
        },
    }


def render_dataset(
    portal: Portal, ds: dict[str, Any], root: str, viewer: str | None, *, owner_view: bool = False
) -> dict[str, Any]:
    """A dataset as §4.4 lists it; ``permissions`` depend on the caller (``owner_view`` for test hooks)."""
    org = portal.organizations.get(ds.get("organization") or "")
    owner = portal.users.get(ds.get("owner") or "")
    can_edit = owner_view or portal.can_edit(viewer, ds)
    return {
        "id": ds["id"],
        "slug": ds["slug"],
        "title": ds["title"],
        "acronym": ds.get("acronym"),
        "description": ds["description"],
        "description_short": ds.get("description_short"),
        "created_at": ds["created_at"],
        "last_modified": ds["last_modified"],
        "last_update": ds["last_update"],
        "deleted": ds.get("deleted"),
        "archived": ds.get("archived"),
        "private": bool(ds.get("private")),
        "featured": bool(ds.get("featured")),
        "tags": list(ds.get("tags") or []),
        "frequency": ds.get("frequency") or "unknown",
        "frequency_date": ds.get("frequency_date"),
        "license": ds.get("license") or DEFAULT_LICENSE,
        "access_type": ds.get("access_type") or "open",
        "organization": render_org_ref(org, root) if org else None,
        "owner": render_user(owner, root) if owner and not org else None,
        "resources": [render_resource(portal, r, root) for r in ds["resources"]],
        "community_resources": [],
        "temporal_coverage": ds.get("temporal_coverage"),
        "spatial": ds.get("spatial"),
        "extras": dict(ds.get("extras") or {}),
        "contact_points": [],
        "badges": [],
        "harvest": None,
        "schema": None,
        "internal": {
            "created_at_internal": ds["created_at"],
            "last_modified_internal": ds["last_modified"],
        },
        "metrics": {"discussions": 0, "followers": 0, "reuses": 0, "views": 0, "resources_downloads": 0},
        "quality": quality(ds),
        "uri": f"{root}/api/1/datasets/{ds['id']}/",
        "page": f"{root}/fr/datasets/{ds['slug']}/",
        "permissions": {"edit": can_edit, "delete": can_edit, "edit_resources": can_edit},
    }


def quality(ds: dict[str, Any]) -> dict[str, Any]:
    """udata's read-only quality indicators, computed from what the dataset holds."""
    resources = ds["resources"]
    checks = {
        "dataset_description_quality": len(ds.get("description") or "") >= 128,
        "has_resources": bool(resources),
        "license": bool(ds.get("license")),
        "temporal_coverage": bool(ds.get("temporal_coverage")),
        "spatial": bool(ds.get("spatial")),
        "update_frequency": (ds.get("frequency") or "unknown") != "unknown",
        "has_open_format": any(
            r.get("format") in ("csv", "json", "xml", "geojson", "parquet") for r in resources
        ),
        "all_resources_available": True,
        "resources_documentation": any(r.get("description") or r.get("schema") for r in resources),
    }
    return {**checks, "score": round(sum(checks.values()) / len(checks), 2)}
