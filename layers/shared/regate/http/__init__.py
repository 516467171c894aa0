"""The one HTTP retry policy used by every client of outside services (Pastell, udata, Sirene)."""

from regate.http.retry import HttpError, RetryingSession, RetryPolicy

__all__ = ["HttpError", "RetryPolicy", "RetryingSession"]
