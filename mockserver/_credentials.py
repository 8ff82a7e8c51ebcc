"""The mock's own credentials as request headers, by the short name of their owner (`alice`, `acme-production`)."""

from __future__ import annotations

from collections.abc import Iterable

from ._api import Credential


def owner(credential: Credential) -> str:
    """`alice <alice@acme.test> (admin, …)` → `alice`; `acme-production (…)` → `acme-production`."""
    return credential.label.split(" ")[0]


def headers_by_owner(credentials: Iterable[Credential]) -> dict[str, dict[str, str]]:
    """Each owner's first way to authenticate (a header rather than a cookie when both exist)."""
    found: dict[str, dict[str, str]] = {}
    for credential in credentials:
        if credential.how.lower().startswith("cookie") and owner(credential) in found:
            continue
        found.setdefault(owner(credential), credential.headers)
    return found
