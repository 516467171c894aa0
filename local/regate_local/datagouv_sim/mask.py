"""flask-restx field masks (``X-Fields: {id,title,resources{id,title}}``), which udata honours on reads."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"\s*([{},*]|[^{},\s*]+)")

Mask = dict[str, "Mask | None"]


class MaskError(ValueError):
    """The header is not a valid mask (udata answers 400)."""


def parse_mask(text: str) -> Mask:
    """``{a,b{c}}`` or ``a,b{c}`` → ``{"a": None, "b": {"c": None}}``."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if not tokens:
        raise MaskError("Empty mask")
    if tokens[0] == "{":
        if tokens[-1] != "}":
            raise MaskError("Unbalanced braces")
        tokens = tokens[1:-1]
    mask, position = _parse_level(tokens, 0)
    if position != len(tokens):
        raise MaskError("Unexpected closing brace")
    if not mask:
        raise MaskError("Empty mask")
    return mask


def _parse_level(tokens: list[str], position: int) -> tuple[Mask, int]:
    mask: Mask = {}
    previous: str | None = None
    while position < len(tokens):
        token = tokens[position]
        if token == "}":
            return mask, position
        if token == "{":
            if previous is None:
                raise MaskError("Nested mask without a field name")
            sub, position = _parse_level(tokens, position + 1)
            if position >= len(tokens) or tokens[position] != "}":
                raise MaskError("Unbalanced braces")
            mask[previous] = sub
            previous = None
        elif token != ",":
            mask[token] = None
            previous = token
        position += 1
    return mask, position


def apply_mask(value: Any, mask: Mask | None) -> Any:
    """Keep only the masked keys (lists are masked item by item; ``*`` keeps every key of a level)."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply_mask(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    if "*" in mask:
        return {k: apply_mask(v, mask.get(k)) for k, v in value.items()}
    return {k: apply_mask(value[k], sub) for k, sub in mask.items() if k in value}
