"""Serve the API resolver over HTTP (``regate serve``), exactly as API Gateway would call it.

Each HTTP request becomes an API Gateway HTTP API (payload 2.0) event; the Lambda-style response is
written back. Shape of the server:

* **Connections**: one light thread per open connection (reading the request, writing the answer), at
  most ``REGATE_SERVE_MAX_CONNECTIONS``; beyond, the connection gets an immediate 503. Sockets have a
  read/write timeout (``REGATE_SERVE_TIMEOUT_SECONDS``) and a kept-alive connection may stay idle
  ``REGATE_SERVE_KEEPALIVE_SECONDS`` between requests, so slow or silent clients cannot hold the server.
  ``TCP_NODELAY`` is set and a small response leaves in one write: no 40 ms Nagle / delayed-ACK stall.
* **Resolution**: a bounded pool of ``REGATE_SERVE_WORKERS`` threads, each with its *own* resolver
  (:class:`ResolverPool`), so concurrent requests are resolved in parallel — an export running in one
  worker never delays a cheap request in another. Resolvers are isolated by construction: powertools
  keeps the current event on a class attribute (the cause of the query-string swaps seen before), which
  :class:`regate.api.resolver.RequestScopedResolver` replaces with instance state; the shared services
  (listing cache, DuckDB connection with one cursor per query, S3 client) are thread-safe.
  A plain ``resolve`` callable (one Lambda container, as ``regate demo`` runs it) is called one event at a
  time instead.
* **Hostile input**: a malformed request line or header block, an unsupported body framing, a body
  too large, a missing ``Host`` — 400 (or 411/413/414/431) with the API's JSON error, then the
  connection is closed.

For a public deployment use the Lambda behind API Gateway (throttling, TLS, access logs), or put
``regate serve`` behind a reverse proxy (nginx, Caddy, HAProxy) that terminates TLS and rate-limits
(README, "Serving the API").
"""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import socketserver
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

Resolve = Callable[[dict[str, Any]], dict[str, Any]]

#: One write for responses up to this size (headers + body); larger bodies follow in a second write.
_COALESCE_BYTES = 256 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_REQUEST_LINE = re.compile(rb"^[A-Z]{1,20} [!-~]{1,65000} HTTP/\d\.\d\r?\n$")

_MESSAGES = {
    400: "Requête HTTP mal formée",
    408: "Requête trop lente",
    411: "Corps de requête sans Content-Length (Transfer-Encoding non pris en charge)",
    413: "Corps de requête trop volumineux",
    414: "Cible de requête trop longue",
    431: "En-têtes de requête trop volumineux",
    501: "Méthode non prise en charge",
    503: "Serveur surchargé ; réessayez dans un instant",
    505: "Version HTTP non prise en charge",
}


@dataclass(frozen=True)
class ServeLimits:
    """The limits of ``regate serve`` (``REGATE_SERVE_*``)."""

    workers: int = 32
    max_connections: int = 256
    timeout_seconds: float = 30.0
    keepalive_seconds: float = 5.0
    max_body_bytes: int = 64 * 1024
    tcp_nodelay: bool = True

    @classmethod
    def from_settings(cls, settings: Any) -> ServeLimits:
        return cls(
            workers=settings.serve_workers,
            max_connections=settings.serve_max_connections,
            timeout_seconds=settings.serve_timeout_seconds,
            keepalive_seconds=settings.serve_keepalive_seconds,
            max_body_bytes=settings.serve_max_body_bytes,
        )


class ServerBusy(Exception):
    """No resolver worker became free within the timeout."""


class ResolverPool:
    """``workers`` threads, each resolving with its own resolver built by ``factory`` on first use."""

    def __init__(self, factory: Callable[[], Any], workers: int, wait_seconds: float = 30.0) -> None:
        self.factory = factory
        self.workers = workers
        self.wait_seconds = wait_seconds
        self._local = threading.local()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="regate-resolver")
        self._built = 0
        self._lock = threading.Lock()

    @property
    def resolvers_built(self) -> int:
        return self._built

    def resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        future = self._executor.submit(self._run, event)
        try:
            return future.result(timeout=self.wait_seconds)
        except FutureTimeout:
            future.cancel()
            raise ServerBusy from None

    def _run(self, event: dict[str, Any]) -> dict[str, Any]:
        resolver = getattr(self._local, "resolver", None)
        if resolver is None:
            resolver = self._local.resolver = self.factory()
            with self._lock:
                self._built += 1
        return resolver.resolve(event, _LocalContext())

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


