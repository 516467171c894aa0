"""Serve the API resolver over plain HTTP (``regate serve``), exactly as API Gateway would call it.

Each HTTP request becomes an API Gateway HTTP API (payload 2.0) event; the Lambda-style response is
written back. ``ThreadingHTTPServer`` accepts concurrent connections (slow clients, keep-alive, large
downloads do not block others), but events are resolved one at a time: powertools stores the current
event on the ``BaseRouter`` *class* (process-global), so two resolutions running at once can read each
other's query string — even on separate resolver instances. That is also Lambda's model (one event per
container at a time); scale out with more processes, not threads.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Resolve = Callable[[dict[str, Any]], dict[str, Any]]

#: Serialises event resolution in this process (see the module docstring).
RESOLVE_LOCK = threading.Lock()


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
    resolve: Resolve  # set on the subclass built by make_server

    def _dispatch(self) -> None:
        event = http_api_event(self.command, self.path, dict(self.headers.items()), self.client_address[0])
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            event["body"] = self.rfile.read(length).decode("utf-8", "replace")
        with RESOLVE_LOCK:
            result = type(self).resolve(event)
        body = result.get("body") or ""
        payload = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
        status = int(result.get("statusCode", 200))
        self.send_response(status)
        for name, value in (result.get("headers") or {}).items():
            self.send_header(name, str(value))
        for name, values in (result.get("multiValueHeaders") or {}).items():
            for value in values:
                self.send_header(name, str(value))
        for cookie in result.get("cookies") or []:
            self.send_header("Set-Cookie", cookie)
        if status != 304 and self.command != "HEAD":
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if status != 304 and self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = _dispatch
    do_HEAD = _dispatch
    do_OPTIONS = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


def thread_local_resolver(factory: Callable[[], Any]) -> Resolve:
    """``resolve(event)`` using one resolver per thread (built by ``factory``); callers still hold
    :data:`RESOLVE_LOCK` while resolving (powertools keeps the current event on the class)."""
    local = threading.local()

    def resolve(event: dict[str, Any]) -> dict[str, Any]:
        app = getattr(local, "app", None)
        if app is None:
            app = local.app = factory()
        return app.resolve(event, _LocalContext())

    return resolve


class _LocalContext:
    """The bits of a Lambda context powertools may read."""

    function_name = "regate-api-local"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:regate-api-local"
    aws_request_id = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def make_server(host: str, port: int, resolve: Resolve, verbose: bool = False) -> ThreadingHTTPServer:
    """A threaded HTTP server calling ``resolve``; ``port=0`` picks a free port (tests)."""
    handler = type("RegateApiHandler", (_Handler,), {"resolve": staticmethod(resolve)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.verbose = verbose  # type: ignore[attr-defined]
    return server


def serve_api(
    settings: Any, host: str, port: int, directory: Any = None, verbose: bool = True
) -> ThreadingHTTPServer:
    """Build services once and a server over them (call ``serve_forever`` on the result)."""
    from regate.api.app import build_services, create_app

    services = build_services(settings, directory=directory)
    return make_server(host, port, thread_local_resolver(lambda: create_app(services)), verbose=verbose)


def serve_until_interrupted(server: ThreadingHTTPServer) -> None:
    """Serve until Ctrl-C, then release the socket (``regate serve`` and ``regate demo``)."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
