"""The data.gouv.fr (udata API v1) simulator: a small, thread-safe WSGI application.

Faithful to shared/reference/datagouv-api.md (§11 is its checklist): routes declared with a trailing slash
(a request without it gets udata/Flask's **308** redirect to the slash URL, method and body preserved),
ids or slugs, 201 vs 200, title reset on upload, schema catalogue validation, protected hosted fields,
401 on a bad key even on GET, and test hooks (fault injection for 413/415/423/429/502/503, request log,
read-only switch).

Deliberate simplifications, documented so operators know what they rehearse against:
- remote URLs on loopback are accepted by default (``allow_local_urls``) so the local demo can link its
  own API; data.gouv.fr refuses them (pass ``allow_local_urls=False`` to reproduce that);
- a deleted dataset answers 410 to everyone (reference §3), editors included;
- no full-text search: ``q`` is a case-insensitive substring match.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, RequestRedirect, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from regate.clock import Clock, SystemClock
from regate_local.datagouv_sim.catalogue import (
    ALLOWED_EXTENSIONS,
    DEFAULT_LICENSE,
    FREQUENCIES,
    LICENSES,
    RESOURCE_TYPES,
    SchemaCatalogue,
    default_catalogue,
)
from regate_local.datagouv_sim.forms import (
    FormError,
    clean_dataset_form,
    clean_resource_form,
    file_extension,
    looks_like_html,
    normalize_filename,
    organization_ref,
    slugify,
)
from regate_local.datagouv_sim.mask import MaskError, apply_mask, parse_mask
from regate_local.datagouv_sim.portal import (
    DEMO_API_KEY,
    DEMO_ORG_NAME,
    DEMO_ORG_SLUG,
    DEMO_USER,
    SEED_COLLECTIVITES,
    Portal,
)
from regate_local.datagouv_sim.render import (
    render_dataset,
    render_org,
    render_org_ref,
    render_resource,
    render_user,
    resource_url,
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")

MSG_INVALID_TOKEN = "Invalid API token"
#: 401 texts of udata's token system for keys that exist but no longer work (datagouv-api.md §2).
KEY_STATES = {"revoked": "Revoked API token", "expired": "Expired API token", "inactive": "Inactive user"}
MSG_UNAUTHORIZED = (
    "The server could not verify that you are authorized to access the URL requested. You either supplied "
    "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the "
    "credentials required."
)
MSG_NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again."
)
MSG_FORBIDDEN = "You do not have the permission to modify that object."
MSG_DELETED = "Dataset has been deleted"
MSG_RESOURCE_404 = "Resource does not exist"
MSG_READ_ONLY = "Due to security reasons, the creation of new content is currently disabled."
MSG_HTML = "Incorrect file content type: HTML"
MSG_REMOTE_ONLY = "This endpoint only supports remote resources"
MSG_SCHEMAS_503 = "No schemas in cache and endpoint unavailable"
WWW_AUTHENTICATE = 'Bearer realm="uData"'


# --------------------------------------------------------------------------------------------- test hooks
@dataclass(frozen=True)
class LoggedRequest:
    """One request as the simulator saw it (``query`` is the raw query string)."""

    method: str
    path: str
    query: str
    status: int
    has_key: bool


@dataclass
class Fault:
    """An injected failure: the next ``times`` requests matching answer ``status`` before reaching udata."""

    status: int
    path_regex: str
    method: str | None
    times: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def matches(self, method: str, path: str) -> bool:
        return (
            self.times > 0
            and (self.method is None or self.method.upper() == method)
            and re.search(self.path_regex, path) is not None
        )


class ApiError(Exception):
    """An error answer (JSON body, optional headers)."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def _nginx_page(status: int, reason: str) -> bytes:
    """What the reverse proxy in front of udata sends (HTML, not JSON)."""
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
        f"<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


_PROXY_REASONS = {
    413: "Request Entity Too Large",
    429: "Too Many Requests",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}
_UDATA_FAULT_MESSAGES = {
    415: MSG_HTML,
    423: MSG_READ_ONLY,
    500: "Internal Server Error",
}


@dataclass
class Context:
    """Per-request facts the handlers need."""

    request: Request
    root: str  # portal root as the client reached it, e.g. http://127.0.0.1:5xxxx
    user: str | None  # authenticated user handle


