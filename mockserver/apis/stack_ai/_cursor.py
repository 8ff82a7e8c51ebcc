"""Opaque page cursors: base64url of a small JSON document and an HMAC, so a tampered cursor is a 422."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from ._access import invalid, value_error
from ._rand import b64url, b64url_decode

_MAC_BYTES = 12
LOCATION = ("query", "cursor")


def encode_cursor(secret: bytes, payload: dict[str, Any]) -> str:
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    mac = hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return b64url(body + mac)


def decode_cursor(secret: bytes, cursor: str, *, kind: str, scope: list[Any]) -> Any:
    """The position stored in `cursor`; 422 if it was altered or belongs to another listing."""
    try:
        raw = b64url_decode(cursor)
    except ValueError:
        raw = b""
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    expected = hmac.new(secret, body, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise invalid(
            [value_error(LOCATION, "invalid cursor: it was not issued by this server or was altered", cursor)]
        )
    payload = json.loads(body)
    if payload.get("k") != kind or payload.get("s") != scope:
        raise invalid([value_error(LOCATION, "this cursor belongs to another listing", cursor)])
    return payload["p"]
