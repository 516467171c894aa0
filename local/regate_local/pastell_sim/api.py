"""The REST API v2 itself: routing, authentication, rights, filters and error model (pastell-api.md §2–§12).

Kept apart from the WSGI plumbing so each rule reads like the reference it reproduces.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from regate_local.pastell_sim.files import sniff_mime
from regate_local.pastell_sim.flux import ACTIONS_FROM_STATE
from regate_local.pastell_sim.state import DOCUMENT_CONSULTATION, Account, Document, FileSlot

if TYPE_CHECKING:
    from regate_local.pastell_sim.simulator import PastellSimulator
    from regate_local.pastell_sim.state import Platform

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
ALLOWED_METHODS = ("GET", "POST", "PATCH", "DELETE")
DEFAULT_LIMIT = 100


class ApiError(Exception):
    """An error answered as ``{"status":"error","error-message":…}`` with the given HTTP status."""

    def __init__(self, status: int, message: str, headers: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    remote_addr: str
    form: dict[str, list[str]] = field(default_factory=dict)
    uploads: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """PHP-style lookup: form body first for POST/PATCH, then query; last value wins."""
        for source in (self.form, self.query):
            if source.get(name):
                return source[name][-1]
        return default


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]]
    #: Fault injection only: the body is produced by this iterator (slow drip, endless) instead of ``body``.
    stream: Iterator[bytes] | None = None


# --- encoding ---------------------------------------------------------------------------------------------


def _php_shape(value: Any) -> Any:
    """PHP's ``json_encode`` writes an empty associative array as ``[]``."""
    if isinstance(value, dict):
        return [] if not value else {k: _php_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_php_shape(v) for v in value]
    return value


def php_json(value: Any) -> bytes:
    """``json_encode($x, JSON_PRETTY_PRINT)``: 4-space indent, ``\\uXXXX`` escapes and escaped slashes."""
    text = json.dumps(_php_shape(value), ensure_ascii=True, indent=4)
    return text.replace("/", "\\/").encode("ascii")


def json_response(value: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, php_json(value), [("Content-type", JSON_CONTENT_TYPE), *(headers or [])])


def error_response(status: int, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    return json_response({"status": "error", "error-message": message}, status, headers)


# --- small helpers ----------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """MySQL ``*_general_ci``: case- and accent-insensitive comparison."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def like_contains(value: str, needle: str) -> bool:
    """``value LIKE '%needle%'``; ``%``/``_`` in the needle stay wildcards (not escaped by Pastell)."""
    pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in _fold(needle))
    return re.search(pattern, _fold(value), re.DOTALL) is not None


def php_intval(raw: str | None, default: int) -> int:
    """``intval``: leading digits, else 0 (``limit=abc`` → LIMIT 0)."""
    if raw is None or raw == "":
        return default
    m = re.match(r"^\s*([+-]?\d+)", raw)
    return int(m.group(1)) if m else 0


_DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def sql_bound(raw: str, name: str, date_in_fr: bool = False) -> str:
    """A date parameter as MySQL compares it: ``YYYY-MM-DD HH:MM:SS``; date-only means midnight."""
    value = raw.strip()
    if date_in_fr:
        m = re.match(r"^(\d{2})/(\d{2})/(\d{4})$", value)
        if m:
            value = f"{m.group(3)}-{m.group(2)}-{m.group(1)}"
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
    raise ApiError(400, f"Le paramètre {name} n'est pas une date valide : {raw}")


def _truthy(raw: str | None) -> bool:
    return bool(raw) and raw not in ("0", "false", "")


# --- the API ----------------------------------------------------------------------------------------------


