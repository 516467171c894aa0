"""The one HTTP retry policy used by every client of outside services (Pastell, udata, Sirene), with
wall-clock deadlines and byte caps for answers (:mod:`regate.http.limits`)."""

from regate.http.errors import HttpError
from regate.http.limits import BodyTooLarge, Deadline, DeadlineExceeded, RetryAfterTooLong
from regate.http.retry import RetryingSession, RetryPolicy

__all__ = [
    "BodyTooLarge",
    "Deadline",
    "DeadlineExceeded",
    "HttpError",
    "RetryAfterTooLong",
    "RetryPolicy",
    "RetryingSession",
]