# ------------------------------------------------------------------------------------------------ the app
class DatagouvSimulator:
    """A data.gouv.fr portal in memory, served over WSGI. All public methods are thread-safe."""

    def __init__(
        self,
        api_keys: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        catalogue: SchemaCatalogue | None = None,
        allow_local_urls: bool = True,
        portal: Portal | None = None,
        rate_limit: int = 3000,
        max_body_bytes: int | None = None,
    ) -> None:
        self.api_keys: dict[str, str] = dict(api_keys) if api_keys is not None else {DEMO_API_KEY: DEMO_USER}
        self.clock: Clock = clock or SystemClock()
        self.catalogue = catalogue or default_catalogue()
        self.allow_local_urls = allow_local_urls
        self.rate_limit = rate_limit
        self.max_body_bytes = max_body_bytes  # proxy limit: bigger bodies get 413 (use chunked upload)
        self.read_only = False  # udata's anti-spam switch: creations → 423, uploads still allowed
        self.schemas_available = True  # False → /datasets/schemas/ answers 503
        self.root_url = "http://localhost"
        self.request_log: list[LoggedRequest] = []
        self._faults: list[Fault] = []
        self._disabled_keys: dict[str, str] = {}  # key → KEY_STATES entry
        self._chunks: dict[str, dict[int, bytes]] = {}
        self._lock = threading.RLock()
        self._map = Map([rule.empty() for rule in _RULES], strict_slashes=True)
        if portal is None:
            portal = Portal()
            self._portal = portal
            self._seed()
        else:
            self._portal = portal
        for handle in self.api_keys.values():
            self._portal.ensure_user(handle, self._now_iso())

    # ----------------------------------------------------------------------------------- public API
    @property
    def demo_organization(self) -> dict[str, Any]:
        org = self._portal.find_organization(DEMO_ORG_SLUG)
        if org is None:
            raise KeyError(DEMO_ORG_SLUG)
        return render_org(self._portal, org, self.root_url)

    def add_organization(
        self,
        name: str,
        business_number_id: str | None = None,
        members: list[str] | tuple[str, ...] = (DEMO_USER,),
        slug: str | None = None,
    ) -> dict[str, Any]:
        """Create an organisation (members are user handles, admins); returns its API JSON."""
        with self._lock:
            org = self._portal.add_organization(
                name, self._now_iso(), business_number_id=business_number_id, members=list(members), slug=slug
            )
            return render_org(self._portal, org, self.root_url)

    def organizations(self) -> list[dict[str, Any]]:
        with self._lock:
            return [render_org(self._portal, o, self.root_url) for o in self._portal.organizations.values()]

    def inject_fault(
        self,
        status: int,
        path_regex: str = ".*",
        method: str | None = None,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> None:
        """Make the next ``times`` matching requests fail with ``status`` (regex searched in the path)."""
        with self._lock:
            self._faults.append(Fault(status, path_regex, method, times, dict(headers or {}), body))

    def disable_key(self, key: str, state: str = "revoked") -> None:
        """Make a known key fail with udata's text for ``revoked``, ``expired`` or ``inactive`` (user)."""
        if state not in KEY_STATES:
            raise ValueError(f"state must be one of {sorted(KEY_STATES)}")
        with self._lock:
            self._disabled_keys[key] = state

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def reset_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def write_calls(self) -> list[LoggedRequest]:
        """Requests that could change the portal (POST/PUT/PATCH/DELETE), faults and errors included."""
        with self._lock:
            return [entry for entry in self.request_log if entry.method in WRITE_METHODS]

    @property
    def datasets(self) -> dict[str, dict[str, Any]]:
        """Every dataset (deleted and private ones too) as the API would render it to its owner."""
        with self._lock:
            return {
                ds_id: render_dataset(self._portal, ds, self.root_url, None, owner_view=True)
                for ds_id, ds in self._portal.datasets.items()
            }

    def file_bytes(self, resource_id: str) -> bytes:
        """Bytes currently hosted for a resource (KeyError when it is not a hosted file)."""
        with self._lock:
            return self._portal.files[self._portal.resource_paths[resource_id]]

    def state_json(self) -> str:
        with self._lock:
            return self._portal.to_json()

    @classmethod
    def from_state_json(
        cls,
        text: str | bytes,
        api_keys: dict[str, str] | None = None,
        *,
        clock: Clock | None = None,
        catalogue: SchemaCatalogue | None = None,
        allow_local_urls: bool = True,
    ) -> DatagouvSimulator:
        """A simulator resuming a saved portal (raises ``StateError`` on a damaged file)."""
        return cls(
            api_keys,
            clock=clock,
            catalogue=catalogue,
            allow_local_urls=allow_local_urls,
            portal=Portal.from_json(text),
        )

    @contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[SimulatorServer]:
        """Serve on a real socket in a background thread for the ``with`` block."""
        server = SimulatorServer(self, host, port)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    # ---------------------------------------------------------------------------------------- WSGI
    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        request.get_data(cache=True)  # read the whole body now: answers never leave it unread
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """One request, start to end, under the portal lock (the state is shared by server threads)."""
        key = _api_key(request)
        with self._lock:
            response = (
                self._fault_response(request) or self._proxy_limit(request) or self._dispatch(request, key)
            )
            self.request_log.append(
                LoggedRequest(
                    method=request.method,
                    path=request.path,
                    query=request.query_string.decode("latin-1"),
                    status=response.status_code,
                    has_key=key is not None,
                )
            )
        return response

    def _fault_response(self, request: Request) -> Response | None:
        fault = next((f for f in self._faults if f.matches(request.method, request.path)), None)
        if fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            self._faults.remove(fault)
        headers = dict(fault.headers)
        if fault.status == 429:
            given = headers.get("Retry-After", "1")
            retry_after = int(given) if given.strip().isdigit() else 1  # an HTTP date is passed through as is
            reset = self.clock.now() + timedelta(seconds=retry_after)
            headers.setdefault("Retry-After", str(retry_after))
            headers.setdefault("X-RateLimit-Limit", str(self.rate_limit))
            headers.setdefault("X-RateLimit-Remaining", "0")
            headers.setdefault("X-RateLimit-Reset", str(int(reset.timestamp())))
        if fault.status == 500:
            headers.setdefault("X-Sentry-ID", uuid.uuid4().hex)
        if fault.body is not None:
            body, ctype = fault.body, headers.pop("Content-Type", "application/octet-stream")
        elif fault.status in _PROXY_REASONS and fault.status != 503:
            body, ctype = _nginx_page(fault.status, _PROXY_REASONS[fault.status]), "text/html"
        elif fault.status == 503 and "schemas" in request.path:
            body, ctype = _json_bytes({"message": MSG_SCHEMAS_503}), "application/json"
        elif fault.status == 503:
            body, ctype = _nginx_page(503, _PROXY_REASONS[503]), "text/html"
        else:
            message = _UDATA_FAULT_MESSAGES.get(fault.status) or _status_phrase(fault.status)
            body, ctype = _json_bytes({"message": message}), "application/json"
        return Response(body, status=fault.status, headers=headers, content_type=ctype)

    def _proxy_limit(self, request: Request) -> Response | None:
        """The reverse proxy's body-size limit (``max_body_bytes``): 413 HTML page, udata never sees it."""
        if self.max_body_bytes is not None and (request.content_length or 0) > self.max_body_bytes:
            return Response(_nginx_page(413, _PROXY_REASONS[413]), status=413, content_type="text/html")
        return None

    def _dispatch(self, request: Request, key: str | None) -> Response:
        adapter = self._map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except RequestRedirect as redirect:  # missing trailing slash: 308, like Flask
            return redirect.get_response(request.environ)  # type: ignore[return-value]
        except MethodNotAllowed as exc:
            return _json_response(
                405,
                {"message": "The method is not allowed for the requested URL."},
                {"Allow": ", ".join(exc.valid_methods or [])},
            )
        except NotFound:
            return _json_response(404, {"message": MSG_NOT_FOUND})
        except HTTPException as exc:  # pragma: no cover - other routing errors
            return _json_response(exc.code or 400, {"message": exc.description})
        root = request.host_url.rstrip("/")
        self.root_url = root
        try:
            # API keys belong to the API: the web front (``/datasets/r/``, static files) never rejects one.
            user = (
                self._authenticate(key) if request.path.startswith("/api/") else self.api_keys.get(key or "")
            )
            handler = getattr(self, f"_ep_{endpoint}")
            response = handler(Context(request, root, user), **args)
            return _masked(request, response)
        except ApiError as err:
            headers = dict(err.headers)
            if err.status == 401:
                headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
            return _json_response(err.status, err.body, headers)

    # ---------------------------------------------------------------------------------------- auth
    def _authenticate(self, key: str | None) -> str | None:
        """A key, when sent, is checked on every call (GET included)."""
        if key is None:
            return None
        user = self.api_keys.get(key)
        if user is None:
            raise ApiError(401, {"message": MSG_INVALID_TOKEN})
        if key in self._disabled_keys:
            raise ApiError(401, {"message": KEY_STATES[self._disabled_keys[key]]})
        return user

    @staticmethod
    def _require_user(ctx: Context) -> str:
        if ctx.user is None:
            raise ApiError(401, {"message": MSG_UNAUTHORIZED})
        return ctx.user

    def _editable_dataset(self, ctx: Context, ref: str) -> dict[str, Any]:
        """The dataset a write targets: 401 → 404 → 410 → 403, in udata's order."""
        user = self._require_user(ctx)
        ds = self._visible_dataset(ctx, ref, allow_deleted=True)
        if ds.get("deleted"):
            raise ApiError(410, {"message": MSG_DELETED})
        if not self._portal.can_edit(user, ds):
            raise ApiError(403, {"message": MSG_FORBIDDEN})
        return ds

    def _visible_dataset(self, ctx: Context, ref: str, *, allow_deleted: bool = False) -> dict[str, Any]:
        ds = self._portal.find_dataset(ref)
        if ds is None or (ds.get("private") and not self._portal.can_edit(ctx.user, ds)):
            raise ApiError(404, {"message": MSG_NOT_FOUND})
        if ds.get("deleted") and not allow_deleted:
            raise ApiError(410, {"message": MSG_DELETED})
        return ds

    @staticmethod
    def _resource_of(ds: dict[str, Any], rid: str) -> dict[str, Any]:
        res = next((r for r in ds["resources"] if r["id"] == rid), None)
        if res is None:
            raise ApiError(404, {"message": MSG_RESOURCE_404})
        return res

    # ---------------------------------------------------------------------------------- reference
    def _ep_me(self, ctx: Context) -> Response:
        handle = self._require_user(ctx)
        user = self._portal.users[handle]
        orgs = [o for o in self._portal.organizations.values() if self._portal.is_member(handle, o["id"])]
        body = {
            **render_user(user, ctx.root),
            "email": user["email"],
            "about": None,
            "roles": [],
            "since": user["since"],
            "last_login_at": self._now_iso(),
            "organizations": [render_org_ref(o, ctx.root) for o in orgs],
            "metrics": {"datasets": 0, "followers": 0, "following": 0, "reuses": 0},
        }
        return _json_response(200, body)

    def _ep_frequencies(self, ctx: Context) -> Response:
        return _json_response(200, [{"id": k, "label": v} for k, v in FREQUENCIES.items()])

    def _ep_licenses(self, ctx: Context) -> Response:
        return _json_response(200, LICENSES)

    def _ep_extensions(self, ctx: Context) -> Response:
        return _json_response(200, sorted(ALLOWED_EXTENSIONS))

    def _ep_resource_types(self, ctx: Context) -> Response:
        return _json_response(200, [{"id": k, "label": v} for k, v in RESOURCE_TYPES.items()])

    def _ep_schemas(self, ctx: Context) -> Response:
        if not self.schemas_available:
            raise ApiError(503, {"message": MSG_SCHEMAS_503})
        return _json_response(200, [s.to_api() for s in self.catalogue.assignable()])

    # ------------------------------------------------------------------------------- organisations
    def _ep_organizations(self, ctx: Context) -> Response:
        args = ctx.request.args
        orgs = list(self._portal.organizations.values())
        if args.get("business_number_id"):
            orgs = [o for o in orgs if o.get("business_number_id") == args["business_number_id"]]
        if args.get("name"):
            orgs = [o for o in orgs if o["name"].casefold() == args["name"].casefold()]
        if args.get("q"):
            needle = args["q"].casefold()
            orgs = [
                o
                for o in orgs
                if needle in f"{o['name']} {o.get('acronym') or ''} {o['description']}".casefold()
            ]
        orgs.sort(key=lambda o: o["name"])
        return self._page(ctx, orgs, lambda o: render_org(self._portal, o, ctx.root))

    def _ep_organization(self, ctx: Context, org: str) -> Response:
        found = self._portal.find_organization(org)
        if found is None:
            raise ApiError(404, {"message": MSG_NOT_FOUND})
        return _json_response(200, render_org(self._portal, found, ctx.root))

    def _ep_organization_datasets(self, ctx: Context, org: str) -> Response:
        found = self._portal.find_organization(org)
        if found is None:
            raise ApiError(404, {"message": MSG_NOT_FOUND})
        member = self._portal.is_member(ctx.user, found["id"])
        items = [
            d
            for d in self._portal.datasets.values()
            if d.get("organization") == found["id"]
            and not d.get("deleted")
            and (member or not d.get("private"))
        ]
        items = self._sorted(ctx, items, default="-created")
        return self._page(ctx, items, lambda d: render_dataset(self._portal, d, ctx.root, ctx.user))

    # ------------------------------------------------------------------------------------ datasets
    def _ep_datasets(self, ctx: Context) -> Response:
        if ctx.request.method == "POST":
            return self._create_dataset(ctx)
        args = ctx.request.args
        items = [d for d in self._portal.datasets.values() if not d.get("deleted") and not d.get("private")]
        org = args.get("organization")
        if org is not None:
            if not OBJECT_ID.match(org):
                raise ApiError(
                    400, {"message": f"`{org}` is not a valid identifier for the organization filter"}
                )
            items = [d for d in items if d.get("organization") == org]
        if args.get("owner"):
            owner = args["owner"]
            items = [
                d
                for d in items
                if d.get("owner") and owner in (d["owner"], self._portal.users.get(d["owner"], {}).get("id"))
            ]
        for tag in args.getlist("tag"):
            items = [d for d in items if slugify(tag) in d.get("tags", [])]
        if args.get("license"):
            items = [d for d in items if (d.get("license") or DEFAULT_LICENSE) == args["license"]]
        if args.get("format"):
            fmt = args["format"].lower()
            items = [d for d in items if any(r.get("format") == fmt for r in d["resources"])]
        if args.get("schema"):
            name, version = args["schema"], args.get("schema_version")
            items = [
                d
                for d in items
                if any(
                    (r.get("schema") or {}).get("name") == name
                    and (version is None or (r.get("schema") or {}).get("version") == version)
                    for r in d["resources"]
                )
            ]
        if args.get("q"):
            needle = args["q"].casefold()
            items = [
                d
                for d in items
                if needle in f"{d['title']} {d.get('acronym') or ''} {d['description']}".casefold()
            ]
        items = self._sorted(ctx, items, default="-created")
        return self._page(ctx, items, lambda d: render_dataset(self._portal, d, ctx.root, ctx.user))

    def _create_dataset(self, ctx: Context) -> Response:
        user = self._require_user(ctx)
        if self.read_only:
            raise ApiError(423, {"message": MSG_READ_ONLY})
        body = _json_object(ctx.request)
        errors: dict[str, Any] = {}
        try:
            values = clean_dataset_form(body, None)
        except FormError as exc:
            errors.update(exc.errors)
            values = {}
        org_id: str | None = None
        ref = organization_ref(body.get("organization"))
        if ref is not None:
            org = self._portal.find_organization(ref) if ref else None
            if org is None:
                errors["organization"] = ["Unknown organization"]
            elif not self._portal.is_member(user, org["id"]):
                errors["organization"] = ["Permission denied for this organization"]
            else:
                org_id = org["id"]
        if errors:
            raise ApiError(400, {"errors": errors})
        now = self._now()
        ds_id = self._portal.next_object_id(int(now.timestamp()))
        record: dict[str, Any] = {
            "id": ds_id,
            "slug": self._portal.unique_dataset_slug(slugify(values["title"])),
            "_old_slugs": [],
            "acronym": None,
            "description_short": None,
            "frequency_date": None,
            "featured": False,
            "deleted": None,
            "archived": None,
            "organization": org_id,
            "owner": None if org_id else user,
            "resources": [],
            "created_at": _iso(now),
            "last_modified": _iso(now),
            "last_update": _iso(now),
            **values,
        }
        if "resources" in body:
            self._set_resources(record, self._prepare_resources(record, body["resources"]))
        self._portal.datasets[ds_id] = record
        return _json_response(201, render_dataset(self._portal, record, ctx.root, user))

    def _ep_dataset(self, ctx: Context, dataset: str) -> Response:
        method = ctx.request.method
        if method in ("GET", "HEAD"):
            return _json_response(
                200, render_dataset(self._portal, self._visible_dataset(ctx, dataset), ctx.root, ctx.user)
            )
        ds = self._editable_dataset(ctx, dataset)
        if method == "DELETE":
            ds["deleted"] = self._now_iso()
            ds["last_modified"] = ds["deleted"]
            return Response(b"", status=204)
        body = _json_object(ctx.request)
        current = {k: v for k, v in ds.items() if not k.startswith("_")}
        try:
            values = clean_dataset_form(body, current)
        except FormError as exc:
            raise ApiError(400, {"errors": exc.errors}) from None
        resources = self._prepare_resources(ds, body["resources"]) if "resources" in body else None
        if values["title"] != ds["title"]:
            new_slug = self._portal.unique_dataset_slug(slugify(values["title"]), exclude_id=ds["id"])
            if new_slug != ds["slug"]:
                ds["_old_slugs"] = [*ds.get("_old_slugs", []), ds["slug"]]
                ds["slug"] = new_slug
        ds.update(values)  # organisation and owner are not in the form: they cannot change
        if resources is not None:
            self._set_resources(ds, resources)
        ds["last_modified"] = self._now_iso()
        return _json_response(200, render_dataset(self._portal, ds, ctx.root, ctx.user))

    def _prepare_resources(self, ds: dict[str, Any], items: Any) -> list[dict[str, Any]]:
        """``resources`` sent with a dataset replaces the list (known ids updated, new remotes created).

        Validates every item first (errors nested per item, as WTForms' FieldList does) and returns the new
        list without touching the dataset, so a 400 leaves the portal unchanged.
        """
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ApiError(400, {"errors": {"resources": ["Resources must be a list of objects."]}})
        existing = {r["id"]: r for r in ds["resources"]}
        errors: list[dict[str, Any]] = []
        cleaned: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
        for item in items:
            current = existing.get(item.get("id") or "")
            try:
                if current is None and item.get("filetype") != "remote":
                    raise FormError({"filetype": [MSG_REMOTE_ONLY]})  # files arrive through /upload/
                cleaned.append((current, self._clean_resource(item, current)))
                errors.append({})
            except FormError as exc:
                errors.append(exc.errors)
        if any(errors):
            raise ApiError(400, {"errors": {"resources": errors}})
        now = self._now_iso()
        new_list = []
        for current, values in cleaned:
            record = dict(current) if current is not None else self._new_resource_record("remote", now)
            record.update(values)
            new_list.append(record)
        return new_list

    def _set_resources(self, ds: dict[str, Any], new_list: list[dict[str, Any]]) -> None:
        for gone in {r["id"] for r in ds["resources"]} - {r["id"] for r in new_list}:
            self._portal.drop_file(gone)
        ds["resources"] = new_list
        ds["last_update"] = self._now_iso()

    def _clean_resource(self, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        return clean_resource_form(body, current, self.catalogue, allow_local_urls=self.allow_local_urls)

    # ----------------------------------------------------------------------------------- resources
    def _ep_resources(self, ctx: Context, dataset: str) -> Response:
        ds = self._editable_dataset(ctx, dataset)
        if ctx.request.method == "PUT":
            return self._reorder(ctx, ds)
        body = _json_object(ctx.request)
        if body.get("filetype") != "remote":
            raise ApiError(400, {"message": MSG_REMOTE_ONLY})
        try:
            values = self._clean_resource(body, None)
        except FormError as exc:
            raise ApiError(400, {"errors": exc.errors}) from None
        now = self._now_iso()
        res = self._new_resource_record("remote", now)
        res.update(values)
        ds["resources"].insert(0, res)  # udata puts new resources first
        ds["last_update"] = ds["last_modified"] = now
        return _json_response(201, render_resource(self._portal, res, ctx.root))

    def _reorder(self, ctx: Context, ds: dict[str, Any]) -> Response:
        body = _json_body(ctx.request)
        if not isinstance(body, list):
            raise ApiError(400, {"message": "Resources order must be a list"})
        ids = [item.get("id") if isinstance(item, dict) else item for item in body]
        current = [r["id"] for r in ds["resources"]]
        if len(ids) != len(current) or set(ids) != set(current):
            raise ApiError(400, {"message": "Resources list does not match the dataset's resources"})
        by_id = {r["id"]: r for r in ds["resources"]}
        ds["resources"] = [by_id[i] for i in ids]
        ds["last_modified"] = self._now_iso()
        return _json_response(200, [render_resource(self._portal, r, ctx.root) for r in ds["resources"]])

    def _ep_resource(self, ctx: Context, dataset: str, rid: str) -> Response:
        method = ctx.request.method
        if method in ("GET", "HEAD"):
            ds = self._visible_dataset(ctx, dataset)
            return _json_response(200, render_resource(self._portal, self._resource_of(ds, rid), ctx.root))
        ds = self._editable_dataset(ctx, dataset)
        res = self._resource_of(ds, rid)
        now = self._now_iso()
        if method == "DELETE":
            ds["resources"].remove(res)
            self._portal.drop_file(rid)
            ds["last_update"] = ds["last_modified"] = now
            return Response(b"", status=204)
        body = _json_object(ctx.request)
        try:
            values = self._clean_resource(body, res)
        except FormError as exc:
            raise ApiError(400, {"errors": exc.errors}) from None
        res.update(values)
        res["last_modified"] = now
        ds["last_update"] = ds["last_modified"] = now
        return _json_response(200, render_resource(self._portal, res, ctx.root))

    # -------------------------------------------------------------------------------------- uploads
    def _ep_upload(self, ctx: Context, dataset: str) -> Response:
        ds = self._editable_dataset(ctx, dataset)
        received = self._receive_upload(ctx)
        if isinstance(received, Response):
            return received
        filename, data = received
        now = self._now_iso()
        res = self._new_resource_record("file", now)
        res["type"] = "main"
        self._host_file(ds, res, filename, data)
        ds["resources"].insert(0, res)
        ds["last_update"] = ds["last_modified"] = now
        return _json_response(201, {**render_resource(self._portal, res, ctx.root), "success": True})

    def _ep_upload_replace(self, ctx: Context, dataset: str, rid: str) -> Response:
        ds = self._editable_dataset(ctx, dataset)
        res = self._resource_of(ds, rid)
        received = self._receive_upload(ctx)
        if isinstance(received, Response):
            return received
        filename, data = received
        self._portal.drop_file(rid)  # the previous stored file is deleted
        res["filetype"] = "file"
        self._host_file(ds, res, filename, data)
        now = self._now_iso()
        res["last_modified"] = now
        ds["last_update"] = ds["last_modified"] = now
        return _json_response(200, render_resource(self._portal, res, ctx.root))

    def _receive_upload(self, ctx: Context) -> tuple[str, bytes] | Response:
        """Plain multipart upload, or one step of the chunked protocol (§5.5)."""
        form, files = ctx.request.form, ctx.request.files
        upload = files.get("file")
        chunk_id = form.get("uuid")
        if chunk_id and upload is not None and form.get("partindex") is not None:
            data = upload.read()
            try:
                index = int(form["partindex"])
                chunksize = int(form.get("chunksize", "-1"))
                total = int(form.get("totalparts", "0"))
            except ValueError:
                raise ApiError(400, {"success": False, "error": "Invalid chunk parameters"}) from None
            if chunksize != len(data):
                raise ApiError(400, {"success": False, "error": "Chunk size mismatch"})
            if total <= 1 or not 0 <= index < total:
                raise ApiError(400, {"success": False, "error": "Invalid chunk parameters"})
            self._chunks.setdefault(chunk_id, {})[index] = data
            return _json_response(200, {"success": True})
        if chunk_id and upload is None:
            parts = self._chunks.get(chunk_id, {})
            try:
                total = int(form.get("totalparts", "0"))
            except ValueError:
                total = 0
            if not parts or total != len(parts) or sorted(parts) != list(range(total)):
                raise ApiError(400, {"success": False, "error": "Missing chunks to assemble the file"})
            del self._chunks[chunk_id]
            filename = form.get("filename") or "file"
            return self._check_upload(ctx, filename, b"".join(parts[i] for i in range(total)))
        if upload is None:
            raise ApiError(400, {"success": False, "error": "Missing file parameter"})
        return self._check_upload(ctx, upload.filename or "file", upload.read())

    def _check_upload(self, ctx: Context, filename: str, data: bytes) -> tuple[str, bytes]:
        if file_extension(filename) not in ALLOWED_EXTENSIONS:
            raise ApiError(
                400,
                {
                    "message": "This file type is not allowed."
                    f"The allowed file type list is available at {ctx.root}/api/1/datasets/extensions/"
                },
            )
        if looks_like_html(data):
            raise ApiError(415, {"message": MSG_HTML})
        return filename, data

    def _host_file(self, ds: dict[str, Any], res: dict[str, Any], filename: str, data: bytes) -> None:
        """Store the bytes and set what udata derives from them (title reset to the stored file name)."""
        name = normalize_filename(filename)
        ext = file_extension(name)
        path = self._portal.store_file(f"{ds['slug']}/{self._now().strftime('%Y%m%d-%H%M%S')}", name, data)
        self._portal.resource_paths[res["id"]] = path
        res.update(
            title=name,
            format=ext or None,
            mime=_mime_for(name),
            filesize=len(data),
            checksum={"type": "sha1", "value": hashlib.sha1(data, usedforsecurity=False).hexdigest()},
            url=None,  # rendered from the storage path and the portal root
        )

    # -------------------------------------------------------------------------------- public files
    def _ep_latest(self, ctx: Context, rid: str) -> Response:
        for ds in self._portal.datasets.values():
            for res in ds["resources"]:
                if res["id"] == rid and not ds.get("deleted"):
                    if ds.get("private") and not self._portal.can_edit(ctx.user, ds):
                        break
                    return Response(
                        b"", status=302, headers={"Location": resource_url(self._portal, res, ctx.root)}
                    )
        raise ApiError(404, {"message": MSG_NOT_FOUND})

    def _ep_static(self, ctx: Context, path: str) -> Response:
        data = self._portal.files.get(path)
        if data is None:
            return Response(_nginx_page(404, "Not Found"), status=404, content_type="text/html")
        return Response(data, status=200, content_type=_mime_for(path))

    # -------------------------------------------------------------------------------- pagination
    def _sorted(self, ctx: Context, items: list[dict[str, Any]], default: str) -> list[dict[str, Any]]:
        sort = ctx.request.args.get("sort") or default
        reverse = sort.startswith("-")
        key_name = sort.lstrip("-")
        keys: dict[str, Callable[[dict[str, Any]], Any]] = {
            "title": lambda d: d["title"].casefold(),
            "created": lambda d: d["created_at"],
            "last_update": lambda d: d["last_update"],
            "last_modified": lambda d: d["last_modified"],
            "reuses": lambda d: 0,
            "followers": lambda d: 0,
            "views": lambda d: 0,
        }
        if key_name not in keys:
            raise ApiError(
                400,
                {
                    "errors": {"sort": f"The value '{sort}' is not a valid choice for 'sort'."},
                    "message": "Input payload validation failed",
                },
            )
        return sorted(items, key=lambda d: (keys[key_name](d), d["id"]), reverse=reverse)

    def _page(self, ctx: Context, items: list[Any], render: Callable[[Any], Any]) -> Response:
        args = ctx.request.args
        values = {}
        for name, default in (("page", 1), ("page_size", 20)):
            raw = args.get(name)
            try:
                value = default if raw in (None, "") else int(raw)
            except ValueError:
                value = 0
            if value < 1:
                raise ApiError(
                    400,
                    {
                        "errors": {name: f"{name} must be a positive integer"},
                        "message": "Input payload validation failed",
                    },
                )
            values[name] = value
        page, size = values["page"], values["page_size"]
        start = (page - 1) * size
        chunk = items[start : start + size]

        def link(number: int) -> str:
            query = [(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", str(number))]
            return f"{ctx.root}{ctx.request.path}?{urlencode(query)}"

        return _json_response(
            200,
            {
                "data": [render(item) for item in chunk],
                "page": page,
                "page_size": size,
                "total": len(items),
                "next_page": link(page + 1) if start + size < len(items) else None,
                "previous_page": link(page - 1) if page > 1 and items else None,
            },
        )

    # ------------------------------------------------------------------------------------ helpers
    def _now(self) -> datetime:
        return self.clock.now()

    def _now_iso(self) -> str:
        return _iso(self.clock.now())

    def _new_resource_record(self, filetype: str, now: str) -> dict[str, Any]:
        return {
            "id": str(uuid.uuid4()),
            "title": "",
            "description": None,
            "filetype": filetype,
            "type": "other",
            "format": None,
            "mime": None,
            "filesize": None,
            "url": None,
            "checksum": None,
            "created_at": now,
            "last_modified": now,
            "schema": None,
            "extras": {},
        }

    def _seed(self) -> None:
        """Default portal: the demo user, Mégalis (simulation) and a few Breton collectivités."""
        now = self._now_iso()
        self._portal.ensure_user(DEMO_USER, now)
        self._portal.add_organization(
            DEMO_ORG_NAME,
            now,
            members=[DEMO_USER],
            slug=DEMO_ORG_SLUG,
            description="Syndicat mixte de coopération territoriale — organisation de démonstration.",
        )
        for name, siret, member in SEED_COLLECTIVITES:
            self._portal.add_organization(
                name, now, business_number_id=siret, members=[DEMO_USER] if member else []
            )


class _QuietRequestHandler(WSGIRequestHandler):
    """No access log line per request (tests and the demo read ``request_log`` instead); errors still log."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class SimulatorServer:
    """A werkzeug threaded server running a simulator in a background thread (or in the CLI's thread)."""

    def __init__(
        self, app: DatagouvSimulator, host: str = "127.0.0.1", port: int = 0, *, access_log: bool = False
    ) -> None:
        self.app = app
        handler = WSGIRequestHandler if access_log else _QuietRequestHandler
        self._server: BaseWSGIServer = make_server(host, port, app, threaded=True, request_handler=handler)
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="datagouv-sim",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Portal root (the API is under ``/api/1/``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        self.app.root_url = self.url
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve_forever(self) -> None:
        """Serve in the calling thread (the CLI); returns on KeyboardInterrupt."""
        self.app.root_url = self.url
        try:
            self._server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            self._server.server_close()


# ------------------------------------------------------------------------------------------ routing table
_RULES = [
    Rule("/api/1/me/", endpoint="me", methods=["GET"]),
    Rule("/api/1/datasets/", endpoint="datasets", methods=["GET", "POST"]),
    Rule("/api/1/datasets/frequencies/", endpoint="frequencies", methods=["GET"]),
    Rule("/api/1/datasets/licenses/", endpoint="licenses", methods=["GET"]),
    Rule("/api/1/datasets/extensions/", endpoint="extensions", methods=["GET"]),
    Rule("/api/1/datasets/resource_types/", endpoint="resource_types", methods=["GET"]),
    Rule("/api/1/datasets/schemas/", endpoint="schemas", methods=["GET"]),
    Rule("/api/1/datasets/<dataset>/", endpoint="dataset", methods=["GET", "PUT", "DELETE"]),
    Rule("/api/1/datasets/<dataset>/upload/", endpoint="upload", methods=["POST"]),
    Rule("/api/1/datasets/<dataset>/resources/", endpoint="resources", methods=["POST", "PUT"]),
    Rule("/api/1/datasets/<dataset>/resources/<rid>/", endpoint="resource", methods=["GET", "PUT", "DELETE"]),
    Rule("/api/1/datasets/<dataset>/resources/<rid>/upload/", endpoint="upload_replace", methods=["POST"]),
    Rule("/api/1/organizations/", endpoint="organizations", methods=["GET"]),
    Rule("/api/1/organizations/<org>/", endpoint="organization", methods=["GET"]),
    Rule("/api/1/organizations/<org>/datasets/", endpoint="organization_datasets", methods=["GET"]),
    Rule("/datasets/r/<rid>", endpoint="latest", methods=["GET"]),
    Rule("/static/resources/<path:path>", endpoint="static", methods=["GET"]),
]


# ------------------------------------------------------------------------------------------- functions
def _api_key(request: Request) -> str | None:
    """``X-API-KEY`` (or an OAuth2 bearer token); an empty header counts as absent, as in udata."""
    key = request.headers.get("X-API-KEY")
    if key:
        return key
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer ") and auth[7:].strip():
        return auth[7:].strip()
    return None


def _json_body(request: Request) -> Any:
    """JSON writes need a JSON content type (exact udata body) and a decodable payload."""
    if "application/json" not in request.headers.get("Content-Type", ""):
        raise ApiError(400, {"errors": {"Content-Type": "expecting application/json"}})
    try:
        return json.loads(request.get_data() or b"null")
    except ValueError:
        raise ApiError(
            400, {"message": "The browser (or proxy) sent a request that this server could not understand."}
        ) from None


def _json_object(request: Request) -> dict[str, Any]:
    body = _json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, {"errors": {"request": "expecting a JSON object"}})
    return body


def _masked(request: Request, response: Response) -> Response:
    """Apply an ``X-Fields`` mask to a successful JSON answer (bad mask → 400, as flask-restx does)."""
    header = request.headers.get("X-Fields")
    if not header or response.mimetype != "application/json" or not 200 <= response.status_code < 300:
        return response
    try:
        mask = parse_mask(header)
    except MaskError as exc:
        raise ApiError(400, {"message": f"Mask parse error: {exc}"}) from None
    body = apply_mask(json.loads(response.get_data()), mask)
    return _json_response(
        response.status_code,
        body,
        {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")},
    )


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(_json_bytes(body), status=status, headers=headers or {}, content_type="application/json")


def _iso(moment: datetime) -> str:
    """udata's dates: ISO 8601 with an explicit offset."""
    return moment.isoformat()


def _mime_for(name: str) -> str:
    ext = file_extension(name)
    known = {
        "csv": "text/csv",
        "json": "application/json",
        "geojson": "application/geo+json",
        "xml": "application/xml",
        "parquet": "application/vnd.apache.parquet",
    }
    return known.get(ext) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _status_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
