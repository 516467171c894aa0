"""The simulated portal's state: users, organisations, datasets, resources and hosted files.

Plain dicts shaped like udata's documents (so ``sim.datasets`` reads like the API), plus the stored file
bytes. The state round-trips through JSON (``regate sim datagouv --state``); loading validates the file with
a pydantic model so a damaged state file fails with a clear message instead of a half-loaded portal.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from regate_local.datagouv_sim.forms import slugify

STATE_FORMAT = "regate-datagouv-sim/1"
DEMO_API_KEY = "regate-demo-key"
DEMO_USER = "regate"
DEMO_ORG_SLUG = "megalis-bretagne-simulation"
DEMO_ORG_NAME = "Mégalis Bretagne (simulation)"

#: Breton collectivités seeded as organisations: (name, SIRET, is "regate" a member?).
SEED_COLLECTIVITES: tuple[tuple[str, str, bool], ...] = (
    ("Ville de Rennes", "21350238800019", True),
    ("Rennes Métropole", "24350013900189", False),
    ("Ville de Saint-Brieuc", "21220278200018", True),
    ("Ville de Brest", "21290019500018", False),
    ("Ville de Quimper", "21290232400012", False),
)


class StateError(ValueError):
    """The state file cannot be loaded (not JSON, wrong format, inconsistent)."""


class PortalStateFile(BaseModel):
    """What ``--state`` files contain (validated on load)."""

    model_config = ConfigDict(extra="forbid")
    format: str
    users: dict[str, dict[str, Any]]
    organizations: dict[str, dict[str, Any]]
    datasets: dict[str, dict[str, Any]]
    files: dict[str, str]  # storage path → base64 bytes
    resource_paths: dict[str, str]  # resource id → storage path
    counter: int


def stable_object_id(seed: str) -> str:
    """A 24-hex ObjectId derived from ``seed``: seeded users/organisations keep their ids across runs."""
    return hashlib.sha256(seed.encode()).hexdigest()[:24]


@dataclass
class Portal:
    """Everything the portal stores. Not thread-safe by itself: the app serialises access."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # handle → user
    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → organisation
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → dataset record
    files: dict[str, bytes] = field(default_factory=dict)  # storage path → bytes
    resource_paths: dict[str, str] = field(default_factory=dict)  # hosted resource id → storage path
    used_paths: set[str] = field(default_factory=set)  # every path ever used: a URL never comes back
    counter: int = 0

    # ------------------------------------------------------------------------------------ identities
    def ensure_user(self, handle: str, created_at: str) -> dict[str, Any]:
        user = self.users.get(handle)
        if user is None:
            user = {
                "id": stable_object_id(f"user:{handle}"),
                "slug": slugify(handle) or handle,
                "handle": handle,
                "first_name": "Rég@te" if handle == DEMO_USER else handle,
                "last_name": "Publication" if handle == DEMO_USER else "",
                "email": f"{slugify(handle) or 'user'}@example.org",
                "since": created_at,
            }
            self.users[handle] = user
        return user

    def add_organization(
        self,
        name: str,
        created_at: str,
        business_number_id: str | None = None,
        members: list[str] | tuple[str, ...] = (DEMO_USER,),
        slug: str | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        slug = slug or self.unique_org_slug(slugify(name) or "organization")
        if any(o["slug"] == slug for o in self.organizations.values()):
            raise ValueError(f"organisation slug {slug!r} already exists")
        org = {
            "id": stable_object_id(f"org:{slug}"),
            "name": name,
            "acronym": None,
            "slug": slug,
            "description": description or f"{name} — organisation du simulateur data.gouv.fr de Rég@te.",
            "business_number_id": business_number_id,
            "members": [{"user": handle, "role": "admin"} for handle in members],
            "created_at": created_at,
            "last_modified": created_at,
        }
        for handle in members:
            self.ensure_user(handle, created_at)
        self.organizations[org["id"]] = org
        return org

    def unique_org_slug(self, base: str) -> str:
        taken = {o["slug"] for o in self.organizations.values()}
        return _unique(base, taken)

    def unique_dataset_slug(self, base: str, exclude_id: str | None = None) -> str:
        taken = set()
        for ds in self.datasets.values():
            if ds["id"] != exclude_id:
                taken.add(ds["slug"])
                taken.update(ds.get("_old_slugs", []))
        return _unique(base or "dataset", taken)

    def find_organization(self, ref: str) -> dict[str, Any] | None:
        org = self.organizations.get(ref)
        if org is not None:
            return org
        return next((o for o in self.organizations.values() if o["slug"] == ref), None)

    def find_dataset(self, ref: str) -> dict[str, Any] | None:
        """By id, current slug, or a former slug (udata follows renamed slugs)."""
        ds = self.datasets.get(ref)
        if ds is not None:
            return ds
        return next(
            (d for d in self.datasets.values() if ref == d["slug"] or ref in d.get("_old_slugs", [])), None
        )

    def is_member(self, handle: str | None, org_id: str | None) -> bool:
        if handle is None or org_id is None or org_id not in self.organizations:
            return False
        return any(m["user"] == handle for m in self.organizations[org_id]["members"])

    def can_edit(self, handle: str | None, dataset: dict[str, Any]) -> bool:
        """Owner, or admin/editor of the owning organisation (udata's ``DatasetEditPermission``)."""
        if handle is None:
            return False
        if dataset.get("organization"):
            return self.is_member(handle, dataset["organization"])
        return dataset.get("owner") == handle

    def next_object_id(self, epoch_seconds: int) -> str:
        """ObjectId-like: 4 bytes of time then a counter (unique, sortable, deterministic on a fake clock)."""
        self.counter += 1
        return f"{epoch_seconds & 0xFFFFFFFF:08x}{self.counter:016x}"

    # --------------------------------------------------------------------------------------- files
    def store_file(self, directory: str, filename: str, data: bytes) -> str:
        """Store bytes under ``directory/filename``; a used path gets ``-1``, ``-2``… (the URL changes)."""
        stem, dot, ext = filename.rpartition(".")
        if not dot:
            stem, ext = filename, ""
        path = f"{directory}/{filename}"
        n = 0
        while path in self.used_paths:
            n += 1
            path = f"{directory}/{stem}-{n}{'.' + ext if ext else ''}"
        self.used_paths.add(path)
        self.files[path] = data
        return path

    def drop_file(self, resource_id: str) -> None:
        path = self.resource_paths.pop(resource_id, None)
        if path is not None:
            self.files.pop(path, None)

    # ---------------------------------------------------------------------------------------- state
    def to_json(self) -> str:
        state = PortalStateFile(
            format=STATE_FORMAT,
            users=self.users,
            organizations=self.organizations,
            datasets=self.datasets,
            files={path: base64.b64encode(data).decode("ascii") for path, data in self.files.items()},
            resource_paths=self.resource_paths,
            counter=self.counter,
        )
        return json.dumps(state.model_dump(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Portal:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise StateError(f"state file is not JSON: {exc}") from exc
        try:
            state = PortalStateFile.model_validate(raw)
        except ValidationError as exc:
            raise StateError(f"state file has an unexpected shape: {exc}") from exc
        if state.format != STATE_FORMAT:
            raise StateError(f"state file format {state.format!r} is not {STATE_FORMAT!r}")
        try:
            files = {path: base64.b64decode(data, validate=True) for path, data in state.files.items()}
        except ValueError as exc:
            raise StateError(f"state file holds a file that is not base64: {exc}") from exc
        missing = sorted(set(state.resource_paths.values()) - set(files))
        if missing:
            raise StateError(f"state file references files it does not hold: {missing[:3]}")
        for ds_id, ds in state.datasets.items():
            if ds.get("id") != ds_id or not isinstance(ds.get("resources"), list):
                raise StateError(f"state file dataset {ds_id!r} is inconsistent")
        return cls(
            users=state.users,
            organizations=state.organizations,
            datasets=state.datasets,
            files=files,
            resource_paths=state.resource_paths,
            used_paths=set(files),
            counter=state.counter,
        )


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"
