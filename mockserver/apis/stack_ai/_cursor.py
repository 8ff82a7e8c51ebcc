"""Opaque page cursors: base64url of a small JSON document and an HMAC.

Cursors are issued in the URL-safe alphabet, unpadded; the standard alphabet (`+`, `/`) and `=` padding are
read too, as the seed's own example is written. A cursor outside both alphabets is a 422 (the spec's pattern
says so); one in them that this server did not sign, or that belongs to another listing, is a 404: no schema
can tell it apart.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson

from ._access import not_found
from ._rand import b64url, b64url_decode

_MAC_BYTES = 12
_STANDARD_TO_URL_SAFE = str.maketrans("+/", "-_")


def encode_cursor(secret: bytes, payload: dict[str, Any]) -> str:
    # Compact and key-sorted; UTF-8 where `json.dumps` escaped (a search query): cursors stay opaque either way.
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    mac = hmac.digest(secret, body, "sha256")[:_MAC_BYTES]
    return b64url(body + mac)


def decode_cursor(secret: bytes, cursor: str, *, kind: str, scope: list[Any]) -> Any:
    """The position stored in `cursor`; 404 if it was altered or belongs to another listing."""
    try:
        raw = b64url_decode(cursor.translate(_STANDARD_TO_URL_SAFE).rstrip("="))
    except ValueError:
        raw = b""
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    expected = hmac.digest(secret, body, "sha256")[:_MAC_BYTES]
    if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise not_found(
            "Cursor not found: this server never issued it, or it was altered; list again without a cursor"
        )
    payload = orjson.loads(body)
    if payload.get("k") != kind or payload.get("s") != scope:
        raise not_found("Cursor not found: it belongs to another listing; list again without a cursor")
    return payload["p"]
