"""``PastellSimulator``: the platform state, its test/demo controls, and a threaded HTTP server around it."""

from __future__ import annotations

import hashlib
import json
import random
import re
import string
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from regate.clock import PARIS, Clock, SystemClock
from regate_local.pastell_sim.api import (
    ApiError,
    PastellApi,
    Request,
    Response,
    error_response,
    json_response,
    parse_form,
)
from regate_local.pastell_sim.files import aractes_xml, bordereau_pdf, make_id_acte
from regate_local.pastell_sim.flux import ACTIONS_FROM_STATE, STATES, FluxDefinition, default_flux
from regate_local.pastell_sim.seed import PastellSeed, act_context, default_seed
from regate_local.pastell_sim.state import (
    DOCUMENT_ACTION,
    Account,
    Document,
    FileSlot,
    HistoryEntry,
    Platform,
)

ID_ALPHABET = string.ascii_letters + string.digits
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_HTTP_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class RequestLogEntry:
    """One request as the simulator saw it (``query`` values are lists only for repeated keys)."""

    method: str
    path: str
    query: dict[str, str | list[str]]
    status: int
    account: str | None


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int
    headers: dict[str, str]
    body: bytes | None
    method: str
    kind: str = "status"  # status | slow | endless
    delay_s: float = 0.0
    chunk: int = 1
    total: int | None = None  # endless: stop after this many bytes (None: never)
    content_type: str = "application/json; charset=utf-8"
    declared_length: int | None = None


@dataclass
class ProxyBehaviour:
    """What a reverse proxy (or an old platform version) in front of Pastell does to listings."""

    page_cap: int | None = None  # at most this many rows per page, whatever ``limit`` says
    ignore_offset: bool = False  # the ``offset`` parameter is dropped: every page is the first


def _drip(body: bytes, chunk: int, delay_s: float) -> Iterator[bytes]:
    """The body ``chunk`` bytes at a time, one piece every ``delay_s`` seconds (real time)."""
    for start in range(0, len(body), max(chunk, 1)):
        time.sleep(delay_s)
        yield body[start : start + max(chunk, 1)]


