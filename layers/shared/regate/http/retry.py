"""Retries with backoff for outside HTTP APIs.

Rules (the same for every client):

* 429 waits ``Retry-After`` (seconds or HTTP date; Pastell spells it ``Retry-after``) or, failing that,
  ``X-RateLimit-Reset`` (epoch seconds or a delay), capped by ``max_retry_after``;
* the statuses in ``retry_statuses`` (5xx by default) and connection errors / timeouts back off
  exponentially with full jitter;
* anything else (400, 401, 403, 404, 410 …) is returned at once: retrying a 401 would burn Pastell's
  5-attempts-per-minute login budget;
* with a :class:`~regate.http.limits.Deadline` (``request(..., deadline=…)``) nothing waits past it: the
  socket timeout shrinks to the time left, and a ``Retry-After`` (or a backoff) that would end after the
  deadline raises :class:`~regate.http.limits.RetryAfterTooLong` at once instead of sleeping. With
  ``fail_on_long_retry_after`` a ``Retry-After`` above ``max_retry_after`` fails the same way (harvests)
  instead of being shortened to the cap (publication, whose calls are few).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import requests

from regate.clock import Clock, SystemClock
from regate.http.errors import HttpError
from regate.settings import Settings

if TYPE_CHECKING:
    from regate.http.limits import Deadline


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    max_retry_after: float = 300.0
    timeout: float = 30.0
    fail_on_long_retry_after: bool = False
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({429, 500, 502, 503, 504}))

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RetryPolicy:
        values: dict[str, Any] = {
            "max_attempts": settings.http_max_attempts,
            "backoff_base": settings.http_backoff_base_seconds,
            "backoff_max": settings.http_backoff_max_seconds,
            "max_retry_after": settings.http_max_retry_after_seconds,
            "timeout": settings.http_timeout_seconds,
        }
        values.update(overrides)
        return cls(**values)

    def backoff(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        """Full-jitter exponential backoff for the ``attempt``-th retry (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return ceiling * rng()


def retry_after_seconds(response: requests.Response, now: datetime, cap: float) -> float | None:
    """How long the server asked us to wait, from ``Retry-After`` or ``X-RateLimit-Reset``."""
    value = response.headers.get("Retry-After")  # case-insensitive: matches Pastell's "Retry-after"
    if value:
        value = value.strip()
        if value.isdigit():
            return min(float(value), cap)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return min(max((when - now).total_seconds(), 0.0), cap)
    reset = response.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            number = float(reset.strip())
        except ValueError:
            return None
        # Large values are epoch timestamps, small ones are delays.
        delay = number - now.timestamp() if number > 10**9 else number
        return min(max(delay, 0.0), cap)
    return None


class RetryingSession:
    """A ``requests.Session`` wrapper applying :class:`RetryPolicy`; takes its clock as a dependency."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        clock: Clock | None = None,
        on_retry: Callable[[str, str, int | None, float], None] | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.clock = clock or SystemClock()
        self.on_retry = on_retry
        self.calls = 0  # HTTP requests actually sent (benchmarks and tests count them)

    def request(
        self, method: str, url: str, retry: bool = True, deadline: Deadline | None = None, **kwargs: Any
    ) -> requests.Response:
        """Send with retries; returns the final response (even a 4xx: the caller decides).

        ``deadline``: nothing is sent or awaited past it (see the module docstring).
        """
        from regate.http.limits import DeadlineExceeded, RetryAfterTooLong

        kwargs.setdefault("timeout", self.policy.timeout)
        attempts = self.policy.max_attempts if retry else 1
        last_exc: Exception | None = None
        delay: float | None
        for attempt in range(1, attempts + 1):
            left = deadline.remaining() if deadline is not None else None
            if left is not None:
                if left <= 0:
                    raise DeadlineExceeded(f"{method} {url}: deadline reached before sending")
                kwargs["timeout"] = min(_timeout_of(kwargs["timeout"]), left)
            try:
                self.calls += 1
                response = self.session.request(method, url, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_exc = exc
                if attempt == attempts:
                    break
                delay = self.policy.backoff(attempt)
                if _past(deadline, delay):
                    break
                self._notify(method, url, None, delay)
                self.clock.sleep(delay)
                _rewind(kwargs)
                continue
            if response.status_code not in self.policy.retry_statuses or attempt == attempts:
                return response
            delay = None
            if response.status_code == 429:
                asked = retry_after_seconds(response, self.clock.now(), float("inf"))
                if asked is not None:
                    too_long = self.policy.fail_on_long_retry_after and asked > self.policy.max_retry_after
                    if too_long or _past(deadline, asked):
                        response.close()
                        budget = deadline.remaining() if deadline is not None else None
                        raise RetryAfterTooLong(
                            f"{method} {url}: 429, the server asks to wait {asked:.0f} s "
                            f"(cap {self.policy.max_retry_after:.0f} s"
                            + (f", {budget:.0f} s left before the deadline" if budget is not None else "")
                            + ")",
                            asked,
                        )
                    delay = min(asked, self.policy.max_retry_after)
            if delay is None:
                delay = self.policy.backoff(attempt)
            if _past(deadline, delay):
                return response  # no time left to wait: the caller gets the last answer
            self._notify(method, url, response.status_code, delay)
            response.close()
            self.clock.sleep(delay)
            _rewind(kwargs)
        raise HttpError(f"{method} {url}: {type(last_exc).__name__}: {last_exc}", None) from last_exc

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def _notify(self, method: str, url: str, status: int | None, delay: float) -> None:
        if self.on_retry is not None:
            self.on_retry(method, url, status, delay)


def _past(deadline: Deadline | None, delay: float) -> bool:
    """Would waiting ``delay`` seconds end after the deadline?"""
    left = deadline.remaining() if deadline is not None else None
    return left is not None and delay >= left


def _timeout_of(value: Any) -> float:
    """The larger part of a ``requests`` timeout (a number or a (connect, read) pair)."""
    if isinstance(value, tuple):
        return max(float(v) for v in value if v is not None)
    return float(value)


def _rewind(kwargs: dict[str, Any]) -> None:
    """Rewind file-like bodies before a retry so uploads are resent whole."""
    for key in ("data", "files"):
        body = kwargs.get(key)
        if body is not None and hasattr(body, "seek"):
            body.seek(0)
        elif isinstance(body, dict):
            for value in body.values():
                target = value[1] if isinstance(value, tuple) and len(value) > 1 else value
                if hasattr(target, "seek"):
                    target.seek(0)
