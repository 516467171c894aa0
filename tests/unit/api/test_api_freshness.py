"""Health never turns an unreadable run report into a server error."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from regate.api.app import _freshness


class ForbiddenStore:
    """A bucket the API may read but not list: S3 answers 403 for a key that does not exist yet."""

    def get_json(self, key: str, default: Any = None) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")


class ReportStore:
    def __init__(self, report: Any) -> None:
        self.report = report

    def get_json(self, key: str, default: Any = None) -> Any:
        return self.report


def test_forbidden_report_is_unknown_not_an_error() -> None:
    assert _freshness(ForbiddenStore(), "capture") == (None, False)  # type: ignore[arg-type]


def test_report_freshness() -> None:
    assert _freshness(ReportStore({"finished_at": "2026-01-01T00:00:00Z"}), "publish") == (  # type: ignore[arg-type]
        "2026-01-01T00:00:00Z",
        True,
    )
    assert _freshness(ReportStore(None), "publish") == (None, True)  # type: ignore[arg-type]
    assert _freshness(ReportStore(["not", "a", "report"]), "publish") == (None, False)  # type: ignore[arg-type]
