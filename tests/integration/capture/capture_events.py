"""Load a sample event of ``tests/events/`` with the test bucket substituted for ``regate-raw``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load_event(name: str, bucket: str | None = None) -> Any:
    text = (EVENTS / name).read_text(encoding="utf-8")
    if bucket:
        text = text.replace("regate-raw", bucket)
    return json.loads(text)