class SerialResolver:
    """A plain ``resolve(event)`` (one Lambda container) called one event at a time."""

    def __init__(self, resolve: Resolve) -> None:
        self._resolve = resolve
        self._lock = threading.Lock()

    def resolve(self, event: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return self._resolve(event)

    def shutdown(self) -> None:
        return None


def http_api_event(
    method: str, target: str, headers: dict[str, str], source_ip: str = "127.0.0.1"
) -> dict[str, Any]:
    """An API Gateway v2 event for ``method target`` (``target`` = path + query string)."""
    parts = urlsplit(target)
    lowered: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        lowered[key] = f"{lowered[key]},{value}" if key in lowered else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path or "/",
        "rawQueryString": parts.query,
        "headers": lowered,
        "requestContext": {
            "accountId": "local",
            "apiId": "regate-local",
            "domainName": lowered.get("host", "localhost"),
            "domainPrefix": "regate-local",
            "http": {
                "method": method.upper(),
                "path": parts.path or "/",
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": lowered.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = query
    return event


class _Handler(BaseHTTPRequestHandler):
    server_version = "regate-api"
    protocol_version = "HTTP/1.1"
    timeout = None  # the server sets the socket timeout itself (get_request)
    server: ApiHTTPServer

    # ----------------------------------------------------------------------------- reading
    def handle_one_request(self) -> None:
        """Wait (at most the keep-alive time) for the next request to start, then read it under the
        read/write timeout."""
        limits = self.server.limits
        self.connection.settimeout(limits.keepalive_seconds)
        try:
            started = self.rfile.peek(1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not started:
            self.close_connection = True
            return
        self.connection.settimeout(limits.timeout_seconds)
        try:
            super().handle_one_request()
        except TimeoutError:
            self.close_connection = True

    def parse_request(self) -> bool:
        if not _REQUEST_LINE.match(self.raw_requestline or b""):
            self.command = None
            self.request_version = "HTTP/1.1"
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            if self.raw_requestline.strip():
                self.send_error(400, "ligne de requête invalide (« MÉTHODE /chemin HTTP/1.1 » attendu)")
            else:  # RFC 9112 §2.2: ignore empty lines before a request line (a few, not forever)
                self._blank_lines = getattr(self, "_blank_lines", 0) + 1
                self.close_connection = self._blank_lines > 8
            return False
        if not super().parse_request():
            return False
        problem = self._check()
        if problem is not None:
            self.send_error(*problem)
            return False
        return True

    def _check(self) -> tuple[int, str] | None:
        """What the stdlib parser lets through but API Gateway would refuse (or a proxy could abuse)."""
        if not self.path.startswith("/"):
            return 400, "cible de requête invalide (un chemin commençant par « / » est attendu)"
        if self.headers.defects:
            return 400, "bloc d'en-têtes invalide (ligne sans « : » ou en-tête replié)"
        for name, value in self.headers.items():
            if not _TOKEN.match(name) or _BAD_VALUE.search(value):
                return 400, f"en-tête invalide : {name[:40]!r}"
        hosts = self.headers.get_all("Host") or []
        if self.request_version == "HTTP/1.1" and len(hosts) != 1:
            return 400, "un et un seul en-tête Host est attendu (HTTP/1.1)"
        if self.headers.get("Transfer-Encoding") is not None:
            return 411, "Transfer-Encoding non pris en charge ; envoyez Content-Length"
        lengths = {v.strip() for v in self.headers.get_all("Content-Length") or []}
        if lengths:
            if len(lengths) != 1 or not next(iter(lengths)).isdigit():
                return 400, "Content-Length invalide"
            if int(next(iter(lengths))) > self.server.limits.max_body_bytes:
                return 413, f"corps de plus de {self.server.limits.max_body_bytes} octets"
        return None

    # ---------------------------------------------------------------------------- answering
    def _dispatch(self) -> None:
        event = http_api_event(self.command, self.path, dict(self.headers.items()), self.client_address[0])
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            event["body"] = self.rfile.read(length).decode("utf-8", "replace")
        try:
            result = self.server.resolver.resolve(event)
        except ServerBusy:
            self.send_error(503, "aucun worker libre")
            return
        except Exception:
            logger.exception("Resolution failed")
            self.send_error(500, "erreur interne")
            return
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        status = int(result.get("statusCode", 200))
        headers = result.get("headers") or {}
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, str(value))
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                self.send_header(name, str(value))
        for cookie in result.get("cookies") or []:
            self.send_header("Set-Cookie", cookie)
        head = self.command == "HEAD"
        if status != 304 and status >= 200 and status != 204:
            declared = next((v for k, v in headers.items() if k.lower() == "content-length"), None)
            self.send_header("Content-Length", str(declared if head and declared else len(payload)))
        self._finish(b"" if head or status in {204, 304} else payload)

    def _finish(self, payload: bytes) -> None:
        """End the header block and send it with the body: one write when small (see the docstring)."""
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if payload and len(payload) <= _COALESCE_BYTES:
            self._headers_buffer.append(payload)
            payload = b""
        self.flush_headers()
        if payload:
            self.wfile.write(payload)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The API's JSON error (``{"erreur": {"code", "message"}}``), then close the connection."""
        self.close_connection = True
        text = _MESSAGES.get(code, HTTPStatus(code).phrase)
        if message:
            text = f"{text} : {message[:200]}"
        body = json.dumps({"erreur": {"code": code, "message": text}}, ensure_ascii=False).encode()
        if getattr(self, "request_version", None) in {None, "", "HTTP/0.9"}:
            self.request_version = "HTTP/1.1"  # HTTP/0.9 is never served: errors always have a status line
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        if code == 503:
            self.send_header("Retry-After", "1")
        self._finish(b"" if self.command == "HEAD" else body)

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch
    do_PATCH = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class ApiHTTPServer(socketserver.TCPServer):
    """Thread per connection (bounded), resolution in a bounded pool of resolvers (see the docstring)."""

    allow_reuse_address = True
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[str, int],
        resolver: ResolverPool | SerialResolver,
        limits: ServeLimits,
        verbose: bool = False,
    ) -> None:
        self.resolver = resolver
        self.limits = limits
        self.verbose = verbose
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        if self.limits.tcp_nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(self.limits.timeout_seconds)
        return sock, address

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse(request)
            return
        thread = threading.Thread(
            target=self._serve_connection, args=(request, client_address), daemon=True, name="regate-conn"
        )
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            self._slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """Too many open connections: a short 503 from the accepting thread, then close."""
        body = json.dumps({"erreur": {"code": 503, "message": _MESSAGES[503]}}, ensure_ascii=False).encode()
        head = (
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            request.settimeout(1.0)
            request.sendall(head + body)
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that vanished mid-answer is routine, not a traceback on the console."""
        logger.debug("Connection error from %s", client_address, exc_info=True)

    def server_close(self) -> None:
        super().server_close()
        self.resolver.shutdown()


class _LocalContext:
    """The bits of a Lambda context powertools may read."""

    function_name = "regate-api-local"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:regate-api-local"
    aws_request_id = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def make_server(
    host: str,
    port: int,
    resolve: Resolve | None = None,
    verbose: bool = False,
    *,
    factory: Callable[[], Any] | None = None,
    limits: ServeLimits | None = None,
) -> ApiHTTPServer:
    """An HTTP server on ``host:port`` (``port=0``: a free port, for tests).

    ``factory`` builds one resolver per worker (parallel resolution); a plain ``resolve`` callable is
    called one event at a time. Exactly one of them."""
    if (resolve is None) == (factory is None):
        raise ValueError("make_server needs exactly one of resolve= or factory=")
    limits = limits or ServeLimits()
    resolver: ResolverPool | SerialResolver = (
        ResolverPool(factory, limits.workers, limits.timeout_seconds)
        if factory is not None
        else SerialResolver(resolve)  # type: ignore[arg-type]
    )
    return ApiHTTPServer((host, port), resolver, limits, verbose=verbose)


def serve_api(
    settings: Any, host: str, port: int, directory: Any = None, verbose: bool = True
) -> ApiHTTPServer:
    """Build services once and a server with one resolver per worker over them (``serve_forever``)."""
    from regate.api.app import build_services, create_app

    services = build_services(settings, directory=directory)
    return make_server(
        host,
        port,
        factory=lambda: create_app(services),
        limits=ServeLimits.from_settings(settings),
        verbose=verbose,
    )


def serve_until_interrupted(server: socketserver.BaseServer) -> None:
    """Serve until Ctrl-C, then release the socket (``regate serve`` and ``regate demo``)."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
