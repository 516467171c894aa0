"""``AtexoSimulator``: an Atexo « salle des marchés » DECP API in memory, served over HTTP on loopback.

Faithful to what the reference shows (``next-flows.md`` §B.3, §B.5): the XML ``<ticket>`` token (expiring;
an HTML page on bad credentials), the ``format-pivot`` export (JSON or form-data body, ``DD-MM-YYYY``
notification bounds, optional ``siren``; no pagination, and a gateway timeout on ranges longer than
``max_range_days``, which is why clients ask month by month), the export's defects (:class:`Defects`), and
fault injection (429 with ``Retry-After``, 5xx, HTML error pages, malformed JSON). The ``format=xml`` variant
and the public ``xml-extraire-criteres`` route are not simulated (400 / 404 with a message saying so).
"""

from __future__ import annotations

import json
import random
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, unquote

from regate.clock import PARIS, Clock, SystemClock
from regate_local.atexo_sim.generator import (
    Buyer,
    Contract,
    Defects,
    Modification,
    _marche,
    fictitious_siret,
    generate,
    load_buyers,
    render,
)
from regate_local.atexo_sim.server import LoopbackServer

TOKEN_PREFIX = "/api.php/ws/authentification/connexion/"
EXPORT_PATH = "/app.php/api/v1/donnees-essentielles/contrat/format-pivot"
DEMO_LOGIN = "regate-sdm"
DEMO_PASSWORD = "sdm-demo-password"
_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Time-out",
}


def html_page(title: str, text: str) -> bytes:
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="UTF-8"><title>' + title + "</title></head>"
        '<body><div class="main-part"><h1>' + title + "</h1><p>" + text + "</p></div></body></html>\n"
    ).encode()


@dataclass(frozen=True)
class RequestLogEntry:
    method: str
    route: str
    status: int
    siren: str | None = None
    date_min: str | None = None
    date_max: str | None = None
    body_kind: str | None = None


@dataclass
class _Fault:
    route: str
    status: int
    remaining: int
    body: bytes
    content_type: str
    headers: dict[str, str]
    siren: str | None


@dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)


