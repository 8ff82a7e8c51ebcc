"""Records as the API returns them: SQLite storage style, every field present, secrets masked."""

from __future__ import annotations

import json
from typing import Any

from ._filters import encode_rules
from ._secrets import mask_mapping, mask_secret
from ._store import Connection, Destination, Source, Store


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _flag(value: bool) -> int:
    return 1 if value else 0


def ingest_url(base_url: str, source_id: str) -> str:
    return f"{base_url.rstrip('/')}/ingest/{source_id}"


def source_body(source: Source, *, base_url: str) -> dict[str, Any]:
    return {
        "id": source.id,
        "org_id": source.org_id,
        "env_id": source.env_id,
        "name": source.name,
        "slug": source.slug,
        "description": source.description,
        "template": source.template,
        "type": source.type,
        "status": source.status,
        "source_config": _json(None if source.source_config is None else mask_mapping(source.source_config)),
        "verification_enabled": _flag(source.verification_enabled),
        "verification_type": source.verification_type,
        "verification_secret": (
            None if source.verification_secret is None else mask_secret(source.verification_secret)
        ),
        "verification_header": source.verification_header,
        "dedup_enabled": _flag(source.dedup_enabled),
        "dedup_strategy": source.dedup_strategy,
        "dedup_field": source.dedup_field,
        "dedup_window_seconds": source.dedup_window_seconds,
        "ip_allowlist": _json(source.ip_allowlist),
        "ip_denylist": _json(source.ip_denylist),
        "ingest_url": ingest_url(base_url, source.id),
        "event_count": source.event_count,
        "created_at": source.created_at,
        "updated_at": source.updated_at,
    }


def destination_body(destination: Destination) -> dict[str, Any]:
    return {
        "id": destination.id,
        "org_id": destination.org_id,
        "env_id": destination.env_id,
        "name": destination.name,
        "slug": destination.slug,
        "description": destination.description,
        "type": destination.type,
        "url": destination.url,
        "method": destination.method,
        "headers": _json(None if destination.headers is None else mask_mapping(destination.headers)),
        "timeout_ms": destination.timeout_ms,
        "auth_type": destination.auth_type,
        "auth_config": _json(
            None
            if destination.auth_config is None
            else mask_mapping(destination.auth_config, everything=True)
        ),
        "provider_config": _json(
            None if destination.provider_config is None else mask_mapping(destination.provider_config)
        ),
        "retry_enabled": _flag(destination.retry_enabled),
        "retry_max_attempts": destination.retry_max_attempts,
        "retry_backoff_type": destination.retry_backoff_type,
        "retry_intervals": _json(destination.retry_intervals),
        "circuit_breaker_enabled": _flag(destination.circuit_breaker_enabled),
        "circuit_breaker_threshold": destination.circuit_breaker_threshold,
        "circuit_breaker_reset_ms": destination.circuit_breaker_reset_ms,
        "status": destination.status,
        "created_at": destination.created_at,
        "updated_at": destination.updated_at,
        "signing_config": _json(
            None if destination.signing_config is None else mask_mapping(destination.signing_config)
        ),
    }


def connection_body(connection: Connection, store: Store) -> dict[str, Any]:
    """The connection with `source_name` / `destination_name` joined live from the store."""
    source = store.sources.get(connection.source_id)
    destination = store.destinations.get(connection.destination_id)
    return {
        "id": connection.id,
        "org_id": connection.org_id,
        "env_id": connection.env_id,
        "source_id": connection.source_id,
        "destination_id": connection.destination_id,
        "name": connection.name,
        "description": connection.description,
        "enabled": _flag(connection.enabled),
        "filter_rules": encode_rules(connection.filter_rules),
        "status": connection.status,
        "event_count": connection.event_count,
        "last_event_at": connection.last_event_at,
        "created_at": connection.created_at,
        "updated_at": connection.updated_at,
        "transform_enabled": _flag(connection.transform_enabled),
        "transform_expression": connection.transform_expression,
        "source_name": source.name if source is not None else None,
        "destination_name": destination.name if destination is not None else None,
    }
