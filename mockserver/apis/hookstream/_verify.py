"""What ingest checks before it stores an event: IP lists, the signature, and the dedup key.

Each check is a plain function returning data; signatures are compared with `hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..._jsontext import encode_json
from ._store import Source, format_time

__all__ = [
    "DEFAULT_DEDUP_WINDOW",
    "FAILED",
    "SKIPPED",
    "TOLERANCE_SECONDS",
    "VERIFIED",
    "Verdict",
    "blocked_ip",
    "dedup_key",
    "standard_webhooks_secret",
    "verify",
]

TOLERANCE_SECONDS = 300
"""How far a signed timestamp (`webhook-timestamp`, Stripe's `t=`) may be from the mock's time."""

DEFAULT_DEDUP_WINDOW = 86400
"""The dedup window of a source that enables dedup without `dedup_window_seconds` (inferred)."""

VERIFIED, FAILED, SKIPPED = "verified", "failed", "skipped"
_ALGORITHMS = {"hmac_sha256": hashlib.sha256, "hmac_sha1": hashlib.sha1}


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str
    error: str | None = None


# ---------------------------------------------------------------- IP lists


@lru_cache(maxsize=512)
def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip(), strict=False)
    except ValueError:
        return None


def _listed(address: ipaddress.IPv4Address | ipaddress.IPv6Address, entries: Sequence[str]) -> bool:
    for entry in entries:
        network = _network(entry)
        if network is not None and network.version == address.version and address in network:
            return True
    return False


def blocked_ip(source: Source, source_ip: str) -> str | None:
    """Why the address may not post to the source (deny list first), or `None` when it may."""
    if not source.ip_allowlist and not source.ip_denylist:
        return None
    try:
        address = ipaddress.ip_address(source_ip)
    except ValueError:
        address = None
    if address is not None and source.ip_denylist and _listed(address, source.ip_denylist):
        return f"IP address {source_ip} is in this source's ip_denylist"
    if source.ip_allowlist and (address is None or not _listed(address, source.ip_allowlist)):
        return f"IP address {source_ip or '(unknown)'} is not in this source's ip_allowlist"
    return None


# ---------------------------------------------------------------- signatures


def standard_webhooks_secret(secret: str) -> bytes:
    """The key of a Standard Webhooks secret: `whsec_` removed, the rest base64-decoded (a secret that is
    not base64 is used as its UTF-8 bytes, inferred)."""
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return encoded.encode()


def _signed_at(timestamp: str, now: datetime, header: str) -> str | None:
    """Why a signed Unix timestamp is refused (not a number, stale, in the future), or `None`."""
    try:
        seconds = int(timestamp.strip())
    except ValueError:
        return f"{header} must be a Unix timestamp in seconds, got {timestamp[:40]!r}"
    drift = int(now.timestamp()) - seconds
    if drift > TOLERANCE_SECONDS:
        return (
            f"Stale timestamp: {header} {seconds} is {drift} seconds before the server time "
            f"{format_time(now)} (tolerance {TOLERANCE_SECONDS} seconds)"
        )
    if -drift > TOLERANCE_SECONDS:
        return (
            f"Timestamp in the future: {header} {seconds} is {-drift} seconds after the server time "
            f"{format_time(now)} (tolerance {TOLERANCE_SECONDS} seconds)"
        )
    return None


def _matches_digest(given: str, digest: bytes) -> bool:
    """Hex (either case) or base64 (Shopify's form), compared in constant time."""
    text = given.strip()
    hex_ok = hmac.compare_digest(text.lower().encode(), digest.hex().encode())
    base64_ok = hmac.compare_digest(text.encode(), base64.b64encode(digest))
    return hex_ok or base64_ok


def _verify_hmac(
    source: Source, secret: str, raw: bytes, headers: Mapping[str, str], now: datetime
) -> Verdict:
    header = source.verification_header
    if not header:
        return Verdict(FAILED, "verification_header is not set on this source")
    value = headers.get(header.lower())
    if value is None or not value.strip():
        return Verdict(FAILED, f"Missing signature header {header}")
    algorithm = _ALGORITHMS[source.verification_type or "hmac_sha256"]
    key = secret.encode()
    parts = dict(part.strip().partition("=")[::2] for part in value.split(",") if "=" in part)
    if "t" in parts and "v1" in parts:  # Stripe's `t=<unix>,v1=<hex>` over `<t>.<body>`
        stale = _signed_at(parts["t"], now, f"{header} t")
        if stale is not None:
            return Verdict(FAILED, stale)
        digest = hmac.new(key, parts["t"].encode() + b"." + raw, algorithm).digest()
        candidates = [p.strip()[3:] for p in value.split(",") if p.strip().startswith("v1=")]
        if any(_matches_digest(candidate, digest) for candidate in candidates):
            return Verdict(VERIFIED)
        return Verdict(FAILED, f"Invalid signature: no v1 signature in {header} matches the payload")
    given = value.strip()
    for prefix in ("sha256=", "sha1="):
        if given.lower().startswith(prefix):
            given = given[len(prefix) :]
            break
    if _matches_digest(given, hmac.new(key, raw, algorithm).digest()):
        return Verdict(VERIFIED)
    return Verdict(FAILED, f"Invalid signature: {header} does not match the HMAC of the payload")


def _verify_standard(secret: str, raw: bytes, headers: Mapping[str, str], now: datetime) -> Verdict:
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        if not headers.get(name, "").strip():
            return Verdict(FAILED, f"Missing signature header {name}")
    message_id, timestamp = headers["webhook-id"].strip(), headers["webhook-timestamp"].strip()
    stale = _signed_at(timestamp, now, "webhook-timestamp")
    if stale is not None:
        return Verdict(FAILED, stale)
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + raw
    expected = base64.b64encode(hmac.new(standard_webhooks_secret(secret), signed, hashlib.sha256).digest())
    candidates = [
        signature
        for version, _, signature in (item.partition(",") for item in headers["webhook-signature"].split())
        if version == "v1"
    ]
    if not candidates:
        return Verdict(FAILED, "Invalid signature: webhook-signature has no v1,<base64> signature")
    if any(hmac.compare_digest(candidate.encode(), expected) for candidate in candidates):
        return Verdict(VERIFIED)
    return Verdict(FAILED, "Invalid signature: no v1 signature in webhook-signature matches the payload")


def verify(source: Source, raw: bytes, headers: Mapping[str, str], *, now: datetime) -> Verdict:
    """The source's signature check of one request; `headers` have lowercase names."""
    if not source.verification_enabled:
        return Verdict(SKIPPED)
    secret = source.verification_secret
    if not secret:
        return Verdict(FAILED, "Verification is enabled but this source has no verification_secret")
    if source.verification_type == "standard_webhooks":
        return _verify_standard(secret, raw, headers, now)
    return _verify_hmac(source, secret, raw, headers, now)


# ---------------------------------------------------------------- dedup


_MISSING = object()


def _field_value(payload: Any, path: str) -> Any:
    value = payload
    for part in path.removeprefix("payload.").split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def dedup_key(source: Source, raw: bytes, headers: Mapping[str, str], payload: Any) -> str | None:
    """The `dedup_hash` of a request (SHA-256 hex), or `None` when the source's key is absent from it."""
    strategy = source.dedup_strategy or "payload_hash"
    if strategy == "payload_hash":
        return hashlib.sha256(raw).hexdigest()
    name = source.dedup_field or ""
    if not name:
        return None
    if strategy == "header_field":
        value = headers.get(name.lower())
        material = None if value is None else f"header:{name.lower()}:{value}".encode()
    else:
        found = _field_value(payload, name)
        material = None if found is _MISSING else b"body:" + name.encode() + b":" + encode_json(found)
    return None if material is None else hashlib.sha256(material).hexdigest()
