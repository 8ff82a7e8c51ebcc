"""Masking of stored secrets: responses show at most a short prefix and the last four characters."""

from __future__ import annotations

import re
from typing import Any

MASK = "****"

_FULLY_SECRET = re.compile(r"secret|password|passwd|private", re.IGNORECASE)
_SENSITIVE = re.compile(
    r"secret|password|passwd|private|token|credential|api_?key|access_?key|auth|signature|cookie|sas",
    re.IGNORECASE,
)
_AUTH_PLAIN_KEYS = frozenset(
    {"username", "user", "header", "header_name", "in", "location", "prefix", "scheme"}
)


def _tail(value: str) -> str:
    return MASK + value[-4:] if len(value) >= 8 else MASK


def mask_secret(value: str) -> str:
    """`whsec_5f8a…7e4f` → `whsec_****7e4f`; a short secret is fully masked."""
    prefix, underscore, rest = value.partition("_")
    if underscore and 0 < len(prefix) <= 8 and len(rest) >= 8:
        return f"{prefix}_{MASK}{rest[-4:]}"
    return _tail(value)


def _mask_value(key: str, value: Any, *, everything: bool) -> Any:
    if isinstance(value, dict):
        return mask_mapping(value, everything=everything)
    if isinstance(value, list):
        return [_mask_value(key, item, everything=everything) for item in value]
    if not isinstance(value, str):
        return value
    if _FULLY_SECRET.search(key):
        return MASK
    if everything and key.lower() not in _AUTH_PLAIN_KEYS:
        return _tail(value)
    if _SENSITIVE.search(key):
        return _tail(value)
    return value


def mask_mapping(values: dict[str, Any], *, everything: bool = False) -> dict[str, Any]:
    """A copy with sensitive values masked; `everything` masks every string but a few plain keys."""
    return {key: _mask_value(key, value, everything=everything) for key, value in values.items()}
