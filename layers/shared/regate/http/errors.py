"""Errors of the outside-HTTP layer (shared by :mod:`retry` and :mod:`limits`)."""

from __future__ import annotations

import requests


class HttpError(Exception):
    """A request that failed for good (after retries, or a non-retryable status)."""

    def __init__(self, message: str, status: int | None = None, response: requests.Response | None = None):
        super().__init__(message)
        self.status = status
        self.response = response
