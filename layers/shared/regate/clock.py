"""Time as a dependency: code that waits or stamps takes a :class:`Clock`, tests pass a fake."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock (UTC-aware datetimes)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; ``sleep`` advances it and records the wait."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        from datetime import timedelta

        self.sleeps.append(seconds)
        self.current += timedelta(seconds=max(seconds, 0))


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a trailing ``Z`` (stable in files and reports)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
