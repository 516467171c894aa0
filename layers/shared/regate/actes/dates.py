"""Defensive date parsing for acts: Pastell sends ISO dates, depot ZIPs and old connectors do not always.

Accepted: ``YYYY-MM-DD`` (and ``YYYY-M-D``, zero-padded on read), ``YYYYMMDD``, ``jj/mm/aaaa`` and an ISO
date followed by a time (``YYYY-MM-DD HH:MM:SS``). Anything else raises :class:`DateInvalide` so the act
goes to quarantine instead of being guessed.
"""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_FRENCH = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


class DateInvalide(ValueError):
    """A date that none of the accepted spellings matches (machine code ``date_invalide``)."""


def parse_date(value: object) -> date:
    """Read one act date; raise :class:`DateInvalide` rather than guess."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise DateInvalide(f"Date illisible : {value!r}")
    text = value.strip()
    for pattern, order in ((_ISO, "ymd"), (_COMPACT, "ymd"), (_FRENCH, "dmy")):
        match = pattern.match(text)
        if match:
            a, b, c = (int(g) for g in match.groups())
            year, month, day = (a, b, c) if order == "ymd" else (c, b, a)
            try:
                return date(year, month, day)
            except ValueError as exc:
                raise DateInvalide(f"Date impossible : {value!r}") from exc
    raise DateInvalide(f"Format de date non reconnu : {value!r}")


def parse_optional_date(value: object) -> date | None:
    """Empty or absent → ``None``; otherwise as :func:`parse_date`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_date(value)