class PastellApi:
    """Dispatches one parsed request against the simulator's platform (caller holds the lock)."""

    def __init__(self, sim: PastellSimulator) -> None:
        self.sim = sim

    @property
    def platform(self) -> Platform:
        return self.sim.platform

    # entry point
    def handle(self, req: Request) -> tuple[Response, str | None]:
        """Answer a request; also returns the authenticated login for the request log."""
        account: Account | None = None
        try:
            function = self._function(req)
            if req.method not in ALLOWED_METHODS:
                raise ApiError(
                    405,
                    f"La méthode {req.method} n'est pas supportée",
                    [("Allow", ", ".join(ALLOWED_METHODS))],
                )
            account = self._authenticate(req)
            return self._route(req, function, account), account.login
        except ApiError as exc:
            return error_response(exc.status, exc.message, exc.headers), account.login if account else None
        except Exception as exc:  # generic failures are 400 in Pastell (§4)
            return error_response(400, str(exc) or exc.__class__.__name__), account.login if account else None

    def _function(self, req: Request) -> str:
        path = req.path
        if not path.startswith("/api/"):
            raise ApiError(404, f"La ressource {path.strip('/')} n'a pas été trouvée")
        rest = path[len("/api/") :]
        if rest in ("index.php", "index.php/"):
            rest = (req.query.get("api_function") or [""])[-1]
        if rest == "v2" or rest.startswith("v2/"):
            function = rest[2:].strip("/")
            if not function:
                raise ApiError(400, "Il faut spécifier une fonction de l'api")
            return function
        raise ApiError(400, "Version de l'API incorrecte ou version absente")

    # --- authentication (§3) ---------------------------------------------------------------------------

    def _authenticate(self, req: Request) -> Account:
        header = req.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme not in ("basic", "bearer") or not value.strip():
            raise ApiError(401, "Accès interdit", [("WWW-Authenticate", 'Basic realm="API Pastell"')])
        limiter = self.sim.limiter
        if not limiter.consume(req.remote_addr):
            raise ApiError(
                429,
                "Trop de tentatives de connexion, veuillez réessayer plus tard",
                [("Retry-after", str(limiter.window_seconds))],
            )
        account = self._credentials(scheme, value.strip())
        if account is None:
            raise ApiError(401, "Accès interdit", [("WWW-Authenticate", 'Basic realm="API Pastell"')])
        limiter.reset(req.remote_addr)
        if not account.active:
            raise ApiError(
                401, "Votre compte a été désactivé", [("WWW-Authenticate", 'Basic realm="API Pastell"')]
            )
        return account

    def _credentials(self, scheme: str, value: str) -> Account | None:
        accounts = self.platform.accounts
        if scheme == "bearer":
            return next((a for a in accounts.values() if a.token and a.token == value), None)
        try:
            login, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        account = accounts.get(login)
        return account if account is not None and account.password == password else None

    # --- routing (§5) -----------------------------------------------------------------------------------

    def _route(self, req: Request, function: str, account: Account) -> Response:
        parts = function.split("/")
        resource = parts[0].lower()
        handlers: dict[str, Callable[[Request, list[str], Account], Response]] = {
            "version": self._version,
            "entite": self._entite,
            "flux": self._flux,
            "journal": self._journal,
        }
        handler = handlers.get(resource)
        if handler is None:
            raise ApiError(404, f"La ressource {parts[0]} n'a pas été trouvée")
        return handler(req, parts[1:], account)

    def _deny(self, account: Account, id_e: str, droit: str) -> ApiError:
        return ApiError(403, f"Acces interdit id_e={id_e}, droit={droit},id_u={account.id_u}")

    def _check(self, account: Account, id_e: str, droit: str) -> None:
        if not self.platform.has_right(account, id_e, droit):
            raise self._deny(account, id_e, droit)

    @staticmethod
    def _only_get(req: Request) -> None:
        if req.method != "GET":
            raise ApiError(405, f"La méthode {req.method} n'est pas disponible pour cette ressource")

    # version
    def _version(self, req: Request, rest: list[str], account: Account) -> Response:
        self._only_get(req)
        if rest:
            raise ApiError(404, f"La ressource version/{'/'.join(rest)} n'a pas été trouvée")
        p = self.sim.seed.platform
        return json_response(
            {
                "version": p.version,
                "revision": p.revision,
                "last_changed_date": p.last_changed_date,
                "extensions_versions_accepted": [],
                "version_complete": f"Version {p.version} - Révision {p.revision}",
            }
        )

    # entities (§6)
    def _entity_json(self, id_e: str) -> dict[str, Any]:
        e = self.platform.entities[id_e]
        return {
            "id_e": e.id_e,
            "denomination": e.denomination,
            "siren": e.siren,
            "type": e.type,
            "centre_de_gestion": e.centre_de_gestion,
            "entite_mere": e.entite_mere,
            "is_active": e.is_active,
        }

    def _entite(self, req: Request, rest: list[str], account: Account) -> Response:
        if not rest or rest == [""]:
            self._only_get(req)
            entities = self.platform.visible_entities(account)
            active = req.arg("is_active")
            if active is not None and active != "":
                entities = [e for e in entities if e.is_active == _truthy(active)]
            entities.sort(key=lambda e: (int(e.entite_mere), e.denomination, int(e.id_e)))
            return json_response([self._entity_json(e.id_e) for e in entities])
        id_e = rest[0]
        if len(rest) == 1:
            self._only_get(req)
            self._check(account, id_e, "entite:lecture")
            if id_e not in self.platform.entities:
                raise ApiError(404, f"L'entité {id_e} n'a pas été trouvée")
            body = self._entity_json(id_e)
            body["entite_fille"] = [
                {"id_e": c.id_e} for c in self.platform.entities.values() if c.entite_mere == id_e
            ]
            return json_response(body)
        sub = rest[1].lower()
        if sub == "document":
            return self._document(req, id_e, rest[2:], account)
        raise ApiError(404, f"La ressource {rest[1]} n'a pas été trouvée")

    # documents (§7–§9)
    def _document(self, req: Request, id_e: str, rest: list[str], account: Account) -> Response:
        if id_e in ("", "0"):
            raise ApiError(400, "id_e est obligatoire")
        if id_e not in self.platform.entities:
            raise ApiError(404, f"L'entité {id_e} n'existe pas")
        if not rest or rest == [""]:
            if req.method == "GET":
                return self._list_or_multi(req, id_e, account)
            if req.method == "POST":
                return self.sim.mutations.create(req, id_e, account)
            raise ApiError(405, f"La méthode {req.method} n'est pas disponible pour cette ressource")
        id_d = rest[0]
        if len(rest) == 1:
            if req.method == "GET":
                doc = self._readable_doc(account, id_e, id_d)
                return json_response(self.detail(doc, account))
            if req.method == "PATCH":
                return self.sim.mutations.patch(req, self._readable_doc(account, id_e, id_d), account)
            if req.method == "DELETE":
                return self.sim.mutations.delete(self._readable_doc(account, id_e, id_d), account)
            raise ApiError(405, f"La méthode {req.method} n'est pas disponible pour cette ressource")
        sub = rest[1].lower()
        if sub == "file" and len(rest) in (3, 4):
            if req.method == "GET":
                return self._file(req, account, id_e, id_d, rest[2], rest[3] if len(rest) == 4 else "0")
            if req.method == "POST":
                doc = self._readable_doc(account, id_e, id_d)
                return self.sim.mutations.add_file(
                    req, doc, rest[2], rest[3] if len(rest) == 4 else None, account
                )
        if sub == "action" and len(rest) == 3 and req.method == "POST":
            return self.sim.mutations.action(self._readable_doc(account, id_e, id_d), rest[2], account)
        raise ApiError(404, f"La ressource {'/'.join(rest[1:])} n'a pas été trouvée")

    def _readable_doc(self, account: Account, id_e: str, id_d: str, droit_level: str = "edition") -> Document:
        """Order of checks of DocumentAPIController: entity right, ownership, then ``<type>:edition``."""
        self._check(account, id_e, "entite:lecture")
        doc = self.platform.documents.get(id_d)
        if doc is None or doc.id_e != id_e:
            raise ApiError(404, f"Le document {id_d} n'appartient pas à l'entité {id_e}")
        self._check(account, id_e, f"{doc.type}:{droit_level}")
        return doc

    def detail(self, doc: Document, account: Account) -> dict[str, Any]:
        flux = self.platform.flux.get(doc.type)
        last = doc.last
        possible = [
            a
            for a in ACTIONS_FROM_STATE.get(last.action, [])
            if self.platform.has_right(account, doc.id_e, f"{doc.type}:edition")
            and not (doc.type == "autres-studio-sans-tdt" and "tdt" in a)
        ]
        return {
            "info": {
                "id_d": doc.id_d,
                "type": doc.type,
                "titre": doc.titre(flux),
                "creation": doc.creation,
                "modification": doc.modification,
            },
            "data": doc.form_values(),
            "action_possible": possible,
            "action-possible": possible,
            "last_action": {"action": last.action, "message": last.message, "date": last.date},
        }

    def _list_or_multi(self, req: Request, id_e: str, account: Account) -> Response:
        ids = req.query.get("id_d[]") or req.query.get("id_d") or []
        if ids and "id_d[]" in req.query:
            out = {}
            for id_d in ids:
                out[id_d] = self.detail(self._readable_doc(account, id_e, id_d), account)
            return json_response(out)
        return json_response(self.list_documents(req, id_e, account))

    def list_documents(self, req: Request, id_e: str, account: Account) -> list[dict[str, Any]]:
        """``GET /entite/{id_e}/document`` with every filter of §7 (strict bounds, duplicates…)."""
        platform = self.platform
        self._check(account, id_e, "entite:lecture")
        flux_id = req.arg("type") or None
        if flux_id is not None:
            self._check(account, id_e, f"{flux_id}:lecture")
            flux_ids = {flux_id}
        else:
            flux_ids = {f for f in platform.flux if platform.has_right(account, id_e, f"{f}:lecture")}
        date_in_fr = _truthy(req.arg("date_in_fr"))

        def bound(name: str) -> str | None:
            raw = req.arg(name)
            return sql_bound(raw, name, date_in_fr) if raw else None

        last_begin, last_end = bound("last_state_begin"), bound("last_state_end")
        state_begin, state_end = bound("state_begin"), bound("state_end")
        lastetat = [s.strip() for s in (req.arg("lastetat") or "").split(",") if s.strip()]
        transit = req.arg("etatTransit") or None
        not_transit = req.arg("notEtatTransit") or None
        search = req.arg("search") or None
        indexed: dict[str, str] = {}
        if flux_id is not None and flux_id in platform.flux:
            for name in platform.flux[flux_id].indexed_fields:
                value = req.arg(name)
                if value:
                    indexed[name] = value

        rows: list[Document] = []
        for doc in platform.documents.values():
            if doc.id_e != id_e or doc.type not in flux_ids:
                continue
            flux = platform.flux.get(doc.type)
            if search and not like_contains(doc.titre(flux), search):
                continue
            if lastetat and doc.last.action not in lastetat:
                continue
            if last_begin and not doc.last.date > last_begin:
                continue
            if last_end and not doc.last.date < last_end:
                continue
            if not_transit and doc.passed_through(not_transit):
                continue
            if any(not like_contains(doc.data.get(k, ""), v) for k, v in indexed.items()):
                continue
            if transit:
                # One row per time the document entered the state (join on the action history).
                for h in doc.history:
                    if h.action != transit:
                        continue
                    if state_begin and not h.date > state_begin:
                        continue
                    if state_end and not h.date < state_end:
                        continue
                    rows.append(doc)
            else:
                rows.append(doc)

        tri = req.arg("tri") or "date_dernier_etat"
        descending = (req.arg("sens_tri") or "DESC").upper() != "ASC"

        def key(doc: Document) -> tuple[str, str]:
            if tri == "entite":
                return (platform.entities[doc.id_e].denomination, doc.id_d)
            if tri in ("titre", "title"):
                return (doc.titre(platform.flux.get(doc.type)), doc.id_d)
            if flux_id is not None and tri in indexed_names(platform, flux_id):
                return (doc.data.get(tri, ""), doc.id_d)
            return (doc.last.date, doc.id_d)

        rows.sort(key=key, reverse=descending)
        offset = max(php_intval(req.arg("offset"), 0), 0)
        limit = php_intval(req.arg("limit"), DEFAULT_LIMIT)
        if limit < 0:
            raise ApiError(400, f"Le paramètre limit est invalide : {limit}")
        proxy = self.sim.proxy
        if proxy.page_cap is not None:  # a reverse proxy or an old version capping the page size
            limit = min(limit, proxy.page_cap)
        if proxy.ignore_offset:  # a broken proxy dropping the offset parameter
            offset = 0
        return [self._row(doc) for doc in rows[offset : offset + limit]]

    def _row(self, doc: Document) -> dict[str, Any]:
        e = self.platform.entities[doc.id_e]
        flux = self.platform.flux.get(doc.type)
        actors = [{"id_e": e.id_e, "denomination": e.denomination}]
        return {
            "id_d": doc.id_d,
            "id_e": doc.id_e,
            "role": "editeur",
            "last_action": doc.last.action,
            "last_action_date": doc.last.date,
            "last_type": doc.type,
            "type": doc.type,
            "titre": doc.titre(flux),
            "creation": doc.creation,
            "modification": doc.modification,
            "denomination": e.denomination,
            "siren": e.siren,
            "date_inscription": e.date_inscription,
            "entite_mere": e.entite_mere,
            "centre_de_gestion": e.centre_de_gestion,
            "is_active": e.is_active,
            "entite_base": e.denomination,
            "entite": actors,
            "last_action_display": max(doc.history, key=lambda h: h.date).action,
        }

    def _file(
        self, req: Request, account: Account, id_e: str, id_d: str, field_name: str, num_raw: str
    ) -> Response:
        receive = _truthy(req.arg("receive"))
        doc = self._readable_doc(account, id_e, id_d, "lecture" if receive else "edition")
        slots = doc.files.get(field_name, [])
        num = php_intval(num_raw, 0)
        if num < 0 or num >= len(slots):
            raise ApiError(404, "Ce fichier n'existe pas")
        slot: FileSlot = slots[num]
        if slot.content is None:
            raise ApiError(400, "Ce fichier n'existe pas")
        self.platform.log_event(
            DOCUMENT_CONSULTATION,
            doc,
            "Consulté",
            f"Consultation du fichier {slot.name}",
            self.sim.now_str(),
            account.id_u,
        )
        if receive:
            try:
                text = slot.content.decode("utf-8")
            except UnicodeDecodeError:
                # json_encode fails on binary content: Pastell answers 200 with an error body (§2).
                return json_response(
                    {
                        "status": "error",
                        "error-message": (
                            "Impossible d'encoder le résultat en JSON [code 5]: "
                            "Malformed UTF-8 characters, possibly incorrectly encoded"
                        ),
                    }
                )
            return json_response({"file_name": slot.name, "file_content": text})
        name = slot.name.replace('"', "")
        headers = [
            ("Content-type", sniff_mime(slot.content)),
            ("Content-disposition", f'attachment; filename="{name}"'),
            ("Expires", "0"),
            ("Cache-Control", "must-revalidate, post-check=0,pre-check=0"),
            ("Pragma", "public"),
        ]
        return Response(200, slot.content, headers)

    # journal (§10)
    def _journal(self, req: Request, rest: list[str], account: Account) -> Response:
        self._only_get(req)
        platform = self.platform
        if rest and rest[0]:
            id_j = rest[0]
            event = (
                platform.journal[int(id_j) - 1]
                if id_j.isdigit() and 0 < int(id_j) <= len(platform.journal)
                else None
            )
            if event is None:
                raise ApiError(404, f"L'événement {id_j} n'a pas été trouvé")
            self._check(account, event.id_e, "journal:lecture")
            if len(rest) == 1:
                body = platform.event_json(event)
                body["preuve"] = ""
                return json_response(body)
            if len(rest) == 2 and rest[1] == "jeton":
                # This simulated platform has no timestamping authority configured.
                raise ApiError(404, f"L'événement {id_j} n'a pas de jeton d'horodatage")
            raise ApiError(404, f"La ressource journal/{'/'.join(rest)} n'a pas été trouvée")
        id_e = req.arg("id_e") or "0"
        self._check(account, id_e, "journal:lecture")
        flux_type = req.arg("type")
        id_d = req.arg("id_d")
        id_user = req.arg("id_user")
        recherche = req.arg("recherche")
        debut = sql_bound(req.arg("date_debut") or "", "date_debut")[:10] if req.arg("date_debut") else None
        fin = sql_bound(req.arg("date_fin") or "", "date_fin")[:10] if req.arg("date_fin") else None
        events = []
        for e in reversed(platform.journal):  # id_j DESC
            if id_e != "0" and e.id_e != id_e:
                continue
            if flux_type and e.document_type != flux_type:
                continue
            if id_d and e.id_d != id_d:
                continue
            if id_user and e.id_u != id_user:
                continue
            if debut and e.date[:10] < debut:
                continue
            if fin and e.date[:10] > fin:
                continue
            body = platform.event_json(e)
            if recherche and not like_contains(body["message_horodate"], recherche):
                continue
            events.append(body)
        offset = max(php_intval(req.arg("offset"), 0), 0)
        limit = php_intval(req.arg("limit"), DEFAULT_LIMIT)
        page = events[offset : offset + max(limit, 0)]
        if req.arg("format") == "csv":
            return self._journal_csv(page, _truthy(req.arg("csv_entete_colonne")))
        return json_response(page)

    @staticmethod
    def _journal_csv(events: list[dict[str, Any]], header: bool) -> Response:
        columns = [
            "id_j",
            "type",
            "denomination",
            "nom",
            "prenom",
            "action",
            "titre",
            "message",
            "date",
            "date_horodatage",
            "message_horodate",
            "document_type",
            "id_d",
        ]
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\n")
        if header:
            writer.writerow(columns)
        for e in events:
            writer.writerow([e[c] for c in columns])
        headers = [
            ("Content-type", "text/csv; charset=utf-8"),
            ("Content-disposition", 'attachment; filename="pastell-export-journal.csv"'),
        ]
        return Response(200, buffer.getvalue().encode("utf-8"), headers)

    # flux (§11)
    def _flux(self, req: Request, rest: list[str], account: Account) -> Response:
        self._only_get(req)
        platform = self.platform
        readable = platform.readable_flux(account)
        if not rest or rest == [""]:
            return json_response(
                {f: {"type": platform.flux[f].famille, "nom": platform.flux[f].nom} for f in readable}
            )
        flux_id = rest[0]
        if flux_id not in platform.flux:
            raise ApiError(400, f"Type {flux_id} introuvable")
        if flux_id not in readable:
            raise self._deny(account, "0", f"{flux_id}:lecture")
        definition = platform.flux[flux_id]
        if len(rest) == 1:
            return json_response(definition.fields)
        if len(rest) == 2 and rest[1] == "action":
            return json_response(definition.actions())
        raise ApiError(404, f"La ressource flux/{'/'.join(rest)} n'a pas été trouvée")


def indexed_names(platform: Any, flux_id: str) -> set[str]:
    flux = platform.flux.get(flux_id)
    return flux.indexed_fields if flux else set()


def parse_form(content_type: str, body: bytes) -> tuple[dict[str, list[str]], dict[str, tuple[str, bytes]]]:
    """POST/PATCH bodies: urlencoded or multipart; JSON bodies are ignored, as in Pastell (§2)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded" or (not ctype and body):
        try:
            return parse_qs(body.decode("utf-8"), keep_blank_values=True), {}
        except UnicodeDecodeError as exc:
            raise ApiError(400, f"Corps de requête illisible : {exc}") from exc
    if ctype == "multipart/form-data":
        from email.parser import BytesParser
        from email.policy import HTTP

        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
        )
        form: dict[str, list[str]] = {}
        uploads: dict[str, tuple[str, bytes]] = {}
        if not message.is_multipart():
            raise ApiError(400, "Corps multipart illisible")
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                uploads[str(name)] = (filename, payload)
            else:
                form.setdefault(str(name), []).append(payload.decode("utf-8", errors="replace"))
        return form, uploads
    return {}, {}
