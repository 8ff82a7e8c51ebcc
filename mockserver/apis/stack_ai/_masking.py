"""Secrets in `connection_provider_data` are stored in full and masked in every response."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

MASK = "****"
_SECRET_KEY = re.compile(r"(?:^|_)(?:token|secret|password|passphrase|key)$", re.IGNORECASE)
_SHOWN_PREFIX = 5
_SHOWN_SUFFIX = 4
_MIN_PARTIAL = 16
_PLAIN = (str, int, float, type(None))


@lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def mask_value(value: Any) -> Any:
    """`ya29.a0Af…Xk3d` → `ya29.****Xk3d`: enough to recognise a token and see that it rotated."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and len(value) >= _MIN_PARTIAL:
        return value[:_SHOWN_PREFIX] + MASK + value[-_SHOWN_SUFFIX:]
    return MASK


def masked(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `data` with every secret (at any depth) masked."""
    result: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, _PLAIN):  # most values: no ABC check for them
            result[key] = mask_value(value) if is_secret_key(key) else value
        elif isinstance(value, Mapping):
            result[key] = masked(value)
        elif isinstance(value, list):
            result[key] = [masked(item) if isinstance(item, Mapping) else item for item in value]
        elif is_secret_key(key):
            result[key] = mask_value(value)
        else:
            result[key] = value
    return result


def merge_secrets(incoming: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    """`incoming`, except that a secret sent back exactly as the mock masked it keeps its stored value.

    Lets a client GET a connection, edit it and PUT it back without destroying its credentials.
    """
    result: dict[str, Any] = {}
    for key, value in incoming.items():
        previous = stored.get(key)
        if isinstance(value, Mapping) and isinstance(previous, Mapping):
            result[key] = merge_secrets(value, previous)
        elif (
            is_secret_key(key)
            and isinstance(value, str)
            and MASK in value
            and previous is not None
            and mask_value(previous) == value
        ):
            result[key] = previous
        else:
            result[key] = value
    return result


def masked_input(location: tuple[str | int, ...], value: Any) -> Any:
    """The `input` of a 422 item without the secrets the client sent (FastAPI would echo them)."""
    if isinstance(value, Mapping):
        return masked(value)
    if isinstance(value, list):
        return [masked(item) if isinstance(item, Mapping) else item for item in value]
    if location and isinstance(location[-1], str) and is_secret_key(location[-1]):
        return mask_value(value)
    return value