def _endless(chunk: int, total: int | None) -> Iterator[bytes]:
    """``[`` then JSON-looking filler forever (or up to ``total`` bytes): never a complete document."""
    piece = (b'{"id_d": "xxxxxxx", "filler": "' + b"x" * 1000 + b'"}, ') * max(chunk // 1040, 1)
    sent = 0
    yield b"["
    while total is None or sent < total:
        yield piece
        sent += len(piece)


class LoginRateLimiter:
    """Symfony fixed-window limiter: 5 authentication attempts per minute per client IP (§3)."""

    def __init__(self, clock: Clock, limit: int = 5, window_seconds: int = 60) -> None:
        self.clock = clock
        self.limit = limit
        self.window_seconds = window_seconds
        self._windows: dict[str, tuple[float, int]] = {}

    def consume(self, key: str) -> bool:
        now = self.clock.now().timestamp()
        start, used = self._windows.get(key, (now, 0))
        if now - start >= self.window_seconds:
            start, used = now, 0
        if used >= self.limit:
            self._windows[key] = (start, used)
            return False
        self._windows[key] = (start, used + 1)
        return True

    def reset(self, key: str) -> None:
        self._windows.pop(key, None)


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are in ``sim.request_log``; stderr stays clean for tests and the demo."""


class SimulatorServer:
    """A running simulator; ``url`` is the Pastell root (clients add ``/api/v2/…``)."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        self._httpd = make_server(
            host, port, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.host = host
        self.port = int(self._httpd.server_address[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.url = f"http://{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="pastell-sim", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SimulatorServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PastellSimulator:
    """A Pastell 4.x platform in memory, served over HTTP by :meth:`serve`.

    Thread-safe: the HTTP threads and the test's control calls share one re-entrant lock.
    """

    def __init__(
        self,
        seed: PastellSeed | None = None,
        latency_ms: int = 0,
        clock: Clock | None = None,
        flux: dict[str, FluxDefinition] | None = None,
    ) -> None:
        self.seed = seed if seed is not None else default_seed()
        self.latency_ms = latency_ms
        self.clock: Clock = clock or SystemClock()
        self.platform = Platform(self.seed, flux or default_flux())
        self.limiter = LoginRateLimiter(self.clock)
        self.api = PastellApi(self)
        self.mutations = _Mutations(self)
        self.lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._log: list[RequestLogEntry] = []
        self.proxy = ProxyBehaviour()
        digest = hashlib.sha256(json.dumps(self.seed.model_dump(), sort_keys=True).encode()).hexdigest()
        self._rng = random.Random(int(digest[:16], 16))

    # --- serving -----------------------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
        """Start a threaded HTTP server in the background; use as a context manager (or call ``close()``)."""
        return SimulatorServer(self.wsgi_app, host, port)

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI entry point (usable under any WSGI server)."""
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        req = Request(method, path, query, headers, body, environ.get("REMOTE_ADDR", "127.0.0.1"))
        response, _login = self.handle(req, content_type=environ.get("CONTENT_TYPE", ""))
        reason = _HTTP_REASONS.get(response.status, "Error")
        # PHP writes header bytes as they are (UTF-8 file names included); WSGI carries bytes as latin-1 str.
        out_headers = [(k, v.encode("utf-8").decode("latin-1")) for k, v in response.headers]
        if response.stream is not None:  # injected slow or endless body: no length (or a declared one)
            start_response(f"{response.status} {reason}", out_headers)
            return response.stream
        out_headers.append(("Content-Length", str(len(response.body))))
        start_response(f"{response.status} {reason}", out_headers)
        return [response.body]

    def handle(self, req: Request, content_type: str = "") -> tuple[Response, str | None]:
        """Latency, injected faults, then the API; every request lands in the log."""
        if self.latency_ms > 0:
            self.clock.sleep(self.latency_ms / 1000)
        with self.lock:
            fault = self._take_fault(req.method, req.path)
            login: str | None = None
            if fault is not None and fault.kind == "status":
                response = self._fault_response(fault)
            elif fault is not None and fault.kind == "endless":
                headers = [("Content-type", fault.content_type), *fault.headers.items()]
                if fault.declared_length is not None:
                    headers.append(("Content-Length", str(fault.declared_length)))
                response = Response(fault.status, b"", headers, _endless(fault.chunk, fault.total))
            else:
                if req.method in ("POST", "PATCH") and req.body:
                    try:
                        req.form, req.uploads = parse_form(content_type, req.body)
                    except ApiError as exc:
                        response = error_response(exc.status, exc.message)
                        self._record(req, response.status, None)
                        return response, None
                response, login = self.api.handle(req)
                if fault is not None:  # slow: the real answer, dripped (same status, headers, bytes)
                    body = fault.body if fault.body is not None else response.body
                    response = Response(
                        response.status, body, response.headers, _drip(body, fault.chunk, fault.delay_s)
                    )
            self._record(req, response.status, login)
        return response, login

    def _record(self, req: Request, status: int, login: str | None) -> None:
        flat: dict[str, str | list[str]] = {k: v[0] if len(v) == 1 else list(v) for k, v in req.query.items()}
        self._log.append(RequestLogEntry(req.method, req.path, flat, status, login))

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining <= 0 or fault.method not in (method, "*") or not fault.pattern.search(path):
                continue
            fault.remaining -= 1
            return fault
        return None

    @staticmethod
    def _fault_response(fault: _Fault) -> Response:
        if fault.body is not None:
            return Response(
                fault.status,
                fault.body,
                [("Content-type", "application/json; charset=utf-8"), *fault.headers.items()],
            )
        response = error_response(fault.status, f"Erreur simulée (HTTP {fault.status})")
        response.headers.extend(fault.headers.items())
        return response

    # --- controls for tests and demos --------------------------------------------------------------------

    @property
    def request_log(self) -> list[RequestLogEntry]:
        with self.lock:
            return list(self._log)

    def reset_log(self) -> None:
        with self.lock:
            self._log.clear()

    def inject_fault(
        self,
        path_regex: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        method: str = "GET",
    ) -> None:
        """The next ``times`` requests whose path matches (``re.search``) fail; method ``*`` = any."""
        with self.lock:
            self._faults.append(
                _Fault(re.compile(path_regex), status, times, dict(headers or {}), body, method.upper())
            )

    def inject_slow_body(
        self,
        path_regex: str,
        delay_s: float = 0.5,
        chunk: int = 1,
        times: int = 1,
        body: bytes | None = None,
        method: str = "GET",
    ) -> None:
        """The next ``times`` matching requests get their real answer (or ``body``) dripped: ``chunk``
        bytes every ``delay_s`` seconds of real time, as a struggling link or a tarpit would."""
        with self.lock:
            self._faults.append(
                _Fault(
                    re.compile(path_regex),
                    200,
                    times,
                    {},
                    body,
                    method.upper(),
                    kind="slow",
                    delay_s=delay_s,
                    chunk=chunk,
                )
            )

    def inject_endless_body(
        self,
        path_regex: str,
        times: int = 1,
        status: int = 200,
        total_bytes: int | None = None,
        chunk: int = 1024 * 1024,
        content_type: str = "application/json; charset=utf-8",
        declared_length: int | None = None,
        method: str = "GET",
    ) -> None:
        """The next ``times`` matching requests answer a body that never ends (``total_bytes`` None) or is
        huge — JSON-looking filler, ``chunk`` bytes per write, ``declared_length`` as Content-Length."""
        with self.lock:
            self._faults.append(
                _Fault(
                    re.compile(path_regex),
                    status,
                    times,
                    {},
                    None,
                    method.upper(),
                    kind="endless",
                    chunk=chunk,
                    total=total_bytes,
                    content_type=content_type,
                    declared_length=declared_length,
                )
            )

    def set_proxy(self, page_cap: int | None = None, ignore_offset: bool = False) -> None:
        """Put a proxy in front of the listings: page size capped, or the offset dropped."""
        with self.lock:
            self.proxy = ProxyBehaviour(page_cap=page_cap, ignore_offset=ignore_offset)

    def now_str(self) -> str:
        """Platform local time (Europe/Paris), the way Pastell stamps its dates."""
        return self.clock.now().astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")

    def new_id_d(self, uuid: bool = False) -> str:
        """A fresh id: 7 random characters (3.x style) or a UUIDv4 (4.x), unique on the platform."""
        with self.lock:
            while True:
                if uuid:
                    raw = bytearray(self._rng.getrandbits(8) for _ in range(16))
                    raw[6] = (raw[6] & 0x0F) | 0x40
                    raw[8] = (raw[8] & 0x3F) | 0x80
                    h = raw.hex()
                    candidate = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
                else:
                    candidate = "".join(self._rng.choice(ID_ALPHABET) for _ in range(7))
                if candidate not in self.platform.documents:
                    return candidate

    def _doc(self, id_e: str, id_d: str) -> Document:
        doc = self.platform.documents.get(id_d)
        if doc is None or doc.id_e != id_e:
            raise KeyError(f"Le document {id_d} n'appartient pas à l'entité {id_e}")
        return doc

    @staticmethod
    def _check_ts(at: str) -> str:
        if not TIMESTAMP_RE.match(at):
            raise ValueError(f"{at!r}: expected 'YYYY-MM-DD HH:MM:SS'")
        return at

    def add_document(
        self,
        id_e: str,
        flux: str,
        data: dict[str, Any],
        files: dict[str, list[tuple[str, bytes | None]]] | None = None,
        history: list[tuple[str, str]] | None = None,
        id_d: str | None = None,
    ) -> str:
        """Create a document as if an agent had filled it in; returns its ``id_d``.

        A file given with ``None`` bytes has its slot set but is missing on disk (download: 400).
        """
        with self.lock:
            if id_e not in self.platform.entities:
                raise KeyError(f"L'entité {id_e} n'existe pas")
            if flux not in self.platform.flux:
                raise KeyError(f"Type {flux} introuvable")
            if id_d is not None and id_d in self.platform.documents:
                raise ValueError(f"id_d {id_d} already exists")
            new_id = id_d or self.new_id_d()
            if history:
                steps = [(state, self._check_ts(at)) for state, at in history]
            else:
                now = self.now_str()
                steps = [("creation", now), ("modification", now)]
            entries = [HistoryEntry(state, at, STATES.get(state, (state, state))[1]) for state, at in steps]
            doc = Document(
                new_id,
                id_e,
                flux,
                {k: str(v) for k, v in data.items()},
                {k: [FileSlot(n, c) for n, c in v] for k, v in (files or {}).items()},
                [],
                entries[0].date,
                entries[-1].date,
            )
            self.platform.documents[new_id] = doc
            for entry in entries:
                self._append(doc, entry)
            return new_id

    def _append(self, doc: Document, entry: HistoryEntry) -> None:
        doc.history.append(entry)
        doc.modification = max(doc.modification, entry.date)
        self.platform.log_event(DOCUMENT_ACTION, doc, entry.action, entry.message, entry.date, entry.id_u)

    def transition(self, id_e: str, id_d: str, state: str, at: str, fill: bool = True) -> None:
        """Append ``state`` to the action history at ``at``.

        Entering ``acquiter-tdt`` fills what the TdT returns (``date_ar``, ``acte_unique_id``, ARActe,
        bordereau, stamped act) unless already set or ``fill`` is False, as a real acknowledgement does.
        """
        with self.lock:
            doc = self._doc(id_e, id_d)
            self._check_ts(at)
            if state == "acquiter-tdt" and fill:
                self._acknowledge(doc, at[:10])
            self._append(doc, HistoryEntry(state, at, STATES.get(state, (state, state))[1]))

    def _acknowledge(self, doc: Document, date_ar: str) -> None:
        entity = self.platform.entities[doc.id_e]
        data = doc.data
        data.setdefault("date_ar", date_ar)
        data.setdefault("has_bordereau", "1")
        data.setdefault("tedetis_transaction_id", str(self._rng.randint(1_000_000, 9_999_999)))
        nature = data.get("acte_nature", "6")
        if entity.siren and nature in "123456" and "date_de_lacte" in data and "numero_de_lacte" in data:
            data.setdefault(
                "acte_unique_id",
                make_id_acte(
                    entity.departement or "000",
                    entity.siren,
                    data["date_de_lacte"],
                    data["numero_de_lacte"],
                    nature,
                ),
            )
        files = doc.files
        names = {k: [s.name for s in v] for k, v in files.items()}
        ctx = act_context(doc, entity, data)
        ctx = ctx.__class__(
            **{
                **ctx.__dict__,
                "main_name": (names.get("arrete") or [ctx.main_name])[0],
                "annex_names": tuple(names.get("autre_document_attache", [])),
            }
        )
        numero = ctx.numero
        if "aractes" not in files:
            files["aractes"] = [FileSlot(f"{numero}-ar-actes.xml", aractes_xml(ctx))]
        if "bordereau" not in files:
            files["bordereau"] = [FileSlot(f"{numero}-bordereau-tdt.pdf", bordereau_pdf(ctx))]
        if "acte_tamponne" not in files and files.get("arrete"):
            from regate_local.pastell_sim.files import acte_tampon_pdf

            stem = files["arrete"][0].name.rsplit(".", 1)[0]
            files["acte_tamponne"] = [FileSlot(f"{stem}-tampon.pdf", acte_tampon_pdf(ctx))]

    def set_data(self, id_e: str, id_d: str, **fields: Any) -> None:
        """Change form values (e.g. correct ``objet``); the modification date moves to now."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            for key, value in fields.items():
                if value is None:
                    doc.data.pop(key, None)
                else:
                    doc.data[key] = str(value)
            doc.modification = self.now_str()

    def set_file(self, id_e: str, id_d: str, field: str, num: int, name: str, content: bytes) -> None:
        """Replace file ``num`` of ``field`` (or append it when ``num`` is the next index)."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            slots = doc.files.setdefault(field, [])
            if num < 0 or num > len(slots):
                raise IndexError(f"{field}/{num}: the field has {len(slots)} file(s)")
            slot = FileSlot(name, content)
            if num == len(slots):
                slots.append(slot)
            else:
                slots[num] = slot
            doc.modification = self.now_str()

    def lose_file(self, id_e: str, id_d: str, field: str, num: int = 0) -> None:
        """The slot stays set (the detail names the file) but the file is gone from disk: the download
        answers 400 ``Ce fichier n'existe pas`` — as on platforms where files were purged (R15-like)."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            slots = doc.files.get(field, [])
            if not 0 <= num < len(slots):
                raise IndexError(f"{field}/{num}: the field has {len(slots)} file(s)")
            slots[num] = FileSlot(slots[num].name, None)

    def cancel(self, id_e: str, id_d: str, at: str) -> None:
        """Cancellation after acknowledgement: annulation-tdt → verif-annulation-tdt → annuler-tdt."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            self._check_ts(at)
            for state in ("annulation-tdt", "verif-annulation-tdt", "annuler-tdt"):
                self._append(doc, HistoryEntry(state, at, STATES[state][1]))
            doc.data.setdefault("tedetis_annulation_id", str(self._rng.randint(1_000_000, 9_999_999)))
            doc.data["date_ar_annulation"] = at[:10]

    def delete(self, id_e: str, id_d: str, at: str) -> None:
        """Action ``supression``: journalised, then the document disappears."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            self._check_ts(at)
            self._append(doc, HistoryEntry("supression", at, STATES["supression"][1]))
            del self.platform.documents[id_d]

    def write_depot_zip(self, id_e: str, id_d: str, folder: Path) -> Path:
        """Depot mode (§19): ``<id_d>.zip`` with ``metadata.json`` and the listed files at the root."""
        with self.lock:
            doc = self._doc(id_e, id_d)
            entity = self.platform.entities[id_e]
            data = doc.data
            meta: dict[str, Any] = {}
            for key in (
                "numero_de_lacte",
                "date_de_lacte",
                "date_ar",
                "objet",
                "acte_nature",
                "classification",
                "type_piece",
                "publication_open_data",
                "nature_autre_detail",
                "envoi_depot",
                "envoi_transformation",
                "envoi_tdt_actes",
                "envoi_sae",
            ):
                if key in data:
                    meta[key] = data[key]
            members: list[tuple[str, bytes]] = []
            for key in ("arrete", "acte_tamponne", "autre_document_attache"):
                slots = [s for s in doc.files.get(key, []) if s.content is not None]
                meta[key] = [s.name for s in slots]
                members.extend((s.name, s.content) for s in slots if s.content is not None)
            meta["id_e"] = entity.id_e
            meta["siren"] = entity.siren
            meta["entity_name"] = entity.denomination
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{id_d}.zip"
        tmp = folder / f".{id_d}.zip.part"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(
                _zip_info("metadata.json"), json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8")
            )
            seen = {"metadata.json"}
            for name, content in members:
                if name in seen:
                    continue
                seen.add(name)
                zf.writestr(_zip_info(name), content)
        tmp.replace(target)  # the watched folder never sees a half-written ZIP
        return target


def _zip_info(name: str) -> zipfile.ZipInfo:
    """Fixed timestamps so the same act always gives the same ZIP bytes."""
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


class _Mutations:
    """POST/PATCH/DELETE routes: create and edit documents the way real clients do (§5)."""

    def __init__(self, sim: PastellSimulator) -> None:
        self.sim = sim

    def _formulaire_ok(self, doc: Document) -> int:
        flux = self.sim.platform.flux[doc.type]
        values = doc.form_values()
        return int(all(values.get(k) for k, v in flux.fields.items() if v.get("requis")))

    def _edit_result(self, doc: Document, account: Account, status: int = 200) -> Response:
        return json_response(
            {
                "content": self.sim.api.detail(doc, account),
                "result": "ok",
                "formulaire_ok": self._formulaire_ok(doc),
                "message": "",
            },
            status,
        )

    def create(self, req: Request, id_e: str, account: Account) -> Response:
        flux = req.arg("type")
        if not flux:
            raise ApiError(400, "Le paramètre type est obligatoire")
        if not self.sim.platform.has_right(account, id_e, f"{flux}:edition"):
            raise self.sim.api._deny(account, id_e, f"{flux}:edition")
        if flux not in self.sim.platform.flux:
            raise ApiError(400, f"Type {flux} introuvable")
        now = self.sim.now_str()
        id_d = self.sim.add_document(
            id_e, flux, {}, history=[("creation", now)], id_d=self.sim.new_id_d(uuid=True)
        )
        doc = self.sim.platform.documents[id_d]
        doc.history[-1].id_u = account.id_u
        body = self.sim.api.detail(doc, account)
        body["id_d"] = id_d
        return json_response(body, 201)

    def patch(self, req: Request, doc: Document, account: Account) -> Response:
        flux = self.sim.platform.flux[doc.type]
        if doc.last.action not in ("creation", "modification", "reouverture"):
            raise ApiError(
                400,
                f"L'action « modification »  n'est pas permise : le document est dans l'état "
                f"« {doc.last.action} »",
            )
        for key, values in req.form.items():
            if key in flux.fields and flux.fields[key]["type"] != "file":
                doc.data[key] = values[-1]
        now = self.sim.now_str()
        if doc.last.action != "modification":
            self.sim._append(doc, HistoryEntry("modification", now, STATES["modification"][1], account.id_u))
        doc.modification = now
        return self._edit_result(doc, account)

    def add_file(
        self, req: Request, doc: Document, field_name: str, num: str | None, account: Account
    ) -> Response:
        flux = self.sim.platform.flux[doc.type]
        if field_name not in flux.file_fields:
            raise ApiError(400, f"Le champ {field_name} n'est pas un champ fichier")
        upload = req.uploads.get("file_content")
        if upload is not None:
            name, content = req.arg("file_name") or upload[0], upload[1]
        else:
            raw = req.arg("file_content")
            if raw is None:
                raise ApiError(400, "Le paramètre file_content est obligatoire")
            name, content = req.arg("file_name") or field_name, raw.encode("utf-8")
        slots = doc.files.setdefault(field_name, [])
        index = len(slots) if num is None or not flux.fields[field_name].get("multiple") else int(num)
        if not flux.fields[field_name].get("multiple"):
            slots[:] = [FileSlot(name, content)]
        elif index >= len(slots):
            slots.append(FileSlot(name, content))
        else:
            slots[index] = FileSlot(name, content)
        doc.modification = self.sim.now_str()
        return self._edit_result(doc, account, 201)

    def action(self, doc: Document, action: str, account: Account) -> Response:
        allowed = ACTIONS_FROM_STATE.get(doc.last.action, [])
        if action not in allowed:
            raise ApiError(
                400,
                f"L'action « {action} »  n'est pas permise : l'état actuel du document est "
                f"« {doc.last.action} »",
            )
        now = self.sim.now_str()
        if action == "supression":
            return self.delete(doc, account)
        if action == "orientation":
            target = "termine" if doc.type == "autres-studio-sans-tdt" else "send-tdt"
            if target == "send-tdt" and not self._formulaire_ok(doc):
                raise ApiError(
                    400, "L'action « orientation »  n'est pas permise : le formulaire est incomplet"
                )
            self.sim._append(doc, HistoryEntry(target, now, STATES[target][1], account.id_u))
        elif action == "annulation-tdt":
            self.sim.cancel(doc.id_e, doc.id_d, now)
        else:
            self.sim._append(
                doc, HistoryEntry(action, now, STATES.get(action, (action, action))[1], account.id_u)
            )
        return json_response({"result": True, "message": STATES.get(action, (action, action))[1]}, 201)

    def delete(self, doc: Document, account: Account) -> Response:
        if "supression" not in ACTIONS_FROM_STATE.get(doc.last.action, []):
            raise ApiError(
                400,
                f"L'action « supression »  n'est pas permise : l'état actuel du document est "
                f"« {doc.last.action} »",
            )
        self.sim._append(
            doc, HistoryEntry("supression", self.sim.now_str(), STATES["supression"][1], account.id_u)
        )
        del self.sim.platform.documents[doc.id_d]
        return Response(204, b"", [])
