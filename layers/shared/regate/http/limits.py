"""Wall-clock deadlines and byte caps for outside HTTP answers.

A socket timeout bounds each ``recv``, not a call: a server that drips one byte every few seconds, or sends
an endless body, would hold a run forever and fill its memory. So every call of a harvester gets a
:class:`Deadline` (its own wall clock, never later than the run's) and its body is read by
:func:`iter_body`, which returns after each network read (``read1``), checks the deadline and counts bytes
against a cap. Deadlines use ``time.monotonic`` (real time), whatever clock the caller stamps reports with.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import requests

from regate.http.errors import HttpError

_CHUNK = 64 * 1024


class Deadline:
    """A point in (monotonic) time; ``None`` seconds = no deadline."""

    def __init__(self, seconds: float | None, now: Callable[[], float] = time.monotonic) -> None:
        self._now = now
        self.at: float | None = None if seconds is None else now() + max(seconds, 0.0)

    @classmethod
    def never(cls) -> Deadline:
        return cls(None)

    def remaining(self) -> float | None:
        """Seconds left (≥ 0), or None when unbounded."""
        if self.at is None:
            return None
        return max(self.at - self._now(), 0.0)

    def expired(self) -> bool:
        return self.at is not None and self._now() >= self.at

    def within(self, seconds: float | None) -> Deadline:
        """The sooner of this deadline and ``seconds`` from now (a call inside a run)."""
        other = Deadline(seconds, self._now)
        if other.at is None or (self.at is not None and self.at <= other.at):
            other.at = self.at
        return other

    def __repr__(self) -> str:
        left = self.remaining()
        return "Deadline(never)" if left is None else f"Deadline({left:.1f}s left)"


class DeadlineExceeded(HttpError):
    """The call (or the run it belongs to) ran out of wall-clock time."""


class BodyTooLarge(HttpError):
    """The answer is larger than the caller accepts (``limit`` bytes)."""

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class RetryAfterTooLong(HttpError):
    """The server asked to wait longer than the budget allows: fail now rather than sleep."""

    def __init__(self, message: str, retry_after: float, status: int = 429) -> None:
        super().__init__(message, status)
        self.retry_after = retry_after


def iter_body(
    response: requests.Response, deadline: Deadline, limit: int, what: str = "answer"
) -> Iterator[bytes]:
    """The decoded body in pieces, never more than ``limit`` bytes, never past ``deadline``.

    A streamed ``requests`` response is read with ``raw.read1`` (returns after one network read, so a
    slow drip cannot hold a call past its deadline by more than one socket timeout); an answer already in
    memory (tests' fakes) is sliced.
    """
    raw = response.raw
    total = 0
    if getattr(response, "_content", False) is not False or not hasattr(raw, "read1"):
        pieces: Iterator[bytes] = iter([response.content or b""])
    else:
        pieces = _network_pieces(raw, deadline, what)
    for piece in pieces:
        total += len(piece)
        if total > limit:
            raise BodyTooLarge(f"{what} larger than {limit} bytes", limit)
        if deadline.expired():
            raise DeadlineExceeded(f"{what}: deadline reached after {total} bytes")
        yield piece


def _network_pieces(raw: object, deadline: Deadline, what: str) -> Iterator[bytes]:
    while True:
        if deadline.expired():
            raise DeadlineExceeded(f"{what}: deadline reached while reading the body")
        try:
            try:
                piece = raw.read1(_CHUNK, decode_content=True)  # type: ignore[attr-defined]
            except TypeError:  # a file-like raw without decode_content
                piece = raw.read1(_CHUNK)  # type: ignore[attr-defined]
        except Exception as exc:  # urllib3 protocol/timeout/decode errors, socket errors: the call failed
            raise HttpError(f"{what}: read interrupted ({type(exc).__name__}: {exc})") from exc
        if not piece:
            return
        yield piece


def read_body(response: requests.Response, deadline: Deadline, limit: int, what: str = "answer") -> bytes:
    """The whole (capped, deadline-bound) body in memory — for JSON answers and error bodies."""
    return b"".join(iter_body(response, deadline, limit, what))
