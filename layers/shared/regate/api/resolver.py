"""A powertools HTTP API resolver whose request state belongs to the instance, plus HEAD.

Why (read in ``aws_lambda_powertools/event_handler/api_gateway.py``, 3.x): ``ApiGatewayResolver.resolve``
does ``BaseRouter.current_event = self._to_proxy_event(event)`` and ``BaseRouter.lambda_context = context``
— assignments on the *class* ``BaseRouter``, not on ``self``. Every later ``self.current_event`` (route
matching in ``_resolve``, CORS and headers in ``_build_response``, our handlers reading the query string)
finds no instance attribute and reads that class attribute, shared by every resolver of the process. Two
threads resolving at once — even on two separate resolver instances — therefore read whichever event was
assigned last: query strings and paths swap between concurrent requests. That is harmless in Lambda
(one event per container at a time) and was the cross-talk seen under ``regate serve``.

:class:`RequestScopedResolver` never touches the class attributes: ``resolve`` keeps the event and
context on the instance, and ``current_event`` / ``lambda_context`` are instance-backed properties, which
take precedence over ``BaseRouter``'s class attribute in the attribute lookup. The rest of the per-request
state powertools keeps is already per instance: ``self.context`` (route, path, route arguments; cleared
after each request), ``processed_stack_frames``, the ``Route`` objects and their lazily built middleware
stacks (created by ``create_app``). So a resolver serves one request at a time — enforced: a second
concurrent ``resolve`` on the same instance raises :class:`ResolverBusy` — and distinct instances share
nothing mutable. ``regate serve`` gives each worker thread its own instance
(:mod:`regate_local.serve.server`, the local kit).

HEAD: every GET route is also registered for HEAD; the answer is the GET answer (same status and headers,
with the ``Content-Length`` the body would have) without the body.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from typing import Any, cast

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent


class ResolverBusy(RuntimeError):
    """One resolver was asked to resolve two events at once (give each thread its own resolver)."""


class RequestScopedResolver(APIGatewayHttpResolver):
    """``APIGatewayHttpResolver`` with instance-scoped request state (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._event: APIGatewayProxyEventV2 | None = None
        self._lambda_context: Any = None
        self._in_use = threading.Lock()

    # These shadow BaseRouter's class attributes of the same name (a data descriptor on the subclass
    # wins over a class attribute found later in the MRO). mypy sees a read-only property replacing a
    # writable attribute: that is the point (resolve() below never assigns them), hence the ignores.
    @property
    def current_event(self) -> APIGatewayProxyEventV2:  # type: ignore[override]
        if self._event is None:
            raise RuntimeError("current_event read outside of resolve()")
        return self._event

    @property
    def lambda_context(self) -> Any:  # type: ignore[override]
        return self._lambda_context

    def get_and_head(self, rule: str) -> Any:
        """Decorator registering a handler for GET and HEAD on ``rule``."""
        return self.route(rule, method=["GET", "HEAD"])

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        """Same chain as ``ApiGatewayResolver.resolve`` (route → handlers → response), request state on
        ``self`` only; HEAD answers carry no body."""
        if not self._in_use.acquire(blocking=False):
            raise ResolverBusy("this resolver is already resolving another event")
        try:
            raw = event.raw_event if isinstance(event, BaseProxyEvent) else event
            # the HTTP API resolver builds APIGatewayProxyEventV2 (its _PROXY_EVENT_MAP entry)
            self._event = cast(APIGatewayProxyEventV2, self._to_proxy_event(cast(dict, raw)))
            self._lambda_context = context
            head = self._event.http_method.upper() == "HEAD"
            try:
                response = self._build_response(self._resolve())
            finally:
                self.clear_context()
                self._event = None
                self._lambda_context = None
            return without_body(response) if head else response
        finally:
            self._in_use.release()


def without_body(response: dict[str, Any]) -> dict[str, Any]:
    """The HEAD form of a Lambda proxy response: same headers, ``Content-Length`` of the GET body, no body."""
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        length = len(base64.b64decode(body))
    else:
        length = len(body.encode("utf-8")) if isinstance(body, str) else len(body)
    headers = dict(response.get("headers") or {})
    if int(response.get("statusCode", 200)) != 304:
        headers["Content-Length"] = str(length)
    return {**response, "headers": headers, "body": "", "isBase64Encoded": False}