class AtexoSimulator:
    """State + controls (thread-safe); :meth:`serve` puts it on loopback."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 2024,
        per_month: int = 3,
        start: date = date(2024, 1, 1),
        horizon: date = date(2027, 12, 31),
        defects: Defects | None = None,
        buyers: list[Buyer] | None = None,
        login: str = DEMO_LOGIN,
        password: str = DEMO_PASSWORD,
        token_ttl_seconds: int = 3600,
        max_range_days: int = 31,
        forbidden_sirens: Iterable[str] = (),
        latency_ms: int = 0,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.defects = defects or Defects()
        self.buyers = buyers if buyers is not None else load_buyers()
        self.login, self.password = login, password
        self.token_ttl = timedelta(seconds=token_ttl_seconds)
        self.max_range_days = max_range_days
        self.forbidden = set(forbidden_sirens)
        self.latency_ms = latency_ms
        self.seed = seed
        self.contracts: list[Contract] = generate(self.buyers, start, horizon, seed, per_month, self.defects)
        self._tokens: dict[str, datetime] = {}
        self._faults: list[_Fault] = []
        self._log: list[RequestLogEntry] = []
        self.lock = threading.RLock()
        self._rng = random.Random(f"{seed}:controls")

    # ---------------------------------------------------------------------------------- controls
    @property
    def today(self) -> date:
        return self.clock.now().astimezone(PARIS).date()

    @property
    def request_log(self) -> list[RequestLogEntry]:
        with self.lock:
            return list(self._log)

    def clear_log(self) -> None:
        with self.lock:
            self._log.clear()

    def buyer(self, siren: str) -> Buyer:
        return next(b for b in self.buyers if b.siren == siren)

    def contract(self, ident: str) -> Contract:
        return next(c for c in self.contracts if c.ident == ident)

    def inject(
        self,
        route: str,
        status: int,
        times: int = 1,
        *,
        body: bytes | None = None,
        content_type: str = "text/html; charset=UTF-8",
        headers: dict[str, str] | None = None,
        siren: str | None = None,
    ) -> None:
        """The next ``times`` requests to ``route`` (``token`` or ``export``, optionally for one SIREN) get
        this answer."""
        with self.lock:
            self._faults.append(
                _Fault(
                    route,
                    status,
                    times,
                    body if body is not None else html_page(_REASONS.get(status, "Erreur"), "Erreur simulée"),
                    content_type,
                    dict(headers or {}),
                    siren,
                )
            )

    def rate_limit(self, times: int = 1, retry_after: str = "1", route: str = "export") -> None:
        self.inject(route, 429, times, headers={"Retry-After": retry_after})

    def fail(
        self, times: int = 1, status: int = 503, route: str = "export", siren: str | None = None
    ) -> None:
        self.inject(route, status, times, siren=siren)

    def html_error(self, times: int = 1, route: str = "export", siren: str | None = None) -> None:
        """HTTP 200 with an HTML error page (what PHP front controllers answer on an exception)."""
        self.inject(
            route,
            200,
            times,
            body=html_page("Une erreur est survenue", "Merci de réessayer ultérieurement."),
            siren=siren,
        )

    def malformed(self, times: int = 1, siren: str | None = None) -> None:
        """HTTP 200 with a cut JSON document (connection dropped mid-export)."""
        self.inject(
            "export",
            200,
            times,
            body=b'{\n    "marches": {\n    "marche": [\n        {\n            "id": "X',
            content_type="application/json",
            siren=siren,
        )

    def add_marche(self, siren: str, notified: date, entered: date | None = None, **fields: Any) -> Contract:
        """A new marché for ``siren`` (e.g. a late entry: ``entered`` long after ``notified``)."""
        with self.lock:
            rank = 90_000 + len(self.contracts)
            rng = random.Random(f"{self.seed}:added:{rank}")
            pool = [fictitious_siret(rng) for _ in range(5)]
            contract = _marche(
                self.buyer(siren), notified, rng, pool, self.defects, notified.year, notified.month, rank
            )
            contract.entered = entered or notified + timedelta(days=1)
            contract.fields.update(fields)
            self.contracts.append(contract)
            return contract

    def add_modification(
        self,
        ident: str,
        notified: date,
        entered: date | None = None,
        montant: float | None = None,
        duree: int | None = None,
    ) -> Modification:
        with self.lock:
            contract = self.contract(ident)
            number = max((m.ident for m in contract.modifications), default=0) + 1
            modification = Modification(number, notified, entered or notified, montant, duree)
            contract.modifications.append(modification)
            return modification

    def add_bulk(self, siren: str, year: int, month: int, count: int) -> None:
        """A very large month for one buyer (streaming, size limits)."""
        for number in range(count):
            self.add_marche(siren, date(year, month, 1 + number % 28))

    # ------------------------------------------------------------------------------------ serving
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> LoopbackServer:
        return LoopbackServer(self.wsgi_app, host, port, name="atexo-sim")

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "") or "/"
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, 10 * 1024 * 1024)) if length > 0 else b""
        response = self.handle(method, path, body, environ.get("CONTENT_TYPE", ""))
        headers = [
            ("Content-Type", response.content_type),
            ("Content-Length", str(len(response.body))),
            *response.headers,
        ]
        start_response(f"{response.status} {_REASONS.get(response.status, 'Error')}", headers)
        return [response.body]

    def handle(self, method: str, path: str, body: bytes, content_type: str) -> _Response:
        if self.latency_ms:
            time.sleep(self.latency_ms / 1000)
        route = "token" if path.startswith(TOKEN_PREFIX) else "export" if path == EXPORT_PATH else "other"
        params: dict[str, str] = {}
        kind = None
        if route == "export" and method == "POST":
            params, kind = _read_params(body, content_type)
        with self.lock:
            fault = self._take_fault(route, params.get("siren"))
            if fault is not None:
                response = _Response(
                    fault.status, fault.body, fault.content_type, list(fault.headers.items())
                )
            elif route == "token":
                response = self._token(method, path)
            elif route == "export":
                response = self._export(method, params, kind)
            else:
                response = _Response(
                    404,
                    html_page(
                        "Page introuvable", "Route non simulée (xml-extraire-criteres n'est pas simulé)."
                    ),
                    "text/html; charset=UTF-8",
                )
            self._log.append(
                RequestLogEntry(
                    method,
                    route,
                    response.status,
                    params.get("siren"),
                    params.get("date_notif_min"),
                    params.get("date_notif_max"),
                    kind,
                )
            )
            return response

    def _take_fault(self, route: str, siren: str | None) -> _Fault | None:
        for fault in self._faults:
            if fault.route == route and fault.remaining > 0 and (fault.siren is None or fault.siren == siren):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _token(self, method: str, path: str) -> _Response:
        if method != "GET":
            return _Response(405, html_page("Méthode non autorisée", method), "text/html; charset=UTF-8")
        parts = path[len(TOKEN_PREFIX) :].split("/")
        if len(parts) != 2 or unquote(parts[0]) != self.login or unquote(parts[1]) != self.password:
            # The platform answers a login page with HTTP 200: clients must look at the body.
            return _Response(
                200,
                html_page("Authentification", "Identifiant ou mot de passe incorrect."),
                "text/html; charset=UTF-8",
            )
        token = secrets.token_hex(16)
        self._tokens[token] = self.clock.now()
        return _Response(
            200,
            f'<?xml version="1.0" encoding="UTF-8"?>\n<ticket>{token}</ticket>\n'.encode(),
            "text/xml; charset=UTF-8",
        )

    def _export(self, method: str, params: dict[str, str], kind: str | None) -> _Response:
        if method != "POST":
            return _Response(405, html_page("Méthode non autorisée", method), "text/html; charset=UTF-8")
        issued = self._tokens.get(params.get("token", ""))
        if issued is None or self.clock.now() - issued > self.token_ttl:
            return _Response(
                401, html_page("Accès refusé", "Jeton invalide ou expiré."), "text/html; charset=UTF-8"
            )
        if params.get("format", "xml") != "json":
            return _Response(
                400, json.dumps({"error": "format xml non simulé : demander format=json"}).encode()
            )
        try:
            low = datetime.strptime(params["date_notif_min"], "%d-%m-%Y").date()
            high = datetime.strptime(params["date_notif_max"], "%d-%m-%Y").date()
        except (KeyError, ValueError):
            return _Response(
                400,
                json.dumps(
                    {"error": "date_notif_min et date_notif_max attendues au format JJ-MM-AAAA"}
                ).encode(),
            )
        if high < low:
            return _Response(
                400, json.dumps({"error": "date_notif_max antérieure à date_notif_min"}).encode()
            )
        if (high - low).days + 1 > self.max_range_days:
            return _Response(
                504,
                html_page("504 Gateway Time-out", "The server didn't respond in time."),
                "text/html; charset=UTF-8",
            )
        siren = params.get("siren") or None
        if siren is not None and siren in self.forbidden:
            return _Response(
                403,
                html_page("Accès refusé", "Organisme non autorisé pour ce compte."),
                "text/html; charset=UTF-8",
            )
        return _Response(200, render(self.records(siren, low, high), self.defects))

    def records(self, siren: str | None, low: date, high: date) -> dict[str, list[dict[str, Any]]]:
        """What the export holds for ``siren`` (all buyers when ``None``) and notification dates
        ``low…high``."""
        today = self.today
        out: dict[str, list[dict[str, Any]]] = {"marche": [], "contrat-concession": []}
        chosen = [
            c
            for c in self.contracts
            if (siren is None or c.buyer.siren == siren) and low <= c.notified <= high and c.visible(today)
        ]
        chosen.sort(key=lambda c: (c.notified, c.ident))
        for contract in chosen:
            out[contract.kind].append(contract.export(today, self.defects))
            visible_mods = [m for m in contract.modifications if m.entered <= today]
            if self.defects.duplicates and contract.kind == "marche" and visible_mods:
                out["marche"].append(contract.export(today, self.defects, upto=len(visible_mods) - 1))
        if self.defects.duplicates and out["marche"]:
            out["marche"].append(json.loads(json.dumps(out["marche"][0])))
        return out

    def with_defects(self, **changes: Any) -> None:
        """Change the defect knobs that act at export time (``type_field``, ``empty_arrays``, ``bom``,
        ``duplicates``…)."""
        with self.lock:
            self.defects = replace(self.defects, **changes)


def _read_params(body: bytes, content_type: str) -> tuple[dict[str, str], str]:
    """JSON body (Mégalis) or form-data / urlencoded (the BFC scripts)."""
    lowered = content_type.lower()
    if lowered.startswith("application/json") or body[:1] in (b"{", b"["):
        try:
            value = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return {}, "json"
        return ({str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}), "json"
    if lowered.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        params = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if name:
                params[str(name)] = (
                    part.get_content().strip()
                    if isinstance(part.get_content(), str)
                    else part.get_payload(decode=True).decode()
                )
        return params, "multipart"
    parsed = parse_qs(body.decode("utf-8", errors="replace"))
    return {k: v[-1] for k, v in parsed.items()}, "form"
